//===- CUBLAS.h - the cuBLAS entry points, loaded at run time ---*- C++ -*-===//
//
// The projections of CUDA modules run on cuBLAS (CUDAProjection.cpp). Like
// the driver (CUDADriver.h), cuBLAS is never linked: the runtime opens it
// with dlopen on the first projection and resolves the few entry points it
// uses into this table, so the runtime builds without the CUDA toolkit and
// runs on machines without a GPU. The types and enumerators are cuBLAS's
// (cublas_api.h), declared here as opaque handles and integers with the
// values of the cuBLAS API, which are part of its stable ABI.
//
//===----------------------------------------------------------------------===//
#ifndef DENSESSM_RUNTIME_SRC_BACKENDS_CUDA_CUBLAS_H
#define DENSESSM_RUNTIME_SRC_BACKENDS_CUDA_CUBLAS_H

#include "CUDADriver.h"
#include "Status.h"

#include <string>
#include <vector>

namespace densessm::runtime {

using cublasStatus_t = int;
using cublasHandle_t = struct cublasContext *;
using cublasOperation_t = int;
using cublasMath_t = int;

constexpr cublasStatus_t kCublasSuccess = 0;
constexpr cublasStatus_t kCublasInvalidValue = 7;
/// cublasOperation_t: CUBLAS_OP_N, CUBLAS_OP_T.
constexpr cublasOperation_t kCublasNoTranspose = 0;
constexpr cublasOperation_t kCublasTranspose = 1;
/// cublasMath_t CUBLAS_DEFAULT_MATH: SGEMM and SGEMV in FP32 throughout
/// (TF32 tensor cores only with CUBLAS_TF32_TENSOR_OP_MATH), so results
/// match the CPU's OpenBLAS to rounding.
constexpr cublasMath_t kCublasDefaultMath = 0;

/// The environment variable that names the cuBLAS library to open instead
/// of the default list (a path or a soname).
constexpr const char *kCublasLibraryVariable = "DENSESSM_CUBLAS_LIBRARY";

struct CUBLAS {
  cublasStatus_t (*cublasCreate)(cublasHandle_t *);
  cublasStatus_t (*cublasDestroy)(cublasHandle_t);
  cublasStatus_t (*cublasSetStream)(cublasHandle_t, CUstream);
  cublasStatus_t (*cublasSetMathMode)(cublasHandle_t, cublasMath_t);
  /// C = alpha op(A) op(B) + beta C, column-major.
  cublasStatus_t (*cublasSgemm)(cublasHandle_t, cublasOperation_t,
                                cublasOperation_t, int m, int n, int k,
                                const float *alpha, const float *a, int lda,
                                const float *b, int ldb, const float *beta,
                                float *c, int ldc);
  /// y = alpha op(A) x + beta y, A m x n column-major.
  cublasStatus_t (*cublasSgemv)(cublasHandle_t, cublasOperation_t, int m,
                                int n, const float *alpha, const float *a,
                                int lda, const float *x, int incx,
                                const float *beta, float *y, int incy);
  /// Optional (cuBLAS 11.4.2 and later): describe() adds its text to the
  /// status's name.
  const char *(*cublasGetStatusString)(cublasStatus_t) = nullptr;

  /// The library that was opened ("libcublas.so.12").
  std::string library;

  /// Describes a failed call: "<what>: cuBLAS error N (CUBLAS_STATUS_...:
  /// <description>)".
  std::string describe(cublasStatus_t status, const std::string &what) const;
};

/// The libraries loadCUBLAS tries, in order: $DENSESSM_CUBLAS_LIBRARY alone
/// when it is set, else libcublas.so.13, .12, .11, then libcublas.so (the
/// loader's search), then libcublas.so.13 and .12 in the lib64 directory of
/// the CUDA Toolkit at $CUDA_HOME, $CUDA_PATH and /usr/local/cuda (a toolkit
/// the loader was not told about).
std::vector<std::string> cublasLibraryCandidates();

/// Opens the first of `candidates` that dlopen finds and resolves the
/// table. The error names every library tried (and why each failed), or
/// the entry points the opened one lacks.
Status openCUBLAS(const std::vector<std::string> &candidates, CUBLAS &out);

/// openCUBLAS(cublasLibraryCandidates()), once per process (thread-safe);
/// later calls return the same table or the same error.
Status loadCUBLAS(const CUBLAS *&out);

} // namespace densessm::runtime

#endif // DENSESSM_RUNTIME_SRC_BACKENDS_CUDA_CUBLAS_H
