// RUN: densessm-opt %s --densessm-lower-projections-to-blas --split-input-file | FileCheck %s
// RUN: densessm-opt %s "--densessm-lower-projections-to-blas=library=cuda" --split-input-file | FileCheck %s --check-prefix=CUDA

// A projection with bf16 weights (--densessm-narrow-projection-weights)
// calls the runtime's bf16-weight GEMM, which widens the weights as it
// reads them; one with f32 weights in the same module still calls the f32
// one.

#x = affine_map<(b, l, o, i) -> (b, l, i)>
#w = affine_map<(b, l, o, i) -> (o, i)>
#y = affine_map<(b, l, o, i) -> (b, l, o)>

// CHECK-DAG: func.func private @densessm_cpu_linear_f32_bf16(memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, memref<?x?xbf16, strided<[?, ?], offset: ?>>) attributes {densessm.written_arguments = array<i64: 0>, llvm.emit_c_interface}
// CHECK-DAG: func.func private @densessm_cpu_linear_f32(memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>) attributes {densessm.written_arguments = array<i64: 0>, llvm.emit_c_interface}
// CHECK-LABEL: func.func @mixed(
// CHECK-SAME:    %[[X:.*]]: memref<?x?x32xf32>, %[[WB:.*]]: memref<64x32xbf16>, %[[WF:.*]]: memref<64x32xf32>
// CHECK:         %[[WBC:.*]] = memref.cast %[[WB]] : memref<64x32xbf16> to memref<?x?xbf16, strided<[?, ?], offset: ?>>
// CHECK:         call @densessm_cpu_linear_f32_bf16(%{{.*}}, %{{.*}}, %[[WBC]])
// CHECK:         %[[WFC:.*]] = memref.cast %[[WF]] : memref<64x32xf32> to memref<?x?xf32, strided<[?, ?], offset: ?>>
// CHECK:         call @densessm_cpu_linear_f32(%{{.*}}, %{{.*}}, %[[WFC]])
// CHECK-NOT:     linalg.contract

// cuBLAS's GEMM takes one element type for both factors: the bf16 weight
// is widened into a new f32 buffer (a linalg.generic, which the CUDA
// pipeline runs as a kernel) and the f32 entry point is called on it.
// CUDA-LABEL: func.func @mixed(
// CUDA-SAME:    %[[X:.*]]: memref<?x?x32xf32>, %[[WB:.*]]: memref<64x32xbf16>, %[[WF:.*]]: memref<64x32xf32>
// CUDA:         %[[WIDE:.*]] = memref.alloc() : memref<64x32xf32>
// CUDA:         linalg.generic {{.*}} ins(%[[WB]] : memref<64x32xbf16>) outs(%[[WIDE]] : memref<64x32xf32>)
// CUDA:           arith.extf %{{.*}} : bf16 to f32
// CUDA:         %[[WIDEC:.*]] = memref.cast %[[WIDE]] : memref<64x32xf32> to memref<?x?xf32, strided<[?, ?], offset: ?>>
// CUDA:         call @densessm_cuda_linear_f32(%{{.*}}, %{{.*}}, %[[WIDEC]])
// CUDA:         %[[WFC:.*]] = memref.cast %[[WF]] : memref<64x32xf32> to memref<?x?xf32, strided<[?, ?], offset: ?>>
// CUDA:         call @densessm_cuda_linear_f32(%{{.*}}, %{{.*}}, %[[WFC]])
// CUDA-NOT:     linalg.contract
// CUDA-NOT:     _bf16
func.func @mixed(%x: memref<?x?x32xf32>, %wb: memref<64x32xbf16>, %wf: memref<64x32xf32>,
                 %y: memref<?x?x64xf32>, %z: memref<?x?x64xf32>) {
  linalg.contract indexing_maps = [#x, #w, #y]
    ins(%x, %wb : memref<?x?x32xf32>, memref<64x32xbf16>) outs(%y : memref<?x?x64xf32>)
  linalg.contract indexing_maps = [#x, #w, #y]
    ins(%x, %wf : memref<?x?x32xf32>, memref<64x32xf32>) outs(%z : memref<?x?x64xf32>)
  return
}

// -----

#x = affine_map<(b, l, o, i) -> (b, l, i)>
#w = affine_map<(b, l, o, i) -> (o, i)>
#y = affine_map<(b, l, o, i) -> (b, l, o)>

// f16 weights: the CPU runtime's f16 entry point; the CUDA lowering widens
// them as it widens bf16 ones, here with a dynamic size.
// CHECK-LABEL: func.func @half(
// CHECK:         call @densessm_cpu_linear_f32_f16(%{{.*}}, %{{.*}}, %{{.*}}) : ({{.*}}, memref<?x?xf16, strided<[?, ?], offset: ?>>) -> ()
// CUDA-LABEL: func.func @half(
// CUDA:         %[[O:.*]] = memref.dim %{{.*}}, %c0
// CUDA:         memref.alloc(%[[O]]) : memref<?x32xf32>
// CUDA:           arith.extf %{{.*}} : f16 to f32
// CUDA:         call @densessm_cuda_linear_f32(
func.func @half(%x: memref<1x1x32xf32>, %w: memref<?x32xf16>, %y: memref<1x1x?xf32>) {
  linalg.contract indexing_maps = [#x, #w, #y]
    ins(%x, %w : memref<1x1x32xf32>, memref<?x32xf16>) outs(%y : memref<1x1x?xf32>)
  return
}
