// --densessm-place-buffers-on-gpu: every buffer of the host code in GPU
// memory — allocations, deallocations, and a managed copy of each constant
// global — and nothing inside kernels changes. Buffers the host code reads
// or writes are managed (host_shared); those only kernels and the GPU
// library calls use are device memory.
// RUN: densessm-opt %s -densessm-place-buffers-on-gpu -split-input-file | FileCheck %s

// CHECK-LABEL: func.func @buffers
// CHECK-SAME: (%[[N:.*]]: index,
// The constant is copied once, at the entry, into managed memory:
// CHECK: %[[HOST:.*]] = memref.get_global @table : memref<4xf32>
// CHECK: %[[TABLE:.*]] = gpu.alloc  host_shared () : memref<4xf32>
// CHECK: %[[S0:.*]] = gpu.wait async
// CHECK: %[[CP:.*]] = gpu.memcpy async [%[[S0]]] %[[TABLE]], %[[HOST]] : memref<4xf32>, memref<4xf32>
// CHECK: gpu.wait [%[[CP]]]
// CHECK: %[[TMP:.*]] = gpu.alloc  host_shared (%[[N]]) : memref<?xf32>
// CHECK: %[[OUT:.*]] = gpu.alloc  host_shared (%[[N]]) : memref<?xf32>
// CHECK-NOT: memref.alloc
// CHECK: memref.load %[[TABLE]]
// CHECK: memref.copy %[[TMP]], %[[OUT]]
// CHECK: %[[S1:.*]] = gpu.wait async
// CHECK: %[[FREE:.*]] = gpu.dealloc async [%[[S1]]] %[[TMP]] : memref<?xf32>
// CHECK: gpu.wait [%[[FREE]]]
// CHECK-NOT: memref.dealloc
// and freed before the return; the returned buffer is the caller's.
// CHECK: gpu.dealloc async [%{{.*}}] %[[TABLE]] : memref<4xf32>
// CHECK: return %[[OUT]]
memref.global "private" constant @table : memref<4xf32> = dense<[1.0, 2.0, 3.0, 4.0]>
func.func @buffers(%n: index, %x: memref<?xf32>) -> memref<?xf32> {
  %c0 = arith.constant 0 : index
  %tmp = memref.alloc(%n) : memref<?xf32>
  %out = memref.alloc(%n) : memref<?xf32>
  %t = memref.get_global @table : memref<4xf32>
  %v = memref.load %t[%c0] : memref<4xf32>
  memref.store %v, %tmp[%c0] : memref<?xf32>
  memref.copy %tmp, %out : memref<?xf32> to memref<?xf32>
  memref.dealloc %tmp : memref<?xf32>
  return %out : memref<?xf32>
}

// -----

// Kernels are left alone.
// CHECK-LABEL: gpu.func @kernel
// CHECK: memref.alloca() : memref<4xf32>
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @kernel(%m: memref<4xf32>) kernel {
      %c0 = arith.constant 0 : index
      %a = memref.alloca() : memref<4xf32>
      %v = memref.load %m[%c0] : memref<4xf32>
      memref.store %v, %a[%c0] : memref<4xf32>
      gpu.return
    }
  }
}

// -----

// A temporary that only kernels use (directly and through a view) and the
// runtime's cuBLAS call reads is device memory; the one the host code
// copies out stays managed.
// CHECK-LABEL: func.func @device_temporary
// CHECK: %[[S0:.*]] = gpu.wait async
// CHECK: %[[TMP:.*]], %[[A:.*]] = gpu.alloc async [%[[S0]]] (%{{.*}}) : memref<?xf32>
// CHECK: gpu.wait [%[[A]]]
// CHECK: %[[OUT:.*]] = gpu.alloc  host_shared (%{{.*}}) : memref<?xf32>
// CHECK: gpu.launch_func @kernels::@fill {{.*}} args(%[[TMP]] : memref<?xf32>)
// CHECK: %[[VIEW:.*]] = memref.expand_shape %[[TMP]]
// CHECK: gpu.launch_func @kernels::@read {{.*}} args(%[[VIEW]] : memref<1x?xf32>, %[[OUT]] : memref<?xf32>)
// CHECK: call @densessm_cuda_linear_f32(%[[TMP]])
// CHECK: memref.copy %[[OUT]], %{{.*}}
// CHECK: gpu.dealloc async [%{{.*}}] %[[TMP]]
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @fill(%m: memref<?xf32>) kernel { gpu.return }
    gpu.func @read(%m: memref<1x?xf32>, %o: memref<?xf32>) kernel { gpu.return }
  }
  func.func private @densessm_cuda_linear_f32(memref<?xf32>)
  func.func @device_temporary(%n: index, %result: memref<?xf32>) {
    %c1 = arith.constant 1 : index
    %tmp = memref.alloc(%n) : memref<?xf32>
    %out = memref.alloc(%n) : memref<?xf32>
    gpu.launch_func @kernels::@fill blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%tmp : memref<?xf32>)
    %view = memref.expand_shape %tmp [[0, 1]] output_shape [1, %n] : memref<?xf32> into memref<1x?xf32>
    gpu.launch_func @kernels::@read blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%view : memref<1x?xf32>, %out : memref<?xf32>)
    func.call @densessm_cuda_linear_f32(%tmp) : (memref<?xf32>) -> ()
    memref.copy %out, %result : memref<?xf32> to memref<?xf32>
    memref.dealloc %tmp : memref<?xf32>
    memref.dealloc %out : memref<?xf32>
    return
  }
}
