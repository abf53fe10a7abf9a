// Folds and canonicalisations of the densessm ops, and what they leave alone.
// RUN: densessm-opt %s -canonicalize -split-input-file | FileCheck %s

// A zero initial state, a zero D and a zero delta_bias mean the same as none.
// CHECK-LABEL: func.func @scan_drops_zero_operands
// CHECK-NOT: arith.constant
// CHECK: densessm.selective_scan %arg0, %arg1, %arg2, %arg3, %arg4 z(%arg0) {delta_softplus} :
func.func @scan_drops_zero_operands(%u: tensor<1x8x32xf32>, %dt: tensor<1x8x32xf32>,
    %A: tensor<32x16xf32>, %B: tensor<1x8x16xf32>, %C: tensor<1x8x16xf32>) -> tensor<1x8x32xf32> {
  %s0 = arith.constant dense<0.0> : tensor<1x32x16xf32>
  %D = arith.constant dense<0.0> : tensor<32xf32>
  %bias = arith.constant dense<0.0> : tensor<32xf32>
  %y, %s = densessm.selective_scan %u, %dt, %A, %B, %C D(%D) z(%u) delta_bias(%bias)
             initial_state(%s0) {delta_softplus}
           : tensor<1x8x32xf32>, tensor<1x8x32xf32>, tensor<32x16xf32>, tensor<1x8x16xf32>,
             tensor<1x8x16xf32>, tensor<32xf32>, tensor<1x8x32xf32>, tensor<32xf32>, tensor<1x32x16xf32>
           -> tensor<1x8x32xf32>, tensor<1x32x16xf32>
  return %y : tensor<1x8x32xf32>
}

// -----

// Non-zero constants and non-constant operands stay.
// CHECK-LABEL: func.func @scan_keeps_nonzero
// CHECK: %[[D:.*]] = arith.constant dense<1.000000e+00> : tensor<32xf32>
// CHECK: densessm.selective_scan %arg0, %arg1, %arg2, %arg3, %arg4 D(%[[D]]) initial_state(%arg5) :
func.func @scan_keeps_nonzero(%u: tensor<1x8x32xf32>, %dt: tensor<1x8x32xf32>,
    %A: tensor<32x16xf32>, %B: tensor<1x8x16xf32>, %C: tensor<1x8x16xf32>,
    %s0: tensor<1x32x16xf32>) -> tensor<1x8x32xf32> {
  %D = arith.constant dense<1.0> : tensor<32xf32>
  %y, %s = densessm.selective_scan %u, %dt, %A, %B, %C D(%D) initial_state(%s0)
           : tensor<1x8x32xf32>, tensor<1x8x32xf32>, tensor<32x16xf32>, tensor<1x8x16xf32>,
             tensor<1x8x16xf32>, tensor<32xf32>, tensor<1x32x16xf32>
           -> tensor<1x8x32xf32>, tensor<1x32x16xf32>
  return %y : tensor<1x8x32xf32>
}

// -----

// An unused scan is dead (the ops are pure).
// CHECK-LABEL: func.func @dead_scan
// CHECK-NOT: densessm.selective_scan
// CHECK: return %arg0
func.func @dead_scan(%u: tensor<1x8x32xf32>, %dt: tensor<1x8x32xf32>,
    %A: tensor<32x16xf32>, %B: tensor<1x8x16xf32>, %C: tensor<1x8x16xf32>) -> tensor<1x8x32xf32> {
  %y, %s = densessm.selective_scan %u, %dt, %A, %B, %C
           : tensor<1x8x32xf32>, tensor<1x8x32xf32>, tensor<32x16xf32>, tensor<1x8x16xf32>, tensor<1x8x16xf32>
           -> tensor<1x8x32xf32>, tensor<1x32x16xf32>
  return %u : tensor<1x8x32xf32>
}

// -----

// CHECK-LABEL: func.func @retention_drops_zero_state_and_position
// CHECK: densessm.retention %arg0, %arg1, %arg2 decay(%arg3) :
func.func @retention_drops_zero_state_and_position(%q: tensor<1x8x2x16xf32>,
    %k: tensor<1x8x2x16xf32>, %v: tensor<1x8x2x32xf32>, %gamma: tensor<2xf32>) -> tensor<1x8x2x32xf32> {
  %pos = arith.constant dense<0> : tensor<1xi64>
  %S0 = arith.constant dense<0.0> : tensor<1x2x16x32xf32>
  %o, %S = densessm.retention %q, %k, %v decay(%gamma) position(%pos) initial_state(%S0)
           : tensor<1x8x2x16xf32>, tensor<1x8x2x16xf32>, tensor<1x8x2x32xf32>,
             tensor<2xf32>, tensor<1xi64>, tensor<1x2x16x32xf32>
           -> tensor<1x8x2x32xf32>, tensor<1x2x16x32xf32>
  return %o : tensor<1x8x2x32xf32>
}

