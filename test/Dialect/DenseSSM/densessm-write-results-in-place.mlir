// --densessm-write-results-in-place: a buffer allocated in the entry block
// whose last use is a copy into an argument nothing else uses becomes that
// argument; every other copy stays.
// RUN: densessm-opt %s -densessm-write-results-in-place -split-input-file --allow-unregistered-dialect | FileCheck %s

// An entry wrapper's shape: two results computed in buffers of their own,
// then copied out. The dynamic one is written straight into %out0; the
// static one into %out1 through a cast; their deallocations go.
// CHECK-LABEL: func.func @wrapper(
// CHECK-SAME:    %[[X:.*]]: memref<?xf32>, %[[OUT0:.*]]: memref<?xf32>, %[[OUT1:.*]]: memref<?x4xf32>)
// CHECK-NOT:   memref.alloc
// CHECK:       %[[CAST:.*]] = memref.cast %[[OUT1]] : memref<?x4xf32> to memref<2x4xf32>
// CHECK:       "test.compute"(%[[X]], %[[OUT0]], %[[CAST]])
// CHECK-NOT:   memref.copy
// CHECK-NOT:   memref.dealloc
// CHECK:       return
func.func @wrapper(%x: memref<?xf32>, %out0: memref<?xf32>, %out1: memref<?x4xf32>) {
  %c0 = arith.constant 0 : index
  %n = memref.dim %x, %c0 : memref<?xf32>
  %a = memref.alloc(%n) : memref<?xf32>
  %b = memref.alloc() : memref<2x4xf32>
  "test.compute"(%x, %a, %b) : (memref<?xf32>, memref<?xf32>, memref<2x4xf32>) -> ()
  memref.copy %a, %out0 : memref<?xf32> to memref<?xf32>
  memref.copy %b, %out1 : memref<2x4xf32> to memref<?x4xf32>
  memref.dealloc %a : memref<?xf32>
  memref.dealloc %b : memref<2x4xf32>
  return
}

// -----

// Not rewritten: the argument is also read (it would hold the result too
// early), the buffer is used after the copy, a view of the buffer is
// written after the copy, and the copy's source is an argument, not an
// allocation.
// CHECK-LABEL: func.func @kept
// CHECK-COUNT-4: memref.copy
func.func @kept(%x: memref<4xf32>, %out0: memref<4xf32>, %out1: memref<4xf32>, %out2: memref<4xf32>, %out3: memref<4xf32>) {
  %a = memref.alloc() : memref<4xf32>
  "test.compute"(%x, %a, %out0) : (memref<4xf32>, memref<4xf32>, memref<4xf32>) -> ()
  memref.copy %a, %out0 : memref<4xf32> to memref<4xf32>
  %b = memref.alloc() : memref<4xf32>
  "test.compute"(%x, %b) : (memref<4xf32>, memref<4xf32>) -> ()
  memref.copy %b, %out1 : memref<4xf32> to memref<4xf32>
  "test.read"(%b) : (memref<4xf32>) -> ()
  memref.copy %x, %out2 : memref<4xf32> to memref<4xf32>
  %c = memref.alloc() : memref<4xf32>
  %view = memref.subview %c[0] [2] [1] : memref<4xf32> to memref<2xf32, strided<[1]>>
  "test.compute"(%x, %c) : (memref<4xf32>, memref<4xf32>) -> ()
  memref.copy %c, %out3 : memref<4xf32> to memref<4xf32>
  "test.write"(%view) : (memref<2xf32, strided<[1]>>) -> ()
  memref.dealloc %a : memref<4xf32>
  memref.dealloc %b : memref<4xf32>
  memref.dealloc %c : memref<4xf32>
  return
}
