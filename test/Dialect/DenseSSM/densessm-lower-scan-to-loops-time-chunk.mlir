// --densessm-lower-scan-to-loops=time-chunk=4: the parallel schedule chunked
// over time; a recurrent function keeps its one-token step.
// RUN: densessm-opt %s -densessm-lower-scan-to-loops=time-chunk=4 -split-input-file | FileCheck %s

// Three parallel phases: per (batch, head, chunk) the chunk's scan from zero
// with its decay product; per (batch, head) the carries from chunk to chunk,
// starting at the initial state; per (batch, head, chunk) the readouts
// corrected by the carry entering the chunk.
// CHECK-LABEL: func.func @parallel_schedule
// 10 tokens in chunks of 4: 3 chunks, the last one 2 tokens (min(start + 4, 10)).
// CHECK: scf.parallel (%{{.*}}, %{{.*}}, %{{.*}}) = (%c0, %c0, %c0) to (%c1, %c2, %c3)
// CHECK:   arith.minui %{{.*}}, %c10
// CHECK: scf.parallel (%{{.*}}, %{{.*}}) = (%c0, %c0) to (%c1, %c2)
// CHECK:   scf.for %{{.*}} = %c0 to %c3 step %c1 iter_args
// CHECK: scf.parallel (%{{.*}}, %{{.*}}, %{{.*}}) = (%c0, %c0, %c0) to (%c1, %c2, %c3)
func.func @parallel_schedule(%q: tensor<1x10x2x4xf32>, %k: tensor<1x10x2x4xf32>, %v: tensor<1x10x2x8xf32>,
    %dt: tensor<1x10x2xf32>, %A: tensor<2xf32>, %s0: tensor<1x2x4x8xf32>)
    -> (tensor<1x10x2x8xf32>, tensor<1x2x4x8xf32>)
    attributes {densessm.schedule = #densessm.schedule<parallel>} {
  %y, %s = densessm.scan %q, %k, %v, %dt, %A initial_state(%s0)
           : tensor<1x10x2x4xf32>, tensor<1x10x2x4xf32>, tensor<1x10x2x8xf32>,
             tensor<1x10x2xf32>, tensor<2xf32>, tensor<1x2x4x8xf32>
           -> tensor<1x10x2x8xf32>, tensor<1x2x4x8xf32>
  return %y, %s : tensor<1x10x2x8xf32>, tensor<1x2x4x8xf32>
}

// -----

// CHECK-LABEL: func.func @recurrent_step
// CHECK: scf.parallel (%{{.*}}, %{{.*}}) =
// CHECK-NOT: arith.minui
// CHECK: vector<8xf32>
func.func @recurrent_step(%q: tensor<1x1x2x4xf32>, %k: tensor<1x1x2x4xf32>, %v: tensor<1x1x2x8xf32>,
    %dt: tensor<1x1x2xf32>, %A: tensor<2xf32>, %s0: tensor<1x2x4x8xf32>)
    -> (tensor<1x1x2x8xf32>, tensor<1x2x4x8xf32>)
    attributes {densessm.schedule = #densessm.schedule<recurrent>} {
  %y, %s = densessm.scan %q, %k, %v, %dt, %A initial_state(%s0)
           : tensor<1x1x2x4xf32>, tensor<1x1x2x4xf32>, tensor<1x1x2x8xf32>,
             tensor<1x1x2xf32>, tensor<2xf32>, tensor<1x2x4x8xf32>
           -> tensor<1x1x2x8xf32>, tensor<1x2x4x8xf32>
  return %y, %s : tensor<1x1x2x8xf32>, tensor<1x2x4x8xf32>
}
