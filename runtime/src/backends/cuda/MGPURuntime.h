//===- MGPURuntime.h - the mgpu* functions' state ---------------*- C++ -*-===//
//
// The CUDA host code (densessm-compile --target=cuda) calls the mgpu*
// functions of MLIR's CUDA runtime wrappers; MGPURuntime.cpp implements
// them on the runtime's dlopen'ed driver table and exports them from
// libdensessm_runtime.so. They are C functions without a status, so:
//   - a failure is recorded in a per-thread error slot (the first one wins;
//     later calls that depend on it do nothing) and the CUDA backend turns
//     it into a Status after each dispatch (and after loading the host code,
//     whose constructors load the kernels); outside a KernelScope (host
//     code run by another program, e.g. mlir-runner in the GPU lit tests)
//     each failure is also printed to stderr;
//   - a KernelScope, held by the backend while the host code runs on this
//     thread, makes the primary context current and provides the module
//     file's kernel objects, from which mgpuModuleLoad(JIT) picks the one
//     for this GPU instead of the embedded PTX;
//   - between densessm_cuda_queue_begin() and densessm_cuda_queue_end(),
//     which host code that never touches its buffers calls
//     (--densessm-queue-gpu-work), every stream the host code asks for is
//     one queue stream of the thread, and its waits are skipped until the
//     end, which waits once; from the second run of a queue on, in a scope
//     given the module's QueueGraphs, its work is captured and launched as
//     one CUDA graph (QueueGraphs.h).
//
//===----------------------------------------------------------------------===//
#ifndef DENSESSM_RUNTIME_SRC_BACKENDS_CUDA_MGPURUNTIME_H
#define DENSESSM_RUNTIME_SRC_BACKENDS_CUDA_MGPURUNTIME_H

#include "CUDADriver.h"
#include "Transfer.h"

#include <cstdint>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace densessm::runtime {

class QueueGraphs;

/// An object the module file carries for a kernel module, for this GPU.
struct KernelObject {
  const void *data = nullptr;
  size_t size = 0;
  bool cubin = false;        // else PTX (JIT-compiled by the driver)
  std::string architecture;  // "sm_90"
  /// Its kernels wait for the kernels before them (griddepcontrol.wait):
  /// they are launched with programmatic stream serialization.
  bool programmaticLaunch = false;
};

/// Kernel objects by the key of the embedded object they replace
/// (densessm/runtime/KernelKey.h).
using KernelObjects = std::unordered_map<uint64_t, KernelObject>;

/// While alive, the mgpu* functions called on this thread use `driver`'s
/// primary context and `objects`, capture queues into `graphs` (none when
/// null), and record errors in this thread's slot (cleared on entry).
/// Scopes nest (the previous one is restored).
class KernelScope {
public:
  KernelScope(const CUDADriver &driver, const KernelObjects *objects,
              QueueGraphs *graphs = nullptr);
  ~KernelScope();
  KernelScope(const KernelScope &) = delete;
  KernelScope &operator=(const KernelScope &) = delete;

  /// The first failure of an mgpu* call in this scope, or ok.
  Status status() const;

private:
  const CUDADriver *previousDriver;
  const KernelObjects *previousObjects;
  QueueGraphs *previousGraphs;
  std::string previousError;
  int previousQueueDepth;
};

/// For the runtime's other functions that host code calls with the mgpu*
/// ones (the cuBLAS projection, CUDAProjection.cpp): the driver, its
/// primary context current on this thread, or null with the failure
/// recorded in this thread's slot.
const CUDADriver *mgpuReadyDriver();
/// Records a failure in this thread's slot (the first one wins).
void mgpuRecordFailure(std::string message);
/// Whether this thread's slot holds a failure (later GPU work is skipped).
bool mgpuHasFailed();
/// Held shared by each thread while it captures a queue into a graph. A
/// call that waits for the whole device (cublasDestroy, cuCtxSynchronize)
/// would invalidate every capture in the process, even another thread's:
/// hold it exclusively around such a call.
std::shared_mutex &mgpuCaptureGuard();
/// The stream this thread queues its GPU work on between
/// densessm_cuda_queue_begin() and _end() (--densessm-queue-gpu-work), or
/// null outside: work on it is not waited for until the end.
CUstream mgpuQueueStream();

/// Queues each copy (or zeroing, for a null source) on `stream`.
void mgpuEnqueueTransfers(const std::vector<Transfer> &copies, void *stream);
/// Every copy on one stream, then one wait for them all (none when there
/// are no copies).
void mgpuTransferAndWait(const std::vector<Transfer> &copies);

/// The copies of one run of host code (the CUDA backend's: the tokens in,
/// the logits out), so that a run of a queued entry point waits once: the
/// next queue this thread opens puts `before` on its stream ahead of its
/// work and `after` behind it (behind the graph it launches), under its
/// one wait. Host code that does GPU work outside a queue first does
/// `before`, and waits for it. mgpuFinishQueueTransfers(), after the host
/// code returns, does (and waits for) what no queue took.
void mgpuSetQueueTransfers(std::vector<Transfer> before,
                           std::vector<Transfer> after);
void mgpuFinishQueueTransfers();

} // namespace densessm::runtime

/// The runtime's exports the host code calls (MGPURuntime.cpp). Those the
/// runtime's C++ code calls too are declared here.
#define DSSM_MGPU_EXPORT extern "C" __attribute__((visibility("default")))
DSSM_MGPU_EXPORT void *mgpuStreamCreate();
DSSM_MGPU_EXPORT void mgpuStreamDestroy(void *stream);
DSSM_MGPU_EXPORT void mgpuStreamSynchronize(void *stream);
DSSM_MGPU_EXPORT void *mgpuMemAlloc(uint64_t bytes, void *stream,
                                    bool hostShared);
DSSM_MGPU_EXPORT void mgpuMemFree(void *pointer, void *stream);
DSSM_MGPU_EXPORT void mgpuMemcpy(void *destination, void *source,
                                 size_t bytes, void *stream);
DSSM_MGPU_EXPORT void mgpuMemset32(void *destination, unsigned value,
                                   size_t count, void *stream);

#endif // DENSESSM_RUNTIME_SRC_BACKENDS_CUDA_MGPURUNTIME_H
