// RUN: densessm-opt %s --densessm-lower-projections-to-blas --split-input-file | FileCheck %s
// RUN: densessm-opt %s "--densessm-lower-projections-to-blas=library=cpu" --split-input-file | FileCheck %s
// RUN: densessm-opt %s "--densessm-lower-projections-to-blas=library=cuda" --split-input-file | FileCheck %s --check-prefix=CUDA
// RUN: not densessm-opt %s "--densessm-lower-projections-to-blas=library=rocm" --split-input-file 2>&1 | FileCheck %s --check-prefix=BAD

// library=cuda (the CUDA pipeline): the same rewrite, calling the
// runtime's cuBLAS GEMM instead of OpenBLAS's.
// CUDA-NOT: densessm_cpu_linear_f32
// CUDA: func.func private @densessm_cuda_linear_f32(memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>) attributes {densessm.written_arguments = array<i64: 0>, llvm.emit_c_interface}
// CUDA-LABEL: func.func @projection(
// CUDA:         call @densessm_cuda_linear_f32(
// CUDA-NOT:     linalg.contract
// CUDA-LABEL: func.func @strided_input(
// CUDA:         call @densessm_cuda_linear_f32(
// CUDA-LABEL: func.func @not_projections(
// CUDA-NOT:     call
// CUDA-NOT: densessm_cpu_linear_f32

// BAD: error: --densessm-lower-projections-to-blas: unknown library 'rocm' (expected cpu or cuda)

// A model's projection on buffers, y[b, l, o] += x[b, l, i] * w[o, i],
// becomes one call of the runtime's GEMM through fully dynamic memrefs.

#x = affine_map<(b, l, o, i) -> (b, l, i)>
#w = affine_map<(b, l, o, i) -> (o, i)>
#y = affine_map<(b, l, o, i) -> (b, l, o)>

// CHECK: func.func private @densessm_cpu_linear_f32(memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>) attributes {densessm.written_arguments = array<i64: 0>, llvm.emit_c_interface}
// CHECK-LABEL: func.func @projection(
// CHECK-SAME:    %[[X:.*]]: memref<?x?x32xf32>, %[[W:.*]]: memref<64x32xf32>, %[[Y:.*]]: memref<?x?x64xf32>
// CHECK-DAG:     %[[XC:.*]] = memref.cast %[[X]] : memref<?x?x32xf32> to memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>
// CHECK-DAG:     %[[WC:.*]] = memref.cast %[[W]] : memref<64x32xf32> to memref<?x?xf32, strided<[?, ?], offset: ?>>
// CHECK-DAG:     %[[YC:.*]] = memref.cast %[[Y]] : memref<?x?x64xf32> to memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>
// CHECK:         call @densessm_cpu_linear_f32(%[[YC]], %[[XC]], %[[WC]])
// CHECK-NOT:     linalg.contract
func.func @projection(%x: memref<?x?x32xf32>, %w: memref<64x32xf32>, %y: memref<?x?x64xf32>) {
  linalg.contract indexing_maps = [#x, #w, #y]
    ins(%x, %w : memref<?x?x32xf32>, memref<64x32xf32>) outs(%y : memref<?x?x64xf32>)
  return
}

// -----

// A strided slice of the input (Mamba's dt rank columns of x_proj's output)
// is passed with its strides: the runtime hands BLAS the leading dimension.

#x = affine_map<(b, l, o, i) -> (b, l, i)>
#w = affine_map<(b, l, o, i) -> (o, i)>
#y = affine_map<(b, l, o, i) -> (b, l, o)>

// CHECK-LABEL: func.func @strided_input(
// CHECK:         memref.subview
// CHECK:         call @densessm_cpu_linear_f32
func.func @strided_input(%dbc: memref<1x8x18xf32>, %w: memref<64x2xf32>, %y: memref<1x8x64xf32>) {
  %dt = memref.subview %dbc[0, 0, 0] [1, 8, 2] [1, 1, 1] : memref<1x8x18xf32> to memref<1x8x2xf32, strided<[144, 18, 1]>>
  linalg.contract indexing_maps = [#x, #w, #y]
    ins(%dt, %w : memref<1x8x2xf32, strided<[144, 18, 1]>>, memref<64x2xf32>) outs(%y : memref<1x8x64xf32>)
  return
}

// -----

// Left alone: other contractions (here a plain matmul with the weight not
// transposed) and projections still on tensors.

#x = affine_map<(b, l, o, i) -> (b, l, i)>
#w = affine_map<(b, l, o, i) -> (o, i)>
#y = affine_map<(b, l, o, i) -> (b, l, o)>

// CHECK-LABEL: func.func @not_projections(
// CHECK-NOT:     call @densessm_cpu_linear_f32
// CHECK:         linalg.matmul
// CHECK:         linalg.contract
func.func @not_projections(%a: memref<8x32xf32>, %b: memref<32x64xf32>, %c: memref<8x64xf32>,
                           %x: tensor<1x8x32xf32>, %w: tensor<64x32xf32>, %y: tensor<1x8x64xf32>) -> tensor<1x8x64xf32> {
  linalg.matmul ins(%a, %b : memref<8x32xf32>, memref<32x64xf32>) outs(%c : memref<8x64xf32>)
  %r = linalg.contract indexing_maps = [#x, #w, #y]
    ins(%x, %w : tensor<1x8x32xf32>, tensor<64x32xf32>) outs(%y : tensor<1x8x64xf32>) -> tensor<1x8x64xf32>
  return %r : tensor<1x8x64xf32>
}
