// --densessm-lower-scan-to-loops: the kernel-level scan becomes loops on
// buffers, in the form its shapes allow.
// RUN: densessm-opt %s -densessm-lower-scan-to-loops -split-input-file | FileCheck %s

// Mamba-1's form (V = 1, static N = 4, one group of B/C), 20 channels: one
// parallel loop over (batch, group of up to 4 16-channel blocks); the group's
// base-2 decay rates and states wait in stack buffers while chunks of 32
// tokens walk the blocks in turn. Each block's time loop carries the N state
// columns as vector<16xf32> over channels, prefetches its rows one chunk
// ahead, and computes the decay 2^(δ·rate) with the exp2 polynomial (no
// math.exp) — update and readout are vertical vector ops, softplus'd Δ and
// SiLU(z) included. Then a parallel loop over the 4 channels left, each
// state one vector<4xf32> with a tree-reduced readout.
// CHECK-LABEL: func.func @mamba_form
// CHECK: %[[V3:.*]] = memref.collapse_shape %{{.*}} {{\[}}[0], [1], [2, 3]] : memref<2x8x20x1xf32, strided<[?, ?, 1, 1], offset: ?>>
// 2 batches x ceil(20 / 16 / 4) = 1 group (sizes are static, so the counts fold):
// CHECK: scf.parallel (%{{.*}}, %{{.*}}) = (%c0, %c0) to (%c2, %c1)
// CHECK:   memref.alloca_scope
// CHECK:     %[[RATES:.*]] = memref.alloca() : memref<4x4x16xf32>
// CHECK:     %[[STATES:.*]] = memref.alloca() : memref<4x4x16xf32>
// CHECK:     scf.for %{{.*}} = %c0 to %{{.*}} step %c32
// CHECK:       scf.for %[[J:.*]] = %c0 to
// CHECK:         vector.load %[[RATES]][%[[J]], %c0, %c0] : memref<4x4x16xf32>, vector<16xf32>
// CHECK:         vector.load %[[STATES]][%[[J]], %c0, %c0] : memref<4x4x16xf32>, vector<16xf32>
// CHECK:         scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c1{{.*}} iter_args(%{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// CHECK:           memref.prefetch %[[V3]]
// CHECK:           math.log1p {{.*}} : vector<16xf32>
// CHECK:           vector.transfer_read %[[V3]]
// CHECK-NOT:       math.exp
// CHECK:           arith.shli {{.*}} : vector<16xi32>
// CHECK:           math.fma {{.*}} : vector<16xf32>
// CHECK:           vector.transfer_write {{.*}} : vector<16xf32>
// CHECK:         vector.store %{{.*}}, %[[STATES]][%[[J]], %c0, %c0]
// CHECK: scf.parallel (%{{.*}}, %{{.*}}) = (%c0, %c16) to (%c2, %c20)
// CHECK:   scf.for {{.*}} -> (vector<4xf32>)
// CHECK:     vector.reduction <add>, {{.*}} fastmath<reassoc> : vector<4xf32> into f32
// CHECK: bufferization.to_tensor
func.func @mamba_form(%q: tensor<2x8x1x4xf32>, %k: tensor<2x8x1x4xf32>, %v: tensor<2x8x20x1xf32>,
    %dt: tensor<2x8x20xf32>, %A: tensor<20x4xf32>, %z: tensor<2x8x20x1xf32>)
    -> (tensor<2x8x20x1xf32>, tensor<2x20x4x1xf32>) {
  %y, %s = densessm.scan %q, %k, %v, %dt, %A gate(%z) {dt_softplus, dt_scales_input}
           : tensor<2x8x1x4xf32>, tensor<2x8x1x4xf32>, tensor<2x8x20x1xf32>,
             tensor<2x8x20xf32>, tensor<20x4xf32>, tensor<2x8x20x1xf32>
           -> tensor<2x8x20x1xf32>, tensor<2x20x4x1xf32>
  return %y, %s : tensor<2x8x20x1xf32>, tensor<2x20x4x1xf32>
}

// -----

