// --densessm-map-parallel-loops-to-gpu: each outermost parallel loop of the
// host code becomes blocks x threads over its flattened iteration space,
// ready for --convert-parallel-loops-to-gpu; loops with reductions, and
// loops already in kernels, are left alone.
// RUN: densessm-opt %s -densessm-map-parallel-loops-to-gpu=block-size=64 -split-input-file | FileCheck %s
// RUN: densessm-opt %s -densessm-map-parallel-loops-to-gpu=block-size=64 -convert-parallel-loops-to-gpu -split-input-file | FileCheck %s --check-prefix=LAUNCH
// RUN: not densessm-opt %s -densessm-map-parallel-loops-to-gpu=block-size=100 -split-input-file 2>&1 | FileCheck %s --check-prefix=BAD
// BAD: error: --densessm-map-parallel-loops-to-gpu: option 'block-size' must be a multiple of 32 in [32, 1024], found 100

// A 2 x 3 x 5 loop nest: 30 iterations, one block of 64 threads; each
// thread recovers (i, j, k) from its linear index, the last dimension
// fastest, and threads past 30 do nothing.
// CHECK-LABEL: func.func @static_nest
// CHECK: scf.parallel (%[[B:.*]]) = (%{{.*}}) to (%{{.*}}) step
// CHECK:   scf.parallel (%[[T:.*]]) = (%{{.*}}) to (%[[C64:.*]]) step
// CHECK:     %[[BASE:.*]] = arith.muli %[[B]], %{{.*}} : index
// CHECK:     %[[LIN:.*]] = arith.addi %[[BASE]], %[[T]] : index
// CHECK:     %[[IN:.*]] = arith.cmpi ult, %[[LIN]], %[[TOTAL:.*]] : index
// CHECK:     scf.if %[[IN]] {
// CHECK:       %[[K:.*]] = arith.remui %[[LIN]], %[[C5:.*]] : index
// CHECK:       %[[REST:.*]] = arith.divui %[[LIN]], %[[C5]] : index
// CHECK:       %[[J:.*]] = arith.remui %[[REST]], %{{.*}} : index
// CHECK:       %[[I:.*]] = arith.divui %[[REST]], %{{.*}} : index
// CHECK:       memref.load %{{.*}}[%{{.*}}, %{{.*}}, %{{.*}}] : memref<2x3x5xf32>
// CHECK:   } {mapping = [#gpu.loop_dim_map<processor = thread_x, map = (d0) -> (d0), bound = (d0) -> (d0)>]}
// CHECK: } {mapping = [#gpu.loop_dim_map<processor = block_x, map = (d0) -> (d0), bound = (d0) -> (d0)>]}
// LAUNCH-LABEL: func.func @static_nest
// LAUNCH: gpu.launch blocks({{.*}}) in ({{.*}} = %{{.*}}, {{.*}}) threads({{.*}}) in (%{{[a-z0-9_]+}} = %{{.*}}, {{.*}})
func.func @static_nest(%a: memref<2x3x5xf32>, %b: memref<2x3x5xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c5 = arith.constant 5 : index
  scf.parallel (%i, %j, %k) = (%c0, %c0, %c0) to (%c2, %c3, %c5) step (%c1, %c1, %c1) {
    %v = memref.load %a[%i, %j, %k] : memref<2x3x5xf32>
    memref.store %v, %b[%i, %j, %k] : memref<2x3x5xf32>
    scf.reduce
  }
  return
}

// -----

// A dynamic trip count max(0, ceil((n - 1) / 2)): the grid is its ceiling
// division by 64, and nothing is launched for an empty loop (a grid of zero
// blocks is an error in CUDA). The induction variable is lb + index * step.
// CHECK-LABEL: func.func @dynamic_loop
// CHECK-SAME: (%[[N:.*]]: index,
// CHECK: %[[SPAN:.*]] = arith.subi %[[N]], %{{.*}} : index
// CHECK: %[[CEIL:.*]] = arith.ceildivsi %[[SPAN]], %{{.*}} : index
// CHECK: %[[COUNT:.*]] = arith.maxsi %{{.*}}, %[[CEIL]] : index
// CHECK: %[[BLOCKS:.*]] = arith.ceildivui %[[COUNT]], %{{.*}} : index
// CHECK: %[[ANY:.*]] = arith.cmpi ugt, %[[COUNT]], %{{.*}} : index
// CHECK: scf.if %[[ANY]] {
// CHECK:   scf.parallel (%{{.*}}) = (%{{.*}}) to (%[[BLOCKS]]) step
// CHECK:     scf.if
// CHECK:       %[[OFF:.*]] = arith.muli %{{.*}}, %{{.*}} : index
// CHECK:       %[[IV:.*]] = arith.addi %{{.*}}, %[[OFF]] : index
// CHECK:       memref.load %{{.*}}[%[[IV]]] : memref<?xf32>
func.func @dynamic_loop(%n: index, %d: memref<?xf32>) {
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  scf.parallel (%i) = (%c1) to (%n) step (%c2) {
    %v = memref.load %d[%i] : memref<?xf32>
    %w = arith.addf %v, %v : f32
    memref.store %w, %d[%i] : memref<?xf32>
    scf.reduce
  }
  return
}

// -----

// A loop with a reduction stays on the host, unmapped.
// CHECK-LABEL: func.func @reduction
// CHECK: scf.parallel (%{{.*}}) = (%{{.*}}) to (%{{.*}}) step (%{{.*}}) init
// CHECK-NOT: mapping
func.func @reduction(%d: memref<8xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %zero = arith.constant 0.0 : f32
  %sum = scf.parallel (%i) = (%c0) to (%c8) step (%c1) init (%zero) -> f32 {
    %v = memref.load %d[%i] : memref<8xf32>
    scf.reduce(%v : f32) {
    ^bb0(%x: f32, %y: f32):
      %s = arith.addf %x, %y : f32
      scf.reduce.return %s : f32
    }
  }
  return %sum : f32
}
