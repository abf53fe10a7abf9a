// Benchmark kernel: DenseRetNet's v path at DenseRetNet-350M shapes (H = 1536,
// E = 3072, 4 heads, dk = 192, dv = 768, m = 2): the dense connection of v
// (gate, addition, RMSNorm) feeding retention. Compiled twice, with the
// connection folded into the scan (--densessm-fuse-dense-connections) and
// without, to compare the two.
func.func @dense_retention(%q: tensor<?x?x4x192xf32>, %k: tensor<?x?x4x192xf32>,
    %v: tensor<?x?x3072xf32>, %v1: tensor<?x?x3072xf32>, %v2: tensor<?x?x3072xf32>,
    %x: tensor<?x?x1536xf32>, %fc1: tensor<48x1536xf32>, %fc2: tensor<3072x48xf32>,
    %norm: tensor<3072xf32>, %decay: tensor<4xf32>)
    -> tensor<?x?x4x768xf32> attributes {llvm.emit_c_interface} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %b = tensor.dim %v, %c0 : tensor<?x?x3072xf32>
  %l = tensor.dim %v, %c1 : tensor<?x?x3072xf32>
  %vf = densessm.dense_connect %v, [%v1, %v2] gate(%x, %fc1, %fc2) norm(%norm)
        : tensor<?x?x3072xf32>, tensor<?x?x3072xf32>, tensor<?x?x3072xf32>,
          tensor<?x?x1536xf32>, tensor<48x1536xf32>, tensor<3072x48xf32>, tensor<3072xf32>
  %vh = tensor.expand_shape %vf [[0], [1], [2, 3]] output_shape [%b, %l, 4, 768]
        : tensor<?x?x3072xf32> into tensor<?x?x4x768xf32>
  %o, %s = densessm.retention %q, %k, %vh decay(%decay)
           : tensor<?x?x4x192xf32>, tensor<?x?x4x192xf32>, tensor<?x?x4x768xf32>, tensor<4xf32>
           -> tensor<?x?x4x768xf32>, tensor<?x4x192x768xf32>
  return %o : tensor<?x?x4x768xf32>
}
