// --densessm-lower-to-linalg on what it cannot lower: one error naming the
// op and the reason, and the pass fails.
// RUN: densessm-opt %s --densessm-lower-to-linalg -split-input-file -verify-diagnostics

// The causal conv's taps are unrolled: the kernel width must be static.
func.func @dynamic_width(%x: tensor<1x8x32xf32>, %w: tensor<32x?xf32>)
    -> (tensor<1x8x32xf32>, tensor<1x32x?xf32>) {
  // expected-error @below {{has a dynamic kernel width: the lowering unrolls the taps and needs the weight's dim 1 static}}
  %y, %w1 = densessm.causal_conv1d %x, %w : tensor<1x8x32xf32>, tensor<32x?xf32>
            -> tensor<1x8x32xf32>, tensor<1x32x?xf32>
  return %y, %w1 : tensor<1x8x32xf32>, tensor<1x32x?xf32>
}
