// Benchmark kernel: Mamba's selective scan with every optional part (D, z,
// delta_bias, softplus), dynamic batch, length and channels, N = 16.
func.func @selective_scan(%u: tensor<?x?x?xf32>, %delta: tensor<?x?x?xf32>,
    %A: tensor<?x16xf32>, %B: tensor<?x?x16xf32>, %C: tensor<?x?x16xf32>,
    %D: tensor<?xf32>, %z: tensor<?x?x?xf32>, %bias: tensor<?xf32>)
    -> (tensor<?x?x?xf32>, tensor<?x?x16xf32>) attributes {llvm.emit_c_interface} {
  %y, %s = densessm.selective_scan %u, %delta, %A, %B, %C D(%D) z(%z) delta_bias(%bias)
             {delta_softplus}
           : tensor<?x?x?xf32>, tensor<?x?x?xf32>, tensor<?x16xf32>, tensor<?x?x16xf32>,
             tensor<?x?x16xf32>, tensor<?xf32>, tensor<?x?x?xf32>, tensor<?xf32>
           -> tensor<?x?x?xf32>, tensor<?x?x16xf32>
  return %y, %s : tensor<?x?x?xf32>, tensor<?x?x16xf32>
}
