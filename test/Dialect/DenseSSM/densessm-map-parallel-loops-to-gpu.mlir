// --densessm-map-parallel-loops-to-gpu: each outermost parallel loop of the
// host code becomes blocks x threads over its flattened iteration space,
// ready for --convert-parallel-loops-to-gpu; consecutive independent loops
// share one grid (fuse-siblings); loops with reductions, and loops already
// in kernels, are left alone.
// RUN: densessm-opt %s -densessm-map-parallel-loops-to-gpu=block-size=64 -split-input-file | FileCheck %s
// RUN: densessm-opt %s -densessm-map-parallel-loops-to-gpu=block-size=64 -convert-parallel-loops-to-gpu -split-input-file | FileCheck %s --check-prefix=LAUNCH
// RUN: densessm-opt %s "-densessm-map-parallel-loops-to-gpu=block-size=64 fuse-siblings=false" -split-input-file | FileCheck %s --check-prefix=ALONE
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

// -----

// Two independent loops of 8 and 2 x 3 x 5 points over fresh buffers, an
// allocation between them: one grid over the larger space (30 points, one
// block of 64 threads), each body under its own bound, where the second
// loop was. With fuse-siblings=false, two grids.
// CHECK-LABEL: func.func @siblings
// CHECK: memref.alloc() : memref<2x3x5xf32>
// CHECK: scf.parallel (%[[B:.*]]) = (%{{.*}}) to (%{{.*}}) step
// CHECK:   scf.parallel (%[[T:.*]]) = (%{{.*}}) to (%{{.*}}) step
// CHECK:     %[[LIN:.*]] = arith.addi %{{.*}}, %[[T]] : index
// CHECK:     %[[IN8:.*]] = arith.cmpi ult, %[[LIN]], %c8{{(_[0-9]+)?}} : index
// CHECK:     scf.if %[[IN8]] {
// CHECK:       memref.store %{{.*}} : memref<8xf32>
// CHECK:     %[[IN30:.*]] = arith.cmpi ult, %[[LIN]], %c30{{(_[0-9]+)?}} : index
// CHECK:     scf.if %[[IN30]] {
// CHECK:       memref.store %{{.*}} : memref<2x3x5xf32>
// CHECK-NOT: scf.parallel
// CHECK: return
// ALONE-LABEL: func.func @siblings
// ALONE-COUNT-4: scf.parallel
// ALONE-NOT: scf.parallel
// ALONE: return
func.func @siblings(%x: memref<8xf32>, %y: memref<2x3x5xf32>) -> (memref<8xf32>, memref<2x3x5xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c5 = arith.constant 5 : index
  %c8 = arith.constant 8 : index
  %a = memref.alloc() : memref<8xf32>
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    %v = memref.load %x[%i] : memref<8xf32>
    memref.store %v, %a[%i] : memref<8xf32>
    scf.reduce
  }
  %b = memref.alloc() : memref<2x3x5xf32>
  scf.parallel (%i, %j, %k) = (%c0, %c0, %c0) to (%c2, %c3, %c5) step (%c1, %c1, %c1) {
    %v = memref.load %y[%i, %j, %k] : memref<2x3x5xf32>
    memref.store %v, %b[%i, %j, %k] : memref<2x3x5xf32>
    scf.reduce
  }
  return %a, %b : memref<8xf32>, memref<2x3x5xf32>
}

// -----

// A dynamic space next to a static one: the grid covers the larger of the
// two (maxui), launched when it is not empty.
// CHECK-LABEL: func.func @dynamic_siblings
// CHECK: %[[BOTH:.*]] = arith.maxui %{{.*}}, %c8{{(_[0-9]+)?}} : index
// CHECK: arith.ceildivui %[[BOTH]], %c64{{(_[0-9]+)?}}
// CHECK: %[[ANY:.*]] = arith.cmpi ugt, %[[BOTH]], %c0{{(_[0-9]+)?}}
// CHECK: scf.if %[[ANY]] {
// CHECK-COUNT-2: scf.parallel
// CHECK-NOT: scf.parallel
// CHECK: return
func.func @dynamic_siblings(%n: index, %x: memref<?xf32>, %y: memref<8xf32>) -> (memref<?xf32>, memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %a = memref.alloc(%n) : memref<?xf32>
  %b = memref.alloc() : memref<8xf32>
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    %v = memref.load %x[%i] : memref<?xf32>
    memref.store %v, %a[%i] : memref<?xf32>
    scf.reduce
  }
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    %v = memref.load %y[%i] : memref<8xf32>
    memref.store %v, %b[%i] : memref<8xf32>
    scf.reduce
  }
  return %a, %b : memref<?xf32>, memref<8xf32>
}

