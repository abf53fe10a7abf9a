// --densessm-lower-to-scan: model-level scans become the kernel-level scan
// (Mamba's parts fused into it, retention's decay computed by a prologue).
// RUN: densessm-opt %s -densessm-lower-to-scan -split-input-file | FileCheck %s

// Mamba: C and B become one-group queries and keys, u the values (V = 1)
// and z the gate; Δ's bias and softplus, the D skip and the z gate are the
// scan's fused operands, so no prologue or epilogue is materialised.
// CHECK-LABEL: func.func @selective_scan
// CHECK-SAME: (%[[U:.*]]: tensor<2x8x32xf32>, %[[DT:.*]]: tensor<2x8x32xf32>, %[[A:.*]]: tensor<32x16xf32>, %[[B:.*]]: tensor<2x8x16xf32>, %[[C:.*]]: tensor<2x8x16xf32>, %[[D:.*]]: tensor<32xf32>, %[[Z:.*]]: tensor<2x8x32xf32>, %[[BIAS:.*]]: tensor<32xf32>, %[[S0:.*]]: tensor<2x32x16xf32>)
// CHECK-NOT: linalg.generic
// CHECK: %[[Q:.*]] = tensor.expand_shape %[[C]] {{\[}}[0], [1], [2, 3]] output_shape [2, 8, 1, 16]
// CHECK: %[[K:.*]] = tensor.expand_shape %[[B]] {{\[}}[0], [1], [2, 3]] output_shape [2, 8, 1, 16]
// CHECK: %[[V:.*]] = tensor.expand_shape %[[U]] {{\[}}[0], [1], [2, 3]] output_shape [2, 8, 32, 1]
// CHECK: %[[G:.*]] = tensor.expand_shape %[[Z]] {{\[}}[0], [1], [2, 3]] output_shape [2, 8, 32, 1]
// CHECK: %[[INIT:.*]] = tensor.expand_shape %[[S0]] {{\[}}[0], [1], [2, 3]] output_shape [2, 32, 16, 1]
// CHECK: %[[Y:.*]], %[[S:.*]] = densessm.scan %[[Q]], %[[K]], %[[V]], %[[DT]], %[[A]] dt_bias(%[[BIAS]]) skip(%[[D]]) gate(%[[G]]) initial_state(%[[INIT]]) {dt_scales_input, dt_softplus}
// CHECK: %[[Y3:.*]] = tensor.collapse_shape %[[Y]]
// CHECK: %[[S3:.*]] = tensor.collapse_shape %[[S]]
// CHECK-NOT: linalg.generic
// CHECK: return %[[Y3]], %[[S3]]
func.func @selective_scan(%u: tensor<2x8x32xf32>, %dt: tensor<2x8x32xf32>,
    %A: tensor<32x16xf32>, %B: tensor<2x8x16xf32>, %C: tensor<2x8x16xf32>,
    %D: tensor<32xf32>, %z: tensor<2x8x32xf32>, %bias: tensor<32xf32>,
    %s0: tensor<2x32x16xf32>) -> (tensor<2x8x32xf32>, tensor<2x32x16xf32>) {
  %y, %s = densessm.selective_scan %u, %dt, %A, %B, %C D(%D) z(%z)
             delta_bias(%bias) initial_state(%s0) {delta_softplus}
           : tensor<2x8x32xf32>, tensor<2x8x32xf32>, tensor<32x16xf32>,
             tensor<2x8x16xf32>, tensor<2x8x16xf32>, tensor<32xf32>,
             tensor<2x8x32xf32>, tensor<32xf32>, tensor<2x32x16xf32>
           -> tensor<2x8x32xf32>, tensor<2x32x16xf32>
  return %y, %s : tensor<2x8x32xf32>, tensor<2x32x16xf32>
}

// -----

// No softplus, no bias, no D, no z: Δ passes as it is (bf16), grouped B/C
// pass through, and only the bf16 A is widened to f32.
// CHECK-LABEL: func.func @selective_scan_minimal
// CHECK: %[[A32:.*]] = linalg.generic
// CHECK: arith.extf
// CHECK: %[[Y:.*]], %{{.*}} = densessm.scan %arg4, %arg3, %{{.*}}, %arg1, %[[A32]] {dt_scales_input} :
// CHECK-SAME: tensor<1x?x2x8xbf16>, tensor<1x?x2x8xbf16>, tensor<1x?x64x1xbf16>, tensor<1x?x64xbf16>, tensor<64x8xf32>
// CHECK: %[[YC:.*]] = tensor.collapse_shape %[[Y]]
// CHECK: return %[[YC]]
func.func @selective_scan_minimal(%u: tensor<1x?x64xbf16>, %dt: tensor<1x?x64xbf16>,
    %A: tensor<64x8xbf16>, %B: tensor<1x?x2x8xbf16>, %C: tensor<1x?x2x8xbf16>)
    -> (tensor<1x?x64xbf16>, tensor<1x64x8xf32>) {
  %y, %s = densessm.selective_scan %u, %dt, %A, %B, %C
           : tensor<1x?x64xbf16>, tensor<1x?x64xbf16>, tensor<64x8xbf16>,
             tensor<1x?x2x8xbf16>, tensor<1x?x2x8xbf16>
           -> tensor<1x?x64xbf16>, tensor<1x64x8xf32>
  return %y, %s : tensor<1x?x64xbf16>, tensor<1x64x8xf32>
}

