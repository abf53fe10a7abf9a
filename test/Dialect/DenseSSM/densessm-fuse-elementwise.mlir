// RUN: densessm-opt %s --densessm-fuse-elementwise | FileCheck %s
// RUN: densessm-opt %s --linalg-fuse-elementwise-ops | FileCheck %s --check-prefix=UPSTREAM

// Elementwise chains fuse as upstream fuses them, but a projection is never
// part of a fusion: with static shapes upstream folds the split of y into
// heads into the projection, which becomes a 5-dimensional linalg.generic
// over the weight seen as [heads, head_dim, in] (no longer a projection:
// no GEMV kernel, no cuBLAS call).

#x = affine_map<(b, l, o, i) -> (b, l, i)>
#w = affine_map<(b, l, o, i) -> (o, i)>
#y = affine_map<(b, l, o, i) -> (b, l, o)>
#id4 = affine_map<(b, l, h, d) -> (b, l, h, d)>

// CHECK-LABEL: func.func @split_heads(
// CHECK:         %[[Y:.*]] = linalg.contract
// CHECK:         %[[HEADS:.*]] = tensor.expand_shape %[[Y]] {{\[}}[0], [1], [2, 3]]
// The two elementwise ops are one.
// CHECK:         linalg.generic
// CHECK-SAME:      ins(%[[HEADS]] :
// CHECK:           arith.negf
// CHECK:           arith.mulf
// CHECK-NOT:     linalg.generic
// CHECK:         return
// UPSTREAM-LABEL: func.func @split_heads(
// UPSTREAM-NOT:   linalg.contract
// UPSTREAM:       tensor.expand_shape %{{.*}} {{\[}}[0, 1], [2]] {{.*}} : tensor<16x64xbf16> into tensor<2x8x64xbf16>
// UPSTREAM:       linalg.generic {{.*}}"reduction"
func.func @split_heads(%x: tensor<1x1x64xf32>, %w: tensor<16x64xbf16>) -> tensor<1x1x2x8xf32> {
  %zero = arith.constant 0.0 : f32
  %empty = tensor.empty() : tensor<1x1x16xf32>
  %y0 = linalg.fill ins(%zero : f32) outs(%empty : tensor<1x1x16xf32>) -> tensor<1x1x16xf32>
  %y = linalg.contract indexing_maps = [#x, #w, #y]
         ins(%x, %w : tensor<1x1x64xf32>, tensor<16x64xbf16>) outs(%y0 : tensor<1x1x16xf32>) -> tensor<1x1x16xf32>
  %heads = tensor.expand_shape %y [[0], [1], [2, 3]] output_shape [1, 1, 2, 8] : tensor<1x1x16xf32> into tensor<1x1x2x8xf32>
  %e0 = tensor.empty() : tensor<1x1x2x8xf32>
  %negated = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%heads : tensor<1x1x2x8xf32>) outs(%e0 : tensor<1x1x2x8xf32>) {
  ^bb0(%v: f32, %o: f32):
    %n = arith.negf %v : f32
    linalg.yield %n : f32
  } -> tensor<1x1x2x8xf32>
  %e1 = tensor.empty() : tensor<1x1x2x8xf32>
  %squared = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%negated : tensor<1x1x2x8xf32>) outs(%e1 : tensor<1x1x2x8xf32>) {
  ^bb0(%v: f32, %o: f32):
    %m = arith.mulf %v, %v : f32
    linalg.yield %m : f32
  } -> tensor<1x1x2x8xf32>
  return %squared : tensor<1x1x2x8xf32>
}
