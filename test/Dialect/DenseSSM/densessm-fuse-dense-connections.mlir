// --densessm-fuse-dense-connections: a dense connection read only as a scan's
// values is folded into the scan; every other one is left alone.
// RUN: densessm-opt %s -densessm-lower-to-scan -densessm-fuse-dense-connections -split-input-file | FileCheck %s

// DenseRetNet's v: dense_connect -> split heads -> retention's values. The
// scan takes the current and kept tensors split into heads, the gate's hidden
// layer SiLU(fc1 x) and the second-layer and norm weights; the connected
// tensor is gone.
// CHECK-LABEL: func.func @retention_values
// CHECK-SAME: (%[[Q:.*]]: tensor<1x8x2x8xf32>, %[[K:.*]]: tensor<1x8x2x8xf32>, %[[V:.*]]: tensor<1x8x32xf32>, %[[V0:.*]]: tensor<1x8x32xf32>, %[[V1:.*]]: tensor<1x8x32xf32>, %[[X:.*]]: tensor<1x8x64xf32>, %[[FC1:.*]]: tensor<2x64xf32>, %[[FC2:.*]]: tensor<32x2xf32>, %[[W:.*]]: tensor<32xf32>, %[[G:.*]]: tensor<2xf32>)
// CHECK-NOT: densessm.dense_connect
// CHECK-DAG: %[[VH:.*]] = tensor.expand_shape %[[V]] {{\[}}[0], [1], [2, 3]] output_shape [1, 8, 2, 16]
// CHECK-DAG: %[[V0H:.*]] = tensor.expand_shape %[[V0]] {{\[}}[0], [1], [2, 3]] output_shape [1, 8, 2, 16]
// CHECK-DAG: %[[V1H:.*]] = tensor.expand_shape %[[V1]] {{\[}}[0], [1], [2, 3]] output_shape [1, 8, 2, 16]
// CHECK-DAG: %[[HID:.*]] = linalg.generic {{.*}} ins(%[[X]], %[[FC1]] :
// CHECK-DAG: %[[SEL:.*]] = linalg.generic {{.*}} ins(%[[HID]] :
// CHECK: densessm.scan %[[Q]], %[[K]], %[[VH]], {{.*}} dense(%[[SEL]], %[[FC2]], %[[W]], [%[[V0H]], %[[V1H]]]) {dense_eps = 9.99999997E-7 : f32}
func.func @retention_values(%q: tensor<1x8x2x8xf32>, %k: tensor<1x8x2x8xf32>,
    %v: tensor<1x8x32xf32>, %v0: tensor<1x8x32xf32>, %v1: tensor<1x8x32xf32>,
    %x: tensor<1x8x64xf32>, %fc1: tensor<2x64xf32>, %fc2: tensor<32x2xf32>,
    %w: tensor<32xf32>, %gamma: tensor<2xf32>) -> tensor<1x8x2x16xf32> {
  %vf = densessm.dense_connect %v, [%v0, %v1] gate(%x, %fc1, %fc2) norm(%w)
        : tensor<1x8x32xf32>, tensor<1x8x32xf32>, tensor<1x8x32xf32>,
          tensor<1x8x64xf32>, tensor<2x64xf32>, tensor<32x2xf32>, tensor<32xf32>
  %vh = tensor.expand_shape %vf [[0], [1], [2, 3]] output_shape [1, 8, 2, 16]
        : tensor<1x8x32xf32> into tensor<1x8x2x16xf32>
  %o, %S = densessm.retention %q, %k, %vh decay(%gamma)
           : tensor<1x8x2x8xf32>, tensor<1x8x2x8xf32>, tensor<1x8x2x16xf32>, tensor<2xf32>
           -> tensor<1x8x2x16xf32>, tensor<1x2x8x16xf32>
  return %o : tensor<1x8x2x16xf32>
}

// -----

// The connected tensor is also returned: it must exist, so folding would
// only add work. Left alone.
// CHECK-LABEL: func.func @another_user
// CHECK: %[[VF:.*]] = densessm.dense_connect
// CHECK: %[[VH:.*]] = tensor.expand_shape %[[VF]]
// CHECK: densessm.scan %{{.*}}, %{{.*}}, %[[VH]], %{{.*}}, %{{.*}} input_scale
// CHECK-NOT: dense(
func.func @another_user(%q: tensor<1x8x2x8xf32>, %k: tensor<1x8x2x8xf32>,
    %v: tensor<1x8x32xf32>, %v0: tensor<1x8x32xf32>, %x: tensor<1x8x64xf32>,
    %fc1: tensor<2x64xf32>, %fc2: tensor<32x2xf32>, %w: tensor<32xf32>,
    %gamma: tensor<2xf32>) -> (tensor<1x8x2x16xf32>, tensor<1x8x32xf32>) {
  %vf = densessm.dense_connect %v, [%v0] gate(%x, %fc1, %fc2) norm(%w)
        : tensor<1x8x32xf32>, tensor<1x8x32xf32>, tensor<1x8x64xf32>,
          tensor<2x64xf32>, tensor<32x2xf32>, tensor<32xf32>
  %vh = tensor.expand_shape %vf [[0], [1], [2, 3]] output_shape [1, 8, 2, 16]
        : tensor<1x8x32xf32> into tensor<1x8x2x16xf32>
  %o, %S = densessm.retention %q, %k, %vh decay(%gamma)
           : tensor<1x8x2x8xf32>, tensor<1x8x2x8xf32>, tensor<1x8x2x16xf32>, tensor<2xf32>
           -> tensor<1x8x2x16xf32>, tensor<1x2x8x16xf32>
  return %o, %vf : tensor<1x8x2x16xf32>, tensor<1x8x32xf32>
}

