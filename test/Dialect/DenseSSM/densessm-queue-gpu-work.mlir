// RUN: densessm-opt %s --densessm-queue-gpu-work | FileCheck %s

// A function whose host code only launches kernels, manages buffers and
// calls the runtime's projection is bracketed by the queue's begin and
// end (before every return); one whose host code loads from a buffer, or
// calls another function, is left alone.

module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @kernel(%buffer: memref<4xf32>) kernel {
      gpu.return
    }
  }
  func.func private @densessm_cuda_linear_f32(memref<1x1x4xf32>, memref<1x1x4xf32>, memref<4x4xf32>)
  func.func private @something_else()

  // CHECK-DAG: func.func private @densessm_cuda_queue_begin()
  // CHECK-DAG: func.func private @densessm_cuda_queue_end()

  // CHECK-LABEL: func.func @only_kernels(
  // CHECK-NEXT:    call @densessm_cuda_queue_begin() : () -> ()
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

  // CHECK-LABEL: func.func @calls_another(
  // CHECK-NOT:     densessm_cuda_queue
  // CHECK:         return
  func.func @calls_another() {
    func.call @something_else() : () -> ()
    return
  }
}