// -----

// Retention (authors): per (batch, token, head) at p = position + t, the
// input scale s = 1/sqrt(c_p) from c_p = Σ γ^i (expm1 form), then
// dt = ½(log γ + log(1 - s²)) = log(γ·sqrt(c_{p-1}/c_p)); A = 1 per head.
// CHECK-LABEL: func.func @retention
// CHECK-SAME: (%[[Q:.*]]: tensor<1x8x2x16xf16>, %[[K:.*]]: tensor<1x8x2x16xf16>, %[[V:.*]]: tensor<1x8x2x32xf16>, %[[G:.*]]: tensor<2xf32>, %[[P:.*]]: tensor<1xi32>, %[[S0:.*]]: tensor<1x2x16x32xf32>)
// CHECK: %[[SCALE:.*]] = linalg.generic {{.*}} ins(%[[G]], %[[P]] : tensor<2xf32>, tensor<1xi32>) outs(%{{.*}} : tensor<1x8x2xf32>)
// CHECK:   math.log
// CHECK:   linalg.index 1
// CHECK:   arith.extsi
// CHECK:   math.expm1
// CHECK:   math.rsqrt
// CHECK: %[[DT:.*]] = linalg.generic {{.*}} ins(%[[G]], %[[SCALE]] : tensor<2xf32>, tensor<1x8x2xf32>) outs(%{{.*}} : tensor<1x8x2xf32>)
// CHECK:   math.log
// CHECK:   arith.mulf
// CHECK:   arith.negf
// CHECK:   math.log1p
// CHECK: %[[ONES:.*]] = linalg.fill {{.*}} -> tensor<2xf32>
// CHECK: densessm.scan %[[Q]], %[[K]], %[[V]], %[[DT]], %[[ONES]] input_scale(%[[SCALE]]) initial_state(%[[S0]])
func.func @retention(%q: tensor<1x8x2x16xf16>, %k: tensor<1x8x2x16xf16>,
    %v: tensor<1x8x2x32xf16>, %gamma: tensor<2xf32>, %pos: tensor<1xi32>,
    %S0: tensor<1x2x16x32xf32>) -> (tensor<1x8x2x32xf16>, tensor<1x2x16x32xf32>) {
  %o, %S = densessm.retention %q, %k, %v decay(%gamma) position(%pos) initial_state(%S0)
           : tensor<1x8x2x16xf16>, tensor<1x8x2x16xf16>, tensor<1x8x2x32xf16>,
             tensor<2xf32>, tensor<1xi32>, tensor<1x2x16x32xf32>
           -> tensor<1x8x2x32xf16>, tensor<1x2x16x32xf32>
  return %o, %S : tensor<1x8x2x32xf16>, tensor<1x2x16x32xf32>
}

// -----

// Without normalisation: dt = log γ and no input scale.
// CHECK-LABEL: func.func @retention_plain
// CHECK: %[[DT:.*]] = linalg.generic
// CHECK-NEXT: ^bb0
// CHECK-NEXT: %[[LOG:.*]] = math.log
// CHECK-NEXT: linalg.yield %[[LOG]]
// CHECK: densessm.scan %arg0, %arg1, %arg2, %[[DT]], %{{.*}} :
func.func @retention_plain(%q: tensor<1x8x2x16xf32>, %k: tensor<1x8x2x16xf32>,
    %v: tensor<1x8x2x32xf32>, %gamma: tensor<2xf32>) -> tensor<1x8x2x32xf32> {
  %o, %S = densessm.retention %q, %k, %v decay(%gamma) {normalization = #densessm.retention_norm<none>}
           : tensor<1x8x2x16xf32>, tensor<1x8x2x16xf32>, tensor<1x8x2x32xf32>, tensor<2xf32>
           -> tensor<1x8x2x32xf32>, tensor<1x2x16x32xf32>
  return %o : tensor<1x8x2x32xf32>
}

// -----

// Other ops are left alone.
// CHECK-LABEL: func.func @others
// CHECK: densessm.causal_conv1d
// CHECK: densessm.dense_connect
// CHECK-NOT: densessm.scan
func.func @others(%x: tensor<1x8x32xf32>, %w: tensor<32x4xf32>, %n: tensor<32xf32>) -> tensor<1x8x32xf32> {
  %y, %win = densessm.causal_conv1d %x, %w : tensor<1x8x32xf32>, tensor<32x4xf32>
             -> tensor<1x8x32xf32>, tensor<1x32x3xf32>
  %r = densessm.dense_connect %y, [%x] norm(%n) : tensor<1x8x32xf32>, tensor<1x8x32xf32>, tensor<32xf32>
  return %r : tensor<1x8x32xf32>
}