// -----

// DenseRetNet's k reaches the scan through rotary: left alone (the rotation
// mixes channel pairs, so the scan cannot read one connected value at a time).
// CHECK-LABEL: func.func @through_rotary
// CHECK: densessm.dense_connect
// CHECK: densessm.rotary
// CHECK-NOT: dense(
func.func @through_rotary(%q: tensor<1x8x2x8xf32>, %k: tensor<1x8x16xf32>,
    %k0: tensor<1x8x16xf32>, %v: tensor<1x8x2x16xf32>, %x: tensor<1x8x64xf32>,
    %fc1: tensor<2x64xf32>, %fc2: tensor<16x2xf32>, %w: tensor<16xf32>,
    %gamma: tensor<2xf32>) -> tensor<1x8x2x16xf32> {
  %kf = densessm.dense_connect %k, [%k0] gate(%x, %fc1, %fc2) norm(%w)
        : tensor<1x8x16xf32>, tensor<1x8x16xf32>, tensor<1x8x64xf32>,
          tensor<2x64xf32>, tensor<16x2xf32>, tensor<16xf32>
  %kh = tensor.expand_shape %kf [[0], [1], [2, 3]] output_shape [1, 8, 2, 8]
        : tensor<1x8x16xf32> into tensor<1x8x2x8xf32>
  %kr = densessm.rotary %kh : tensor<1x8x2x8xf32>
  %o, %S = densessm.retention %q, %kr, %v decay(%gamma)
           : tensor<1x8x2x8xf32>, tensor<1x8x2x8xf32>, tensor<1x8x2x16xf32>, tensor<2xf32>
           -> tensor<1x8x2x16xf32>, tensor<1x2x8x16xf32>
  return %o : tensor<1x8x2x16xf32>
}

// -----

// DenseMamba's u feeds x_proj as well as the scan: left alone.
// CHECK-LABEL: func.func @mamba_u
// CHECK: %[[UF:.*]] = densessm.dense_connect
// CHECK: linalg.contract {{.*}} ins(%[[UF]]
// CHECK: densessm.scan
// CHECK-NOT: dense(
func.func @mamba_u(%u: tensor<1x8x32xf32>, %u0: tensor<1x8x32xf32>, %x: tensor<1x8x64xf32>,
    %fc1: tensor<2x64xf32>, %fc2: tensor<32x2xf32>, %w: tensor<32xf32>,
    %xproj: tensor<16x32xf32>, %dt: tensor<1x8x32xf32>, %A: tensor<32x8xf32>)
    -> (tensor<1x8x32xf32>, tensor<1x8x16xf32>) {
  %uf = densessm.dense_connect %u, [%u0] gate(%x, %fc1, %fc2) norm(%w)
        : tensor<1x8x32xf32>, tensor<1x8x32xf32>, tensor<1x8x64xf32>,
          tensor<2x64xf32>, tensor<32x2xf32>, tensor<32xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x8x16xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
  %bc = linalg.contract indexing_maps = [affine_map<(b, l, o, i) -> (b, l, i)>, affine_map<(b, l, o, i) -> (o, i)>, affine_map<(b, l, o, i) -> (b, l, o)>]
        ins(%uf, %xproj : tensor<1x8x32xf32>, tensor<16x32xf32>) outs(%init : tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
  %B = tensor.extract_slice %bc[0, 0, 0] [1, 8, 8] [1, 1, 1] : tensor<1x8x16xf32> to tensor<1x8x8xf32>
  %C = tensor.extract_slice %bc[0, 0, 8] [1, 8, 8] [1, 1, 1] : tensor<1x8x16xf32> to tensor<1x8x8xf32>
  %y, %s = densessm.selective_scan %uf, %dt, %A, %B, %C
           : tensor<1x8x32xf32>, tensor<1x8x32xf32>, tensor<32x8xf32>, tensor<1x8x8xf32>, tensor<1x8x8xf32>
           -> tensor<1x8x32xf32>, tensor<1x32x8xf32>
  return %y, %bc : tensor<1x8x32xf32>, tensor<1x8x16xf32>
}

// -----

// The ablation form (concatenation, no norm) is left alone.
// CHECK-LABEL: func.func @ablation
// CHECK: densessm.dense_connect
// CHECK-NOT: dense(
func.func @ablation(%q: tensor<1x8x2x8xf32>, %k: tensor<1x8x2x8xf32>,
    %v: tensor<1x8x32xf32>, %v0: tensor<1x8x32xf32>, %f: tensor<32x64xf32>,
    %gamma: tensor<2xf32>) -> tensor<1x8x2x16xf32> {
  %vf = densessm.dense_connect %v, [%v0] fuse(%f)
          {fusion = #densessm.fusion<concat>, norm = #densessm.norm<none>}
        : tensor<1x8x32xf32>, tensor<1x8x32xf32>, tensor<32x64xf32>
  %vh = tensor.expand_shape %vf [[0], [1], [2, 3]] output_shape [1, 8, 2, 16]
        : tensor<1x8x32xf32> into tensor<1x8x2x16xf32>
  %o, %S = densessm.retention %q, %k, %vh decay(%gamma)
           : tensor<1x8x2x8xf32>, tensor<1x8x2x8xf32>, tensor<1x8x2x16xf32>, tensor<2xf32>
           -> tensor<1x8x2x16xf32>, tensor<1x2x8x16xf32>
  return %o : tensor<1x8x2x16xf32>
}