// -----

// A non-zero position stays.
// CHECK-LABEL: func.func @retention_keeps_position
// CHECK: densessm.retention %arg0, %arg1, %arg2 decay(%arg3) position(%{{.*}}) initial_state(%arg4) :
func.func @retention_keeps_position(%q: tensor<1x8x2x16xf32>, %k: tensor<1x8x2x16xf32>,
    %v: tensor<1x8x2x32xf32>, %gamma: tensor<2xf32>, %S0: tensor<1x2x16x32xf32>) -> tensor<1x8x2x32xf32> {
  %pos = arith.constant dense<5> : tensor<1xi64>
  %o, %S = densessm.retention %q, %k, %v decay(%gamma) position(%pos) initial_state(%S0)
           : tensor<1x8x2x16xf32>, tensor<1x8x2x16xf32>, tensor<1x8x2x32xf32>,
             tensor<2xf32>, tensor<1xi64>, tensor<1x2x16x32xf32>
           -> tensor<1x8x2x32xf32>, tensor<1x2x16x32xf32>
  return %o : tensor<1x8x2x32xf32>
}

// -----

// CHECK-LABEL: func.func @conv_drops_zero_window_and_bias
// CHECK: densessm.causal_conv1d %arg0, %arg1 : tensor<1x8x32xf32>, tensor<32x4xf32> -> tensor<1x8x32xf32>, tensor<1x32x3xf32>
func.func @conv_drops_zero_window_and_bias(%x: tensor<1x8x32xf32>, %w: tensor<32x4xf32>)
    -> (tensor<1x8x32xf32>, tensor<1x32x3xf32>) {
  %win = arith.constant dense<0.0> : tensor<1x32x3xf32>
  %b = arith.constant dense<0.0> : tensor<32xf32>
  %y, %win1 = densessm.causal_conv1d %x, %w bias(%b) window(%win)
              : tensor<1x8x32xf32>, tensor<32x4xf32>, tensor<32xf32>, tensor<1x32x3xf32>
              -> tensor<1x8x32xf32>, tensor<1x32x3xf32>
  return %y, %win1 : tensor<1x8x32xf32>, tensor<1x32x3xf32>
}

// -----

// No kept tensors, no norm: the connection is the current tensor.
// CHECK-LABEL: func.func @dense_connect_nothing_folds
// CHECK-NEXT: return %arg0
func.func @dense_connect_nothing_folds(%c: tensor<1x8x32xf32>) -> tensor<1x8x32xf32> {
  %r = densessm.dense_connect %c, [] {norm = #densessm.norm<none>} : tensor<1x8x32xf32>
  return %r : tensor<1x8x32xf32>
}

// -----

// No kept tensors with rms: RetNet-GAU's layers l >= 1 with
// dense_block_layers = 0 (MODELS.md §2) are an rms_norm.
// CHECK-LABEL: func.func @dense_connect_norm_only
// CHECK-NEXT: %[[N:.*]] = densessm.rms_norm %arg0, %arg4 {eps = 9.99999997E-7 : f32} : tensor<1x8x32xf32>, tensor<32xf32>
// CHECK-NEXT: return %[[N]]
func.func @dense_connect_norm_only(%c: tensor<1x8x32xf32>, %x: tensor<1x8x64xf32>,
    %fc1: tensor<2x64xf32>, %fc2: tensor<32x2xf32>, %w: tensor<32xf32>) -> tensor<1x8x32xf32> {
  %r = densessm.dense_connect %c, [] gate(%x, %fc1, %fc2) norm(%w)
       : tensor<1x8x32xf32>, tensor<1x8x64xf32>, tensor<2x64xf32>, tensor<32x2xf32>, tensor<32xf32>
  return %r : tensor<1x8x32xf32>
}

// -----

// With something to connect, or a concatenation's linear layer, it stays.
// CHECK-LABEL: func.func @dense_connect_stays
// CHECK: densessm.dense_connect %arg0, [%arg1] norm(%arg3)
// CHECK: densessm.dense_connect %arg0, [] fuse(%arg2)
func.func @dense_connect_stays(%c: tensor<1x8x32xf32>, %k0: tensor<1x8x32xf32>,
    %f: tensor<32x32xf32>, %w: tensor<32xf32>) -> (tensor<1x8x32xf32>, tensor<1x8x32xf32>) {
  %r = densessm.dense_connect %c, [%k0] norm(%w) : tensor<1x8x32xf32>, tensor<1x8x32xf32>, tensor<32xf32>
  %s = densessm.dense_connect %c, [] fuse(%f)
         {fusion = #densessm.fusion<concat>, norm = #densessm.norm<none>}
       : tensor<1x8x32xf32>, tensor<32x32xf32>
  return %r, %s : tensor<1x8x32xf32>, tensor<1x8x32xf32>
}