// -----

// Not independent: the second loop reads what the first wrote. Two grids.
// CHECK-LABEL: func.func @reads_written
// CHECK-COUNT-4: scf.parallel
// CHECK-NOT: scf.parallel
// CHECK: return
func.func @reads_written(%x: memref<8xf32>) -> (memref<8xf32>, memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %a = memref.alloc() : memref<8xf32>
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    %v = memref.load %x[%i] : memref<8xf32>
    memref.store %v, %a[%i] : memref<8xf32>
    scf.reduce
  }
  %b = memref.alloc() : memref<4xf32>
  scf.parallel (%i) = (%c0) to (%c4) step (%c1) {
    %v = memref.load %a[%i] : memref<8xf32>
    memref.store %v, %b[%i] : memref<4xf32>
    scf.reduce
  }
  return %a, %b : memref<8xf32>, memref<4xf32>
}

// -----

// The second loop writes what the first read. Two grids.
// CHECK-LABEL: func.func @writes_read
// CHECK-COUNT-4: scf.parallel
// CHECK-NOT: scf.parallel
// CHECK: return
func.func @writes_read(%x: memref<8xf32>) -> (memref<8xf32>, memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %f = arith.constant 1.0 : f32
  %a = memref.alloc() : memref<8xf32>
  %b = memref.alloc() : memref<8xf32>
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    %v = memref.load %b[%i] : memref<8xf32>
    memref.store %v, %a[%i] : memref<8xf32>
    scf.reduce
  }
  scf.parallel (%i) = (%c0) to (%c4) step (%c1) {
    memref.store %f, %b[%i] : memref<8xf32>
    scf.reduce
  }
  return %a, %b : memref<8xf32>, memref<8xf32>
}

// -----

// Two arguments, one written and one read: they may be the same buffer.
// Two grids.
// CHECK-LABEL: func.func @arguments
// CHECK-COUNT-4: scf.parallel
// CHECK-NOT: scf.parallel
// CHECK: return
func.func @arguments(%y: memref<8xf32>, %z: memref<4xf32>) -> memref<4xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %f = arith.constant 1.0 : f32
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    memref.store %f, %y[%i] : memref<8xf32>
    scf.reduce
  }
  %b = memref.alloc() : memref<4xf32>
  scf.parallel (%i) = (%c0) to (%c4) step (%c1) {
    %v = memref.load %z[%i] : memref<4xf32>
    memref.store %v, %b[%i] : memref<4xf32>
    scf.reduce
  }
  return %b : memref<4xf32>
}

// -----

// Independent loops with a store to another buffer between them: the
// first loop cannot move past it. Two grids.
// CHECK-LABEL: func.func @store_between
// CHECK-COUNT-4: scf.parallel
// CHECK-NOT: scf.parallel
// CHECK: return
func.func @store_between(%x: memref<8xf32>, %w: memref<8xf32>) -> (memref<8xf32>, memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %f = arith.constant 1.0 : f32
  %a = memref.alloc() : memref<8xf32>
  %b = memref.alloc() : memref<4xf32>
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    %v = memref.load %x[%i] : memref<8xf32>
    memref.store %v, %a[%i] : memref<8xf32>
    scf.reduce
  }
  memref.store %f, %w[%c0] : memref<8xf32>
  scf.parallel (%i) = (%c0) to (%c4) step (%c1) {
    memref.store %f, %b[%i] : memref<4xf32>
    scf.reduce
  }
  return %a, %b : memref<8xf32>, memref<4xf32>
}

// -----

// A loop calling a function (memory it cannot name) stays alone.
// CHECK-LABEL: func.func @call_inside
// CHECK-COUNT-4: scf.parallel
// CHECK-NOT: scf.parallel
// CHECK: return
func.func private @touch(index)
func.func @call_inside(%x: memref<8xf32>) -> memref<8xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %a = memref.alloc() : memref<8xf32>
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    %v = memref.load %x[%i] : memref<8xf32>
    memref.store %v, %a[%i] : memref<8xf32>
    scf.reduce
  }
  scf.parallel (%i) = (%c0) to (%c4) step (%c1) {
    func.call @touch(%i) : (index) -> ()
    scf.reduce
  }
  return %a : memref<8xf32>
}
