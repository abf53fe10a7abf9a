// RUN: densessm-opt %s --densessm-narrow-projection-weights | FileCheck %s
// RUN: densessm-opt %s --densessm-narrow-projection-weights --linalg-generalize-named-ops | FileCheck %s --check-prefix=BODY
// RUN: densessm-opt %s "--densessm-narrow-projection-weights=element-type=f16" --linalg-generalize-named-ops | FileCheck %s --check-prefix=F16
// RUN: not densessm-opt %s "--densessm-narrow-projection-weights=element-type=f8" 2>&1 | FileCheck %s --check-prefix=BAD

// The weights that only feed projections (as w[o, i] of y[b, l, o] +=
// x[b, l, i] * w[o, i]) become bf16, in every function that takes them;
// the contraction reads them as they are (its body widens to f32). A
// weight with any other use stays f32 everywhere: here "embed" (also the
// embedding table, like a tied lm_head), "norm" (a scale), and "mixed",
// a projection in @prefill but an input of a plain addition in @step.

#x = affine_map<(b, l, o, i) -> (b, l, i)>
#w = affine_map<(b, l, o, i) -> (o, i)>
#y = affine_map<(b, l, o, i) -> (b, l, o)>

// element-type=f16: the same weights, in f16.
// F16-LABEL: func.func @prefill(
// F16-SAME:    tensor<16x32xf16> {densessm.weight = "proj"}
// F16-SAME:    tensor<64x32xf32> {densessm.weight = "embed"}
// F16:         ^bb0(%{{.*}}: f32, %[[W:.*]]: f16, %{{.*}}: f32):
// F16:           arith.extf %[[W]] : f16 to f32
// F16-LABEL: func.func @step(
// F16-SAME:    tensor<16x32xf16> {densessm.weight = "proj"}
// BAD: error: --densessm-narrow-projection-weights: unknown element-type 'f8' (expected bf16 or f16)

// The rebuilt projection widens each weight to f32 before it multiplies.
// BODY-LABEL: func.func @prefill(
// BODY:         ^bb0(%[[X:.*]]: f32, %[[W:.*]]: bf16, %[[Y:.*]]: f32):
// BODY:           %[[WIDE:.*]] = arith.extf %[[W]] : bf16 to f32
// BODY:           %[[PRODUCT:.*]] = arith.mulf %[[X]], %[[WIDE]] : f32
// BODY:           arith.addf %[[Y]], %[[PRODUCT]] : f32

// CHECK-LABEL: func.func @prefill(
// CHECK-SAME:    tensor<16x32xbf16> {densessm.weight = "proj"}
// CHECK-SAME:    tensor<64x32xf32> {densessm.weight = "embed"}
// CHECK-SAME:    tensor<32xf32> {densessm.weight = "norm"}
// CHECK-SAME:    tensor<16x32xf32> {densessm.weight = "mixed"}
// CHECK:         linalg.contract {{.*}} ins(%{{.*}}, %{{.*}} : tensor<1x4x32xf32>, tensor<16x32xbf16>)
// CHECK:         linalg.contract {{.*}} ins(%{{.*}}, %{{.*}} : tensor<1x4x32xf32>, tensor<64x32xf32>)
func.func @prefill(%x: tensor<1x4x32xf32>,
    %proj: tensor<16x32xf32> {densessm.weight = "proj"},
    %embed: tensor<64x32xf32> {densessm.weight = "embed"},
    %norm: tensor<32xf32> {densessm.weight = "norm"},
    %mixed: tensor<16x32xf32> {densessm.weight = "mixed"})
    -> (tensor<1x4x16xf32>, tensor<1x4x64xf32>, tensor<1x4x16xf32>, tensor<32xf32>) {
  %zero = arith.constant 0.0 : f32
  %e16 = tensor.empty() : tensor<1x4x16xf32>
  %z16 = linalg.fill ins(%zero : f32) outs(%e16 : tensor<1x4x16xf32>) -> tensor<1x4x16xf32>
  %e64 = tensor.empty() : tensor<1x4x64xf32>
  %z64 = linalg.fill ins(%zero : f32) outs(%e64 : tensor<1x4x64xf32>) -> tensor<1x4x64xf32>
  %p = linalg.contract indexing_maps = [#x, #w, #y]
    ins(%x, %proj : tensor<1x4x32xf32>, tensor<16x32xf32>) outs(%z16 : tensor<1x4x16xf32>) -> tensor<1x4x16xf32>
  %logits = linalg.contract indexing_maps = [#x, #w, #y]
    ins(%x, %embed : tensor<1x4x32xf32>, tensor<64x32xf32>) outs(%z64 : tensor<1x4x64xf32>) -> tensor<1x4x64xf32>
  %m = linalg.contract indexing_maps = [#x, #w, #y]
    ins(%x, %mixed : tensor<1x4x32xf32>, tensor<16x32xf32>) outs(%z16 : tensor<1x4x16xf32>) -> tensor<1x4x16xf32>
  %row = tensor.extract_slice %embed[0, 0] [1, 32] [1, 1] : tensor<64x32xf32> to tensor<32xf32>
  %scaled = arith.mulf %row, %norm : tensor<32xf32>
  return %p, %logits, %m, %scaled : tensor<1x4x16xf32>, tensor<1x4x64xf32>, tensor<1x4x16xf32>, tensor<32xf32>
}

// CHECK-LABEL: func.func @step(
// CHECK-SAME:    tensor<16x32xbf16> {densessm.weight = "proj"}
// CHECK-SAME:    tensor<16x32xf32> {densessm.weight = "mixed"}
func.func @step(%x: tensor<1x1x32xf32>,
    %proj: tensor<16x32xf32> {densessm.weight = "proj"},
    %mixed: tensor<16x32xf32> {densessm.weight = "mixed"})
    -> (tensor<1x1x16xf32>, tensor<16x32xf32>) {
  %zero = arith.constant 0.0 : f32
  %e16 = tensor.empty() : tensor<1x1x16xf32>
  %z16 = linalg.fill ins(%zero : f32) outs(%e16 : tensor<1x1x16xf32>) -> tensor<1x1x16xf32>
  %p = linalg.contract indexing_maps = [#x, #w, #y]
    ins(%x, %proj : tensor<1x1x32xf32>, tensor<16x32xf32>) outs(%z16 : tensor<1x1x16xf32>) -> tensor<1x1x16xf32>
  %twice = arith.addf %mixed, %mixed : tensor<16x32xf32>
  return %p, %twice : tensor<1x1x16xf32>, tensor<16x32xf32>
}
