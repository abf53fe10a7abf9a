// RUN: densessm-opt %s --densessm-queue-gpu-work | FileCheck %s

// A function whose host code only launches kernels, manages buffers and
// calls the runtime's projection is bracketed by the queue's begin and
// end (before every return); one whose host code reads or writes a buffer
// (a load, a loop's store), or calls another function, is left alone.
// The queue's key is the xxh3 hash of the function's name: pinned here,
// since the runtime's CUDA graph of a function is found by it.

module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @kernel(%buffer: memref<4xf32>) kernel {
      gpu.return
    }
  }
  func.func private @densessm_cuda_linear_f32(memref<1x1x4xf32>, memref<1x1x4xf32>, memref<4x4xf32>)
  func.func private @something_else()

  // CHECK-DAG: func.func private @densessm_cuda_queue_begin(i64)
  // CHECK-DAG: func.func private @densessm_cuda_queue_end()

  // CHECK-LABEL: func.func @only_kernels(
  // CHECK-NEXT:    %[[KEY:.*]] = arith.constant -6028725775881853503 : i64
  // CHECK-NEXT:    call @densessm_cuda_queue_begin(%[[KEY]]) : (i64) -> ()
  // CHECK:         gpu.launch_func
  // CHECK:         call @densessm_cuda_linear_f32
  // CHECK:       ^bb1:
  // CHECK-NEXT:    call @densessm_cuda_queue_end() : () -> ()
  // CHECK-NEXT:    return
  // CHECK:       ^bb2:
  // CHECK-NEXT:    call @densessm_cuda_queue_end() : () -> ()
  // CHECK-NEXT:    return
  func.func @only_kernels(%x: memref<1x1x4xf32>, %w: memref<4x4xf32>, %early: i1) {
    %c1 = arith.constant 1 : index
    %buffer = gpu.alloc () : memref<4xf32>
    gpu.launch_func @kernels::@kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%buffer : memref<4xf32>)
    func.call @densessm_cuda_linear_f32(%x, %x, %w) : (memref<1x1x4xf32>, memref<1x1x4xf32>, memref<4x4xf32>) -> ()
    gpu.dealloc %buffer : memref<4xf32>
    cf.cond_br %early, ^early, ^late
  ^early:
    return
  ^late:
    return
  }

  // CHECK-LABEL: func.func @reads_a_buffer(
  // CHECK-NOT:     densessm_cuda_queue
  // CHECK:         return
  func.func @reads_a_buffer(%buffer: memref<4xf32>) -> f32 {
    %c0 = arith.constant 0 : index
    %value = memref.load %buffer[%c0] : memref<4xf32>
    return %value : f32
  }

  // A kernel not yet outlined is GPU code, loads and all.
  // CHECK-LABEL: func.func @inline_kernel(
  // CHECK-NEXT:    arith.constant 3821675123036893908 : i64
  // CHECK-NEXT:    call @densessm_cuda_queue_begin(
  func.func @inline_kernel(%buffer: memref<4xf32>) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    gpu.launch blocks(%bx, %by, %bz) in (%x = %c1, %y = %c1, %z = %c1)
               threads(%tx, %ty, %tz) in (%a = %c1, %b = %c1, %c = %c1) {
      %value = memref.load %buffer[%c0] : memref<4xf32>
      memref.store %value, %buffer[%c1] : memref<4xf32>
      gpu.terminator
    }
    return
  }

  // A host loop that stores into a buffer (what linalg-to-gpu=false leaves).
  // CHECK-LABEL: func.func @host_loop(
  // CHECK-NOT:     densessm_cuda_queue
  // CHECK:         return
  func.func @host_loop(%buffer: memref<4xf32>) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c4 = arith.constant 4 : index
    %zero = arith.constant 0.0 : f32
    scf.for %i = %c0 to %c4 step %c1 {
      memref.store %zero, %buffer[%i] : memref<4xf32>
    }
    return
  }

  // CHECK-LABEL: func.func @calls_another(
  // CHECK-NOT:     densessm_cuda_queue
  // CHECK:         return
  func.func @calls_another() {
    func.call @something_else() : () -> ()
    return
  }
}
