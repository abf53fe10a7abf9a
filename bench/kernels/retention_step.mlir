// Benchmark kernel: one decode step of retention (the recurrent schedule),
// authors' normalisation at each sequence's position, value size 768.
func.func @retention_step(%q: tensor<?x1x?x?xf32>, %k: tensor<?x1x?x?xf32>,
    %v: tensor<?x1x?x768xf32>, %decay: tensor<?xf32>, %position: tensor<?xi64>,
    %s0: tensor<?x?x?x768xf32>)
    -> (tensor<?x1x?x768xf32>, tensor<?x?x?x768xf32>)
    attributes {llvm.emit_c_interface, densessm.schedule = #densessm.schedule<recurrent>} {
  %o, %s = densessm.retention %q, %k, %v decay(%decay) position(%position)
             initial_state(%s0)
           : tensor<?x1x?x?xf32>, tensor<?x1x?x?xf32>, tensor<?x1x?x768xf32>,
             tensor<?xf32>, tensor<?xi64>, tensor<?x?x?x768xf32>
           -> tensor<?x1x?x768xf32>, tensor<?x?x?x768xf32>
  return %o, %s : tensor<?x1x?x768xf32>, tensor<?x?x?x768xf32>
}