// Retention's form (static dv = 32): per (batch, head), blocks of 4 tokens
// share one pass over the state. Per 32-wide value chunk (two 16-wide
// vectors), the key loop reads each state row's chunk once, takes it through
// the 4 tokens' updates in order (each token's update feeds the next), writes
// it back once, and accumulates the 4 x 2 output vectors in registers (the
// iter_args; a state update adds the fresh k·v product, not an iter_arg). The
// tokens left over from the blocks then go one at a time.
// CHECK-LABEL: func.func @retention_form
// CHECK: scf.parallel
// CHECK:   scf.for %{{.*}} = %c0{{.*}} to %{{.*}} step %c4
// CHECK:     scf.for %[[J:.*]] = %c0{{.*}} to %{{.*}} step %c32
// CHECK:       scf.for {{.*}} iter_args(%[[ACC:[^ ]*]] = {{.*}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// CHECK:         %[[ROW:.*]] = vector.transfer_read %{{.*}}[%{{.*}}, %{{.*}}, %{{.*}}, %[[J]]]{{.*}} vector<16xf32>
// CHECK:         %[[S0:.*]] = math.fma %{{.*}}, %[[ROW]], %{{[0-9]+}} : vector<16xf32>
// CHECK:         math.fma %{{.*}}, %[[S0]], %[[ACC]] : vector<16xf32>
// CHECK:         %[[S1:.*]] = math.fma %{{.*}}, %[[S0]], %{{[0-9]+}} : vector<16xf32>
// CHECK:         %[[S2:.*]] = math.fma %{{.*}}, %[[S1]], %{{[0-9]+}} : vector<16xf32>
// CHECK:         %[[S3:.*]] = math.fma %{{.*}}, %[[S2]], %{{[0-9]+}} : vector<16xf32>
// CHECK:         vector.transfer_write %[[S3]], %{{.*}}[%{{.*}}, %{{.*}}, %{{.*}}, %[[J]]]
// CHECK:       arith.truncf {{.*}} : vector<16xf32> to vector<16xbf16>
// CHECK:   scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c1
// CHECK:     scf.for %{{.*}} = %c0{{.*}} to %{{.*}} step %c32
// CHECK:       scf.for {{.*}} -> (vector<16xf32>, vector<16xf32>) {
func.func @retention_form(%q: tensor<1x8x2x4xbf16>, %k: tensor<1x8x2x4xbf16>, %v: tensor<1x8x2x32xbf16>,
    %dt: tensor<1x8x2xf32>, %A: tensor<2xf32>, %scale: tensor<1x8x2xf32>)
    -> (tensor<1x8x2x32xbf16>, tensor<1x2x4x32xf32>) {
  %y, %s = densessm.scan %q, %k, %v, %dt, %A input_scale(%scale)
           : tensor<1x8x2x4xbf16>, tensor<1x8x2x4xbf16>, tensor<1x8x2x32xbf16>,
             tensor<1x8x2xf32>, tensor<2xf32>, tensor<1x8x2xf32>
           -> tensor<1x8x2x32xbf16>, tensor<1x2x4x32xf32>
  return %y, %s : tensor<1x8x2x32xbf16>, tensor<1x2x4x32xf32>
}

// -----

// Sizes unknown at compile time: scalar loops over keys and values.
// CHECK-LABEL: func.func @dynamic_form
// CHECK: scf.parallel
// CHECK-NOT: vector<
// CHECK: math.fma {{.*}} : f32
func.func @dynamic_form(%q: tensor<?x?x?x?xf32>, %k: tensor<?x?x?x?xf32>, %v: tensor<?x?x?x?xf32>,
    %dt: tensor<?x?x?xf32>, %A: tensor<?xf32>) -> (tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>) {
  %y, %s = densessm.scan %q, %k, %v, %dt, %A
           : tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>, tensor<?x?x?xf32>, tensor<?xf32>
           -> tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>
  return %y, %s : tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>
}

// -----

// A fused dense connection: first the statistics pre-pass, one 1/rms per
// (batch, token) over the recomputed connected values; the scan then reads
// each value as connected * rstd * norm_weight.
// CHECK-LABEL: func.func @dense_input
// CHECK: %[[RSTD:.*]] = memref.alloc(%{{.*}}, %{{.*}}) : memref<?x?xf32>
// CHECK: scf.parallel (%[[B:.*]], %[[T:.*]]) =
// CHECK:   scf.for {{.*}} -> (f32)
// CHECK:     scf.for {{.*}} -> (f32)
// CHECK:   math.rsqrt
// CHECK:   memref.store %{{.*}}, %[[RSTD]][%[[B]], %[[T]]]
// CHECK: scf.parallel
// CHECK:   memref.load %[[RSTD]]
func.func @dense_input(%q: tensor<1x8x2x4xf32>, %k: tensor<1x8x2x4xf32>, %v: tensor<1x8x2x16xf32>,
    %dt: tensor<1x8x2xf32>, %A: tensor<2xf32>, %sel: tensor<1x8x2xf32>, %w2: tensor<32x2xf32>,
    %n: tensor<32xf32>, %k0: tensor<1x8x2x16xf32>) -> tensor<1x8x2x16xf32> {
  %y, %s = densessm.scan %q, %k, %v, %dt, %A dense(%sel, %w2, %n, [%k0]) {dense_eps = 1.0e-06 : f32}
           : tensor<1x8x2x4xf32>, tensor<1x8x2x4xf32>, tensor<1x8x2x16xf32>, tensor<1x8x2xf32>, tensor<2xf32>,
             tensor<1x8x2xf32>, tensor<32x2xf32>, tensor<32xf32>, tensor<1x8x2x16xf32>
           -> tensor<1x8x2x16xf32>, tensor<1x2x4x16xf32>
  return %y : tensor<1x8x2x16xf32>
}
