// Benchmark kernel: one decode step of Mamba's selective scan (the recurrent
// schedule: one token per sequence, state in, state out), N = 16.
func.func @selective_scan_step(%u: tensor<?x1x?xf32>, %delta: tensor<?x1x?xf32>,
    %A: tensor<?x16xf32>, %B: tensor<?x1x16xf32>, %C: tensor<?x1x16xf32>,
    %D: tensor<?xf32>, %z: tensor<?x1x?xf32>, %bias: tensor<?xf32>,
    %s0: tensor<?x?x16xf32>)
    -> (tensor<?x1x?xf32>, tensor<?x?x16xf32>)
    attributes {llvm.emit_c_interface, densessm.schedule = #densessm.schedule<recurrent>} {
  %y, %s = densessm.selective_scan %u, %delta, %A, %B, %C D(%D) z(%z) delta_bias(%bias)
             initial_state(%s0) {delta_softplus}
           : tensor<?x1x?xf32>, tensor<?x1x?xf32>, tensor<?x16xf32>, tensor<?x1x16xf32>,
             tensor<?x1x16xf32>, tensor<?xf32>, tensor<?x1x?xf32>, tensor<?xf32>,
             tensor<?x?x16xf32>
           -> tensor<?x1x?xf32>, tensor<?x?x16xf32>
  return %y, %s : tensor<?x1x?xf32>, tensor<?x?x16xf32>
}
