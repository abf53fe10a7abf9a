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

#row3 = affine_map<(b, l, i) -> (b, l, i)>
#group = affine_map<(b, l, h, d) -> (b, l, h)>
#gain = affine_map<(b, l, h, d) -> (d)>

// RetNet's group norm's scaling, its heads flattened (tensor.collapse_shape)
// for the gate that follows: the gate is expanded to the heads' axes and
// the two ops are one, which the output projection's GEMV then computes as
// its prologue. The expansion asks for the scaling's sizes (tensor.dim of
// its result); those are resolved to its operands' so the dim is no second
// use that would keep the scaling from fusing.
// CHECK-LABEL: func.func @group_norm_then_gate(
// CHECK-SAME:    %[[V:[^:]*]]: tensor<?x1x2x32xf32>, %[[S:[^:]*]]: tensor<?x1x2xf32>, %[[G:[^:]*]]: tensor<32xf32>, %[[Z:[^:]*]]: tensor<?x1x64xf32>)
// CHECK:         %[[ZH:.*]] = tensor.expand_shape %[[Z]] {{\[}}[0], [1], [2, 3]]
// CHECK:         %[[X:.*]] = linalg.generic
// CHECK-SAME:      ins(%[[V]], %[[S]], %[[G]], %[[ZH]] :
// CHECK:           math.rsqrt
// CHECK:           arith.mulf
// CHECK:           arith.mulf
// CHECK:           arith.mulf
// CHECK-NOT:     linalg.generic
// CHECK:         tensor.collapse_shape %[[X]] {{\[}}[0], [1], [2, 3]]
func.func @group_norm_then_gate(%v: tensor<?x1x2x32xf32>, %s: tensor<?x1x2xf32>, %g: tensor<32xf32>, %z: tensor<?x1x64xf32>) -> tensor<?x1x64xf32> {
  %c0 = arith.constant 0 : index
  %b = tensor.dim %v, %c0 : tensor<?x1x2x32xf32>
  %e = tensor.empty(%b) : tensor<?x1x2x32xf32>
  %n = linalg.generic {indexing_maps = [#id4, #group, #gain, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%v, %s, %g : tensor<?x1x2x32xf32>, tensor<?x1x2xf32>, tensor<32xf32>) outs(%e : tensor<?x1x2x32xf32>) {
  ^bb0(%a: f32, %sum: f32, %gain: f32, %o: f32):
    %r = math.rsqrt %sum : f32
    %m = arith.mulf %a, %r : f32
    %mg = arith.mulf %m, %gain : f32
    linalg.yield %mg : f32
  } -> tensor<?x1x2x32xf32>
  %flat = tensor.collapse_shape %n [[0], [1], [2, 3]] : tensor<?x1x2x32xf32> into tensor<?x1x64xf32>
  %e2 = tensor.empty(%b) : tensor<?x1x64xf32>
  %x = linalg.generic {indexing_maps = [#row3, #row3, #row3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%flat, %z : tensor<?x1x64xf32>, tensor<?x1x64xf32>) outs(%e2 : tensor<?x1x64xf32>) {
  ^bb0(%a: f32, %c: f32, %o: f32):
    %m = arith.mulf %a, %c : f32
    linalg.yield %m : f32
  } -> tensor<?x1x64xf32>
  return %x : tensor<?x1x64xf32>
}
