// RUN: densessm-opt %s --densessm-gather-parallel-loops --split-input-file | FileCheck %s
// RUN: densessm-opt %s --densessm-gather-parallel-loops --scf-parallel-loop-fusion --split-input-file | FileCheck %s --check-prefix=FUSED

// Two independent loops of the same bounds, each writing a buffer
// allocated (with a view and index arithmetic) right before it: the ops
// between move up before the first loop, the loops become adjacent, and
// upstream's fusion makes them one. The cast after the last loop stays
// there (no loop follows it).
// CHECK-LABEL: func.func @siblings(
// CHECK:         %[[A:.*]] = memref.alloc(%{{.*}}) : memref<?x8xf32>
// CHECK:         %[[N:.*]] = arith.addi
// CHECK:         %[[B:.*]] = memref.alloc(%[[N]]) : memref<?x8xf32>
// CHECK:         %[[V:.*]] = memref.subview %[[B]]
// CHECK:         scf.parallel
// CHECK:           memref.store %{{.*}}, %[[A]]
// CHECK:         scf.parallel
// CHECK:           memref.store %{{.*}}, %[[V]]
// CHECK:         scf.reduce
// CHECK-NEXT:    }
// CHECK-NEXT:    memref.cast
// FUSED-LABEL: func.func @siblings(
// FUSED-COUNT-1: scf.parallel
// FUSED-NOT:     scf.parallel
func.func @siblings(%p: memref<?x8xf32>, %q: memref<?x8xf32>, %n: index) -> (memref<?x8xf32>, memref<?x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %a = memref.alloc(%n) : memref<?x8xf32>
  scf.parallel (%i, %j) = (%c0, %c0) to (%n, %c8) step (%c1, %c1) {
    %v = memref.load %p[%i, %j] : memref<?x8xf32>
    %w = arith.addf %v, %v : f32
    memref.store %w, %a[%i, %j] : memref<?x8xf32>
    scf.reduce
  }
  %m = arith.addi %n, %c1 : index
  %b = memref.alloc(%m) : memref<?x8xf32>
  %view = memref.subview %b[0, 0] [%n, 8] [1, 1] : memref<?x8xf32> to memref<?x8xf32, strided<[8, 1]>>
  scf.parallel (%i, %j) = (%c0, %c0) to (%n, %c8) step (%c1, %c1) {
    %v = memref.load %q[%i, %j] : memref<?x8xf32>
    %w = arith.mulf %v, %v : f32
    memref.store %w, %view[%i, %j] : memref<?x8xf32, strided<[8, 1]>>
    scf.reduce
  }
  %unranked = memref.cast %b : memref<?x8xf32> to memref<*xf32>
  return %a, %b : memref<?x8xf32>, memref<?x8xf32>
}

// -----

// A store between the loops ends the run: the allocation after it stays
// where it is.
// CHECK-LABEL: func.func @store_between(
// FUSED-LABEL: func.func @store_between(
// CHECK:         scf.parallel
// CHECK:         memref.store %{{.*}}, %{{.*}}[%c0]
// CHECK-NEXT:    %[[B:.*]] = memref.alloc
// CHECK-NEXT:    scf.parallel
func.func @store_between(%p: memref<?xf32>, %n: index, %x: f32) -> (memref<?xf32>, memref<?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %a = memref.alloc(%n) : memref<?xf32>
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    %v = memref.load %p[%i] : memref<?xf32>
    memref.store %v, %a[%i] : memref<?xf32>
    scf.reduce
  }
  memref.store %x, %p[%c0] : memref<?xf32>
  %b = memref.alloc(%n) : memref<?xf32>
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    %v = memref.load %p[%i] : memref<?xf32>
    memref.store %v, %b[%i] : memref<?xf32>
    scf.reduce
  }
  return %a, %b : memref<?xf32>, memref<?xf32>
}

// -----

// An allocation sized by a loop's result cannot move before that loop: it
// stays, and ends the run.
// CHECK-LABEL: func.func @sized_by_a_loop(
// CHECK:         %[[S:.*]] = scf.parallel
// CHECK:         %[[K:.*]] = arith.fptoui %[[S]]
// CHECK-NEXT:    %[[M:.*]] = arith.index_cast %[[K]]
// CHECK-NEXT:    memref.alloc(%[[M]])
// CHECK-NEXT:    scf.parallel
func.func @sized_by_a_loop(%p: memref<?xf32>, %n: index) -> memref<?xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  %s = scf.parallel (%i) = (%c0) to (%n) step (%c1) init (%zero) -> f32 {
    %v = memref.load %p[%i] : memref<?xf32>
    scf.reduce(%v : f32) {
    ^bb0(%l: f32, %r: f32):
      %t = arith.addf %l, %r : f32
      scf.reduce.return %t : f32
    }
  }
  %k = arith.fptoui %s : f32 to i64
  %m = arith.index_cast %k : i64 to index
  %b = memref.alloc(%m) : memref<?xf32>
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    %v = memref.load %p[%i] : memref<?xf32>
    memref.store %v, %b[%i] : memref<?xf32>
    scf.reduce
  }
  return %b : memref<?xf32>
}
