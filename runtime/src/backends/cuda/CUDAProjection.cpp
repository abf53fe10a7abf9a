//===- CUDAProjection.cpp - the CUDA code's GEMM entry point --------------===//
//
// CUDA modules do not generate their GEMMs either: the CUDA pipeline runs
// --densessm-lower-projections-to-blas=library=cuda, which turns every
// projection y[b, l, o] += sum_i x[b, l, i] * w[o, i] (on managed buffers)
// into a host-code call of this function; it hands the projection to cuBLAS
// (CUBLASLinear.h), with the semantics of the CPU's
// _mlir_ciface_densessm_cpu_linear_f32 (runtime/src/backends/cpu/
// Projection.cpp). The symbol is resolved when the runtime loads the host
// code, so it is part of the runtime's ABI with compiled code
// (docs/module-format.md).
//
// Like the mgpu* functions it cannot return a status: a failure (no cuBLAS,
// a failed call) goes to the calling thread's mgpu* error slot
// (MGPURuntime.h), and the CUDA backend reports it after the dispatch.
// Outside a queue the host code launches its kernels synchronously (each on
// a stream it waits on), so the GEMM runs on this thread's own stream and
// is waited on before returning: the next kernel, or host code, reads y.
// Inside a queue (--densessm-queue-gpu-work: the host code never touches
// its buffers) the GEMM goes on the queue's stream, after the kernels
// before it and before those after it, and nobody waits.
//
//===----------------------------------------------------------------------===//

#include "CUBLAS.h"
#include "CUBLASLinear.h"
#include "MGPURuntime.h"

#include <mutex>
#include <shared_mutex>

namespace densessm::runtime {
namespace {

/// This thread's cuBLAS handle and the stream its calls run on, created on
/// the thread's first projection (cublasCreate costs milliseconds, and
/// cuBLAS recommends a handle per thread) and destroyed when the thread
/// ends.
class ThreadCUBLAS {
public:
  ThreadCUBLAS() = default;
  ThreadCUBLAS(const ThreadCUBLAS &) = delete;
  ThreadCUBLAS &operator=(const ThreadCUBLAS &) = delete;

  ~ThreadCUBLAS() {
    if (!driver)
      return;
    // Errors are ignored here: nobody is left to report them to.
    (void)driver->cuCtxSetCurrent(driver->context);
    // cublasDestroy waits for the device: not while a thread captures.
    if (handle) {
      std::unique_lock<std::shared_mutex> noCaptures(mgpuCaptureGuard());
      (void)blas->cublasDestroy(handle);
    }
    if (stream)
      (void)driver->cuStreamDestroy(stream);
  }

  /// The handle, bound to `queue` when there is one, else to the thread's
  /// own stream; created if this thread has none.
  Status get(const CUDADriver &cuda, const CUBLAS &library, CUstream queue,
             cublasHandle_t &outHandle, CUstream &outStream) {
    if (!handle) {
      driver = &cuda;
      blas = &library;
      if (!stream)
        if (CUresult result = cuda.cuStreamCreate(&stream, kStreamNonBlocking))
          return Status::error(cuda.describe(
              result, "cuStreamCreate (the cuBLAS projections' stream)"));
      cublasHandle_t created = nullptr;
      if (cublasStatus_t status = library.cublasCreate(&created))
        return Status::error(library.describe(
            status, "cublasCreate (" + library.library + ")"));
      // FP32 throughout (no TF32), whatever the library's default, so that
      // the projections match the CPU module's to rounding.
      if (cublasStatus_t status =
              library.cublasSetMathMode(created, kCublasDefaultMath)) {
        (void)library.cublasDestroy(created);
        return Status::error(library.describe(status, "cublasSetMathMode"));
      }
      handle = created;
    }
    CUstream use = queue ? queue : stream;
    if (cublasStatus_t status = blas->cublasSetStream(handle, use))
      return Status::error(blas->describe(status, "cublasSetStream"));
    outHandle = handle;
    outStream = use;
    return Status::ok();
  }

private:
  const CUDADriver *driver = nullptr;
  const CUBLAS *blas = nullptr;
  cublasHandle_t handle = nullptr;
  CUstream stream = nullptr;
};

thread_local ThreadCUBLAS threadCUBLAS;

Status linear(const CUDADriver &driver, const StridedMemRefF32<3> &y,
              const StridedMemRefF32<3> &x, const StridedMemRefF32<2> &w) {
  const CUBLAS *blas = nullptr;
  DSSM_RETURN_IF_ERROR(loadCUBLAS(blas));
  cublasHandle_t handle = nullptr;
  CUstream stream = nullptr;
  CUstream queue = mgpuQueueStream();
  DSSM_RETURN_IF_ERROR(
      threadCUBLAS.get(driver, *blas, queue, handle, stream));
  DSSM_RETURN_IF_ERROR(linearOnCUBLAS(*blas, handle, y, x, w));
  if (queue)
    return Status::ok(); // waited for at the queue's end
  if (CUresult result = driver.cuStreamSynchronize(stream))
    return Status::error(driver.describe(
        result, "cuStreamSynchronize (a cuBLAS projection failed)"));
  return Status::ok();
}

} // namespace
} // namespace densessm::runtime

using namespace densessm::runtime;

extern "C" __attribute__((visibility("default"))) void
_mlir_ciface_densessm_cuda_linear_f32(StridedMemRefF32<3> *y,
                                      StridedMemRefF32<3> *x,
                                      StridedMemRefF32<2> *w) {
  // After a failure the host code runs on to its end; like kernel
  // launches, projections are skipped then.
  if (mgpuHasFailed())
    return;
  const CUDADriver *driver = mgpuReadyDriver();
  if (!driver)
    return;
  Status status = linear(*driver, *y, *x, *w);
  if (!status.isOk())
    mgpuRecordFailure(status.message());
}
