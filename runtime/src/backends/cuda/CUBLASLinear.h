//===- CUBLASLinear.h - a projection as cuBLAS calls ------------*- C++ -*-===//
//
// y[b, l, o] += sum_i x[b, l, i] * w[o, i] on strided row-major memrefs,
// issued as cuBLAS SGEMM/SGEMV calls on a handle: the semantics of the CPU
// entry point (runtime/src/backends/cpu/Projection.cpp), for the CUDA one
// (CUDAProjection.cpp). Separate from the entry point, which needs a GPU,
// so that the layout mapping is tested on any machine against a host
// implementation of the two cuBLAS functions (test/unit/runtime/).
//
//===----------------------------------------------------------------------===//
#ifndef DENSESSM_RUNTIME_SRC_BACKENDS_CUDA_CUBLASLINEAR_H
#define DENSESSM_RUNTIME_SRC_BACKENDS_CUDA_CUBLASLINEAR_H

#include "CUBLAS.h"
#include "backends/StridedMemRef.h"

#include <cstdint>

namespace densessm::runtime {


/// Issues y += x w^T on `handle` (asynchronously, on its stream). Every
/// layout the CPU entry point takes is handled: contiguous rows (one GEMM,
/// or GEMV for a single row), rows with a leading dimension (a strided
/// slice), batches that do not collapse into rows (a GEMM each), and
/// non-unit innermost strides (a GEMV per row). Sizes beyond cuBLAS's
/// 32-bit integers and non-positive strides are errors.
Status linearOnCUBLAS(const CUBLAS &blas, cublasHandle_t handle,
                      const StridedMemRefF32<3> &y,
                      const StridedMemRefF32<3> &x,
                      const StridedMemRefF32<2> &w);

} // namespace densessm::runtime

#endif // DENSESSM_RUNTIME_SRC_BACKENDS_CUDA_CUBLASLINEAR_H
