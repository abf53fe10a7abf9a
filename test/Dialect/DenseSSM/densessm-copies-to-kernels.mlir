// --densessm-copies-to-kernels: ranked copies in host code become
// linalg.copy (GPU kernels, later in the CUDA pipeline); copies inside
// kernels and unranked copies stay.
// RUN: densessm-opt %s -densessm-copies-to-kernels -split-input-file | FileCheck %s

// CHECK-LABEL: func.func @window
// CHECK-SAME: (%[[STATE:.*]]: memref<2x3x8xf32>, %[[X:.*]]: memref<2x1x8xf32>, %[[W:.*]]: memref<2x4x8xf32>)
// CHECK: %[[OLD:.*]] = memref.subview %[[W]][0, 0, 0] [2, 3, 8] [1, 1, 1]
// CHECK: linalg.copy ins(%[[STATE]] : memref<2x3x8xf32>) outs(%[[OLD]] : memref<2x3x8xf32, strided<[32, 8, 1]>>)
// CHECK: %[[NEW:.*]] = memref.subview %[[W]][0, 3, 0] [2, 1, 8] [1, 1, 1]
// CHECK: linalg.copy ins(%[[X]] : memref<2x1x8xf32>) outs(%[[NEW]] : memref<2x1x8xf32, strided<[32, 8, 1], offset: 24>>)
// CHECK-NOT: memref.copy
func.func @window(%state: memref<2x3x8xf32>, %x: memref<2x1x8xf32>, %w: memref<2x4x8xf32>) {
  %old = memref.subview %w[0, 0, 0] [2, 3, 8] [1, 1, 1] : memref<2x4x8xf32> to memref<2x3x8xf32, strided<[32, 8, 1]>>
  memref.copy %state, %old : memref<2x3x8xf32> to memref<2x3x8xf32, strided<[32, 8, 1]>>
  %new = memref.subview %w[0, 3, 0] [2, 1, 8] [1, 1, 1] : memref<2x4x8xf32> to memref<2x1x8xf32, strided<[32, 8, 1], offset: 24>>
  memref.copy %x, %new : memref<2x1x8xf32> to memref<2x1x8xf32, strided<[32, 8, 1], offset: 24>>
  return
}

// -----

// CHECK-LABEL: func.func @left_alone
// CHECK: memref.copy %{{.*}}, %{{.*}} : memref<*xf32> to memref<*xf32>
// CHECK: gpu.launch
// CHECK: memref.copy %{{.*}}, %{{.*}} : memref<4xf32> to memref<4xf32>
func.func @left_alone(%a: memref<*xf32>, %b: memref<*xf32>, %c: memref<4xf32>, %d: memref<4xf32>) {
  %c1 = arith.constant 1 : index
  memref.copy %a, %b : memref<*xf32> to memref<*xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    memref.copy %c, %d : memref<4xf32> to memref<4xf32>
    gpu.terminator
  }
  return
}
