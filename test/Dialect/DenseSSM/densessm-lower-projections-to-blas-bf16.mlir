// RUN: densessm-opt %s --densessm-lower-projections-to-blas | FileCheck %s
// RUN: not densessm-opt %s "--densessm-lower-projections-to-blas=library=cuda" 2>&1 | FileCheck %s --check-prefix=CUDA

// A projection with bf16 weights (--densessm-bf16-projection-weights)
// calls the runtime's bf16-weight GEMM, which widens the weights as it
// reads them; one with f32 weights in the same module still calls the f32
// one.

#x = affine_map<(b, l, o, i) -> (b, l, i)>
#w = affine_map<(b, l, o, i) -> (o, i)>
#y = affine_map<(b, l, o, i) -> (b, l, o)>

// CHECK-DAG: func.func private @densessm_cpu_linear_f32_bf16(memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, memref<?x?xbf16, strided<[?, ?], offset: ?>>) attributes {llvm.emit_c_interface}
// CHECK-DAG: func.func private @densessm_cpu_linear_f32(memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>) attributes {llvm.emit_c_interface}
// CHECK-LABEL: func.func @mixed(
// CHECK-SAME:    %[[X:.*]]: memref<?x?x32xf32>, %[[WB:.*]]: memref<64x32xbf16>, %[[WF:.*]]: memref<64x32xf32>
// CHECK:         %[[WBC:.*]] = memref.cast %[[WB]] : memref<64x32xbf16> to memref<?x?xbf16, strided<[?, ?], offset: ?>>
// CHECK:         call @densessm_cpu_linear_f32_bf16(%{{.*}}, %{{.*}}, %[[WBC]])
// CHECK:         %[[WFC:.*]] = memref.cast %[[WF]] : memref<64x32xf32> to memref<?x?xf32, strided<[?, ?], offset: ?>>
// CHECK:         call @densessm_cpu_linear_f32(%{{.*}}, %{{.*}}, %[[WFC]])
// CHECK-NOT:     linalg.contract

// cuBLAS has no bf16-weight entry point yet: an error, not a silent
// fallback to the generated loops.
// CUDA: error: --densessm-lower-projections-to-blas: cuBLAS projections take f32 weights; bf16 weights (--weight-type=bf16) are not supported with library=cuda yet
func.func @mixed(%x: memref<?x?x32xf32>, %wb: memref<64x32xbf16>, %wf: memref<64x32xf32>,
                 %y: memref<?x?x64xf32>, %z: memref<?x?x64xf32>) {
  linalg.contract indexing_maps = [#x, #w, #y]
    ins(%x, %wb : memref<?x?x32xf32>, memref<64x32xbf16>) outs(%y : memref<?x?x64xf32>)
  linalg.contract indexing_maps = [#x, #w, #y]
    ins(%x, %wf : memref<?x?x32xf32>, memref<64x32xf32>) outs(%z : memref<?x?x64xf32>)
  return
}
