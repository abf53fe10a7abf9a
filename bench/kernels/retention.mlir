// Benchmark kernel: retention with the authors' normalisation, dynamic batch,
// length, heads and key size, value size 768 (DenseRetNet-350M: E = 2H = 3072
// over 4 heads).
func.func @retention(%q: tensor<?x?x?x?xf32>, %k: tensor<?x?x?x?xf32>,
    %v: tensor<?x?x?x768xf32>, %decay: tensor<?xf32>)
    -> (tensor<?x?x?x768xf32>, tensor<?x?x?x768xf32>) attributes {llvm.emit_c_interface} {
  %o, %s = densessm.retention %q, %k, %v decay(%decay)
           : tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>, tensor<?x?x?x768xf32>, tensor<?xf32>
           -> tensor<?x?x?x768xf32>, tensor<?x?x?x768xf32>
  return %o, %s : tensor<?x?x?x768xf32>, tensor<?x?x?x768xf32>
}
