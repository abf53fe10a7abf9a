// --densessm-free-buffers-after-last-use: each dealloc moves up to just
// after the last operation of its block that uses the buffer or a view of
// it; uses in nested regions count at their ancestor in the block.
// RUN: densessm-opt %s -densessm-free-buffers-after-last-use -split-input-file --allow-unregistered-dialect | FileCheck %s

// Two layers' temporaries, freed at the end by buffer deallocation: %a dies
// after the copy that reads it, %b (read through a subview inside a loop)
// after the loop.
// CHECK-LABEL: func.func @layers
// CHECK:       %[[A:.*]] = memref.alloc() : memref<16xf32>
// CHECK:       %[[B:.*]] = memref.alloc() : memref<16xf32>
// CHECK:       linalg.fill {{.*}} outs(%[[A]]
// CHECK-NEXT:  memref.copy %[[A]], %[[B]]
// CHECK-NEXT:  memref.dealloc %[[A]]
// CHECK-NEXT:  %[[VIEW:.*]] = memref.subview %[[B]]
// CHECK:       scf.for
// CHECK:         memref.load %[[VIEW]]
// CHECK:       }
// CHECK-NEXT:  memref.dealloc %[[B]]
// CHECK-NEXT:  "test.other"()
// CHECK-NEXT:  return
func.func @layers(%x: f32, %out: memref<8xf32>) {
  %a = memref.alloc() : memref<16xf32>
  %b = memref.alloc() : memref<16xf32>
  linalg.fill ins(%x : f32) outs(%a : memref<16xf32>)
  memref.copy %a, %b : memref<16xf32> to memref<16xf32>
  %view = memref.subview %b[8] [8] [1] : memref<16xf32> to memref<8xf32, strided<[1], offset: 8>>
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  scf.for %i = %c0 to %c8 step %c1 {
    %v = memref.load %view[%i] : memref<8xf32, strided<[1], offset: 8>>
    memref.store %v, %out[%i] : memref<8xf32>
  }
  "test.other"() : () -> ()
  memref.dealloc %a : memref<16xf32>
  memref.dealloc %b : memref<16xf32>
  return
}

// -----

// A buffer nothing uses is freed right after its allocation. A dealloc in
// a nested block whose buffer is also used outside that block stays where
// it is.
// CHECK-LABEL: func.func @unused_and_outside
// CHECK:       %[[U:.*]] = memref.alloc() : memref<4xf32>
// CHECK-NEXT:  memref.dealloc %[[U]]
// CHECK:       scf.execute_region
// CHECK:         "test.use"(%[[O:.*]]) :
// CHECK-NEXT:    memref.dealloc %[[O]]
func.func @unused_and_outside(%x: f32) {
  %u = memref.alloc() : memref<4xf32>
  %o = memref.alloc() : memref<4xf32>
  "test.use"(%o) : (memref<4xf32>) -> ()
  scf.execute_region {
    "test.use"(%o) : (memref<4xf32>) -> ()
    memref.dealloc %o : memref<4xf32>
    scf.yield
  }
  "test.other"() : () -> ()
  memref.dealloc %u : memref<4xf32>
  return
}
