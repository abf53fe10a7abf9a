// Benchmark kernel: Mamba's depthwise causal convolution (K = 4, bias, SiLU)
// over a whole sequence from a zero window, dynamic batch, length, channels.
func.func @causal_conv1d(%x: tensor<?x?x?xf32>, %w: tensor<?x4xf32>,
    %bias: tensor<?xf32>) -> (tensor<?x?x?xf32>, tensor<?x?x3xf32>)
    attributes {llvm.emit_c_interface} {
  %y, %window = densessm.causal_conv1d %x, %w bias(%bias)
                  {activation = #densessm.activation<silu>}
                : tensor<?x?x?xf32>, tensor<?x4xf32>, tensor<?xf32>
                -> tensor<?x?x?xf32>, tensor<?x?x3xf32>
  return %y, %window : tensor<?x?x?xf32>, tensor<?x?x3xf32>
}
