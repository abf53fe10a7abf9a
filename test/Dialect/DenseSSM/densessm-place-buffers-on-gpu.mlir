// --densessm-place-buffers-on-gpu: every buffer of the host code in CUDA
// managed memory — allocations, deallocations, and a managed copy of each
// constant global — and nothing inside kernels changes.
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
