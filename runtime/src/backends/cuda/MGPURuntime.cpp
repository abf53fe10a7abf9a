//===- MGPURuntime.cpp - MLIR's mgpu* CUDA functions, on the driver table -===//
//
// The functions the CUDA host code imports (docs/module-format.md lists
// them), with the signatures of MLIR's CudaRuntimeWrappers.cpp, exported
// from libdensessm_runtime.so. Unlike upstream they never abort: the first
// failure is recorded in the calling thread's error slot (MGPURuntime.h),
// calls that would use a failed result do nothing, and the CUDA backend
// reports the failure as a Status.
//
//===----------------------------------------------------------------------===//

#include "MGPURuntime.h"

#include "DeviceMemoryPool.h"
#include "QueueGraphs.h"

#include "densessm/runtime/KernelKey.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace densessm::runtime {
namespace {

thread_local const CUDADriver *currentDriver = nullptr;
thread_local const KernelObjects *currentObjects = nullptr;
thread_local std::string currentError;
thread_local int scopeDepth = 0;
/// The queue (densessm_cuda_queue_begin/end): its stream, created on the
/// thread's first queue and kept, and how many begins are open.
thread_local CUstream queueStream = nullptr;
thread_local int queueDepth = 0;
/// The executable graphs of the scope's module (null: none are made), and
/// the open queue's capture: whether its stream is capturing, the queue's
/// key, and how many parts of it a wait in the middle has launched.
thread_local QueueGraphs *currentGraphs = nullptr;
thread_local bool capturing = false;
thread_local uint64_t queueKey = 0;
thread_local uint64_t queueParts = 0;
/// Pooled buffers the host code freed inside the queue. Queued work may
/// still use them, so they go back to the pool (where another thread could
/// get them) only once the queue is waited for; until then this thread's
/// own allocations reuse them, after that work on the same stream.
struct QueueFreed {
  CUdeviceptr pointer;
  bool managed;
  uint64_t bytes; // size class
};
thread_local std::vector<QueueFreed> queueFreed;
/// The copies the backend asked the next queue to do around its work
/// (mgpuSetQueueTransfers), until a queue or other GPU work takes them.
thread_local std::vector<Transfer> pendingBefore, pendingAfter;

/// Records the first failure for the enclosing KernelScope. Outside one
/// (host code run by another program, such as mlir-runner in the GPU lit
/// tests) nobody would read the slot, so each failure is also printed.
void fail(std::string message) {
  if (scopeDepth == 0)
    std::fprintf(stderr, "densessm mgpu runtime: error: %s\n",
                 message.c_str());
  if (currentError.empty())
    currentError = std::move(message);
}

/// The driver, its context current on this thread; null (with the error
/// recorded) when there is none. After a failure the host code goes on to
/// its end (it cannot stop), so memory and stream calls still work; only
/// kernel launches are skipped.
const CUDADriver *ready() {
  if (!currentDriver) {
    // Called outside a KernelScope (host code run by someone else).
    const CUDADriver *driver = nullptr;
    Status status = loadCUDADriver(driver);
    if (!status.isOk()) {
      fail(status.message());
      return nullptr;
    }
    if (CUresult result = driver->cuCtxSetCurrent(driver->context)) {
      fail(driver->describe(result, "cuCtxSetCurrent"));
      return nullptr;
    }
    currentDriver = driver;
  }
  return currentDriver;
}

bool check(const CUDADriver *driver, CUresult result, const char *what) {
  if (result == 0)
    return true;
  fail(driver->describe(result, what));
  return false;
}

CUdeviceptr device(const void *pointer) {
  return CUdeviceptr(reinterpret_cast<uintptr_t>(pointer));
}

/// Loads PTX, JIT-compiled by the driver at `optLevel`, with its error log
/// in the message when it fails.
void *loadPTX(const CUDADriver *driver, const void *ptx, int optLevel,
              const char *what) {
  char log[4096] = {};
  CUjit_option options[] = {kJitErrorLogBuffer, kJitErrorLogBufferSizeBytes,
                            kJitOptimizationLevel};
  void *values[] = {log, reinterpret_cast<void *>(uintptr_t(sizeof log)),
                    reinterpret_cast<void *>(uintptr_t(optLevel))};
  CUmodule module = nullptr;
  CUresult result =
      driver->cuModuleLoadDataEx(&module, ptx, 3, options, values);
  if (result != 0) {
    std::string message = driver->describe(result, what);
    if (log[0])
      message += ": " + std::string(log);
    fail(message);
    return nullptr;
  }
  return module;
}

/// The modules loaded from kernel objects whose kernels wait for the
/// kernels before them (KernelObject::programmaticLaunch), and the kernels
/// got from them (with their module), which mgpuLaunchKernel launches with
/// programmatic stream serialization. Process-wide: the host code loads a
/// module once and launches its kernels from any thread.
struct WaitingKernels {
  std::shared_mutex mutex;
  std::unordered_set<CUmodule> modules;
  std::unordered_map<CUfunction, CUmodule> functions;
  /// Whether any module was ever added: launches skip the lock until then.
  std::atomic<bool> any{false};

  /// Never destroyed: the host code's destructors unload modules at
  /// process exit, after function-local statics built later are gone.
  static WaitingKernels &instance() {
    static WaitingKernels *kernels = new WaitingKernels;
    return *kernels;
  }
  bool contains(CUfunction function) {
    if (!any.load(std::memory_order_acquire))
      return false;
    std::shared_lock<std::shared_mutex> lock(mutex);
    return functions.count(function) != 0;
  }
  void addModule(CUmodule module) {
    std::unique_lock<std::shared_mutex> lock(mutex);
    modules.insert(module);
    any.store(true, std::memory_order_release);
  }
  /// Called on every launch (the host code gets the function each time):
  /// the common cases take no lock or a shared one.
  void addFunction(CUmodule module, CUfunction function) {
    if (!any.load(std::memory_order_acquire))
      return;
    {
      std::shared_lock<std::shared_mutex> lock(mutex);
      if (!modules.count(module) || functions.count(function))
        return;
    }
    std::unique_lock<std::shared_mutex> lock(mutex);
    if (modules.count(module))
      functions.emplace(function, module);
  }
  void removeModule(CUmodule module) {
    std::unique_lock<std::shared_mutex> lock(mutex);
    if (!modules.erase(module))
      return;
    for (auto it = functions.begin(); it != functions.end();)
      it = it->second == module ? functions.erase(it) : std::next(it);
  }
};

/// The module file's object for the kernel module whose embedded object has
/// `key`, loaded; null when the file has none (or loading it failed).
void *loadReplacement(const CUDADriver *driver, uint64_t key, int optLevel,
                      bool &found) {
  found = false;
  if (!currentObjects)
    return nullptr;
  auto object = currentObjects->find(key);
  if (object == currentObjects->end())
    return nullptr;
  found = true;
  std::string what = "loading the " + object->second.architecture + " " +
                     (object->second.cubin ? "cubin" : "PTX") +
                     " of a kernel";
  CUmodule module = nullptr;
  if (!object->second.cubin)
    module = static_cast<CUmodule>(
        loadPTX(driver, object->second.data, optLevel, what.c_str()));
  else if (!check(driver,
                  driver->cuModuleLoadData(&module, object->second.data),
                  what.c_str()))
    return nullptr;
  if (module && object->second.programmaticLaunch)
    WaitingKernels::instance().addModule(module);
  return module;
}

constexpr const char *kQueueFailed =
    "cuStreamSynchronize: a queued kernel or projection failed";

/// Starts capturing the queue's stream into a graph (QueueGraphs.h),
/// holding the capture guard (shared) until the capture ends.
void beginCapture(const CUDADriver *driver) {
  mgpuCaptureGuard().lock_shared();
  capturing = check(driver,
                    driver->cuStreamBeginCapture(queueStream,
                                                 kStreamCaptureModeRelaxed),
                    "densessm_cuda_queue_begin (cuStreamBeginCapture)");
  if (!capturing)
    mgpuCaptureGuard().unlock_shared();
}

/// Ends the queue's capture and launches what it captured, unless a call in
/// it failed. A capture that fails is not tried again for this queue.
/// Returns the failure, described, or an empty string.
std::string launchCapture(const CUDADriver *driver) {
  capturing = false;
  CUgraph graph = nullptr;
  CUresult ended = driver->cuStreamEndCapture(queueStream, &graph);
  mgpuCaptureGuard().unlock_shared();
  // A queue a wait cut in parts keeps a graph per part.
  uint64_t key = queueKey + 0x9e3779b97f4a7c15ull * queueParts++;
  std::string failure;
  if (ended)
    failure = driver->describe(ended, "cuStreamEndCapture (capturing the "
                                      "queued GPU work as a CUDA graph)") +
              "; DENSESSM_CUDA_GRAPHS=0 launches the kernels one by one";
  else if (currentError.empty())
    failure = currentGraphs->launch(key, graph, queueStream);
  else
    driver->cuGraphDestroy(graph); // a call in it failed: nothing to run
  if (ended || !currentError.empty() || !failure.empty())
    currentGraphs->disable(queueKey);
  return failure;
}

/// Runs the queue's work (launching its capture, if any) and waits for it;
/// `wasCapturing` tells whether there was a capture (resumeCapture()
/// continues it). Returns the failure, described as `what`, or an empty
/// string.
std::string waitForQueue(const CUDADriver *driver, const char *what,
                         bool &wasCapturing,
                         const std::vector<Transfer> &after = {}) {
  wasCapturing = capturing;
  if (!driver || !queueStream)
    return "";
  std::string failure;
  if (capturing)
    failure = launchCapture(driver);
  if (failure.empty() && currentError.empty())
    mgpuEnqueueTransfers(after, queueStream);
  if (CUresult result = driver->cuStreamSynchronize(queueStream);
      result && failure.empty())
    failure = driver->describe(result, what);
  return failure;
}

/// After a wait in the middle of a queue (waitForQueue), and what needed
/// it: captures the rest of the queue if its start was captured.
void resumeCapture(const CUDADriver *driver, bool wasCapturing,
                   const std::string &failure) {
  if (wasCapturing && failure.empty() && currentError.empty())
    beginCapture(driver);
}

/// Waits for the queue and gives the buffers freed in it back to the pool.
std::string drainQueue(const CUDADriver *driver, const char *what,
                       bool &wasCapturing,
                       const std::vector<Transfer> &after = {}) {
  std::string failure = waitForQueue(driver, what, wasCapturing, after);
  for (const QueueFreed &freed : queueFreed)
    DeviceMemoryPool::instance().release(freed.pointer);
  queueFreed.clear();
  return failure;
}

/// Finishes the queue: drainQueue, where nothing follows but `after`.
std::string finishQueue(const CUDADriver *driver,
                        const std::vector<Transfer> &after = {}) {
  bool wasCapturing;
  return drainQueue(driver, kQueueFailed, wasCapturing, after);
}

/// Outside a queue, before other GPU work: the copies a queue was to do
/// first, waited for (the work that follows is on another stream).
void doPendingBefore() {
  if (pendingBefore.empty() || queueDepth > 0)
    return;
  std::vector<Transfer> before = std::move(pendingBefore);
  pendingBefore.clear();
  mgpuTransferAndWait(before);
}

} // namespace

KernelScope::KernelScope(const CUDADriver &driver,
                         const KernelObjects *objects, QueueGraphs *graphs)
    : previousDriver(currentDriver), previousObjects(currentObjects),
      previousGraphs(currentGraphs), previousQueueDepth(queueDepth) {
  // An enclosing scope's open queue is finished first (with its error
  // still in the slot: a failed capture is not launched): the work of this
  // scope is not ordered after it otherwise.
  if (queueDepth > 0)
    if (std::string failure = finishQueue(currentDriver); !failure.empty())
      fail(std::move(failure));
  previousError = std::move(currentError);
  currentError.clear();
  queueDepth = 0;
  ++scopeDepth;
  currentDriver = &driver;
  currentObjects = objects;
  currentGraphs = graphs;
  if (CUresult result = driver.cuCtxSetCurrent(driver.context))
    fail(driver.describe(result, "cuCtxSetCurrent"));
}

KernelScope::~KernelScope() {
  // Host code that failed may not have reached its queue's end.
  if (queueDepth > 0)
    if (std::string failure = finishQueue(currentDriver); !failure.empty())
      fail(std::move(failure));
  // A run's copies do not outlive it (mgpuFinishQueueTransfers).
  pendingBefore.clear();
  pendingAfter.clear();
  queueDepth = previousQueueDepth;
  --scopeDepth;
  currentDriver = previousDriver;
  currentObjects = previousObjects;
  currentGraphs = previousGraphs;
  currentError = std::move(previousError);
}

Status KernelScope::status() const {
  if (currentError.empty())
    return Status::ok();
  return Status::error(currentError);
}

const CUDADriver *mgpuReadyDriver() {
  doPendingBefore(); // a projection outside a queue is GPU work
  return ready();
}

std::shared_mutex &mgpuCaptureGuard() {
  static std::shared_mutex guard;
  return guard;
}

void mgpuRecordFailure(std::string message) { fail(std::move(message)); }

bool mgpuHasFailed() { return !currentError.empty(); }

CUstream mgpuQueueStream() { return queueDepth > 0 ? queueStream : nullptr; }

void mgpuEnqueueTransfers(const std::vector<Transfer> &copies, void *stream) {
  for (const Transfer &copy : copies) {
    if (!copy.bytes)
      continue;
    if (copy.source)
      mgpuMemcpy(copy.destination, const_cast<void *>(copy.source), copy.bytes,
                 stream);
    else
      mgpuMemset32(copy.destination, 0, copy.bytes / 4, stream);
  }
}

void mgpuSetQueueTransfers(std::vector<Transfer> before,
                           std::vector<Transfer> after) {
  pendingBefore = std::move(before);
  pendingAfter = std::move(after);
}

void mgpuFinishQueueTransfers() {
  std::vector<Transfer> copies = std::move(pendingBefore);
  copies.insert(copies.end(), pendingAfter.begin(), pendingAfter.end());
  pendingBefore.clear();
  pendingAfter.clear();
  if (!mgpuHasFailed())
    mgpuTransferAndWait(copies);
}

void mgpuTransferAndWait(const std::vector<Transfer> &copies) {
  if (copies.empty())
    return;
  void *stream = mgpuStreamCreate();
  mgpuEnqueueTransfers(copies, stream);
  mgpuStreamSynchronize(stream);
  mgpuStreamDestroy(stream);
}

} // namespace densessm::runtime

using namespace densessm::runtime;

// The host code creates a stream for every launch, copy, allocation and
// free, and destroys it after waiting on it; streams are kept per thread
// and reused instead (cuStreamCreate and cuStreamDestroy cost microseconds
// each, more than a decode step's small kernels). And since allocations
// and frees come from the pool (DeviceMemoryPool.h) without touching their
// stream, a wait on a stream that was given no work since the last one is
// skipped: there is nothing to wait for (a third of a DenseRetNet decode
// step's waits).
namespace {
thread_local std::vector<CUstream> idleStreams;
/// Streams given work (a launch, copy or set) since they were last waited on.
thread_local std::vector<CUstream> busyStreams;

void markBusy(void *stream) {
  auto *s = static_cast<CUstream>(stream);
  if (std::find(busyStreams.begin(), busyStreams.end(), s) == busyStreams.end())
    busyStreams.push_back(s);
}

/// Whether `stream` had work since it was last waited on; forgets it.
bool takeBusy(void *stream) {
  auto found = std::find(busyStreams.begin(), busyStreams.end(),
                         static_cast<CUstream>(stream));
  if (found == busyStreams.end())
    return false;
  busyStreams.erase(found);
  return true;
}
} // namespace

DSSM_MGPU_EXPORT void *mgpuModuleLoad(void *data, size_t size) {
  const CUDADriver *driver = ready();
  if (!driver)
    return nullptr;
  bool found;
  void *module =
      loadReplacement(driver, kernelObjectKey(data, size), 4, found);
  if (found)
    return module;
  CUmodule loaded = nullptr;
  if (!check(driver, driver->cuModuleLoadData(&loaded, data),
             "mgpuModuleLoad (cuModuleLoadData)"))
    return nullptr;
  return loaded;
}

DSSM_MGPU_EXPORT void *mgpuModuleLoadJIT(void *data, int optLevel) {
  const CUDADriver *driver = ready();
  if (!driver)
    return nullptr;
  const char *ptx = static_cast<const char *>(data);
  bool found;
  void *module = loadReplacement(
      driver, kernelObjectKey(ptx, std::strlen(ptx)), optLevel, found);
  if (found)
    return module;
  return loadPTX(driver, ptx, optLevel,
                 "mgpuModuleLoadJIT (JIT-compiling a kernel's PTX)");
}

DSSM_MGPU_EXPORT void mgpuModuleUnload(void *module) {
  // Runs from the host code's destructors: unload even after a failure.
  const CUDADriver *driver = currentDriver;
  if (!driver || !module)
    return;
  WaitingKernels::instance().removeModule(static_cast<CUmodule>(module));
  check(driver, driver->cuModuleUnload(static_cast<CUmodule>(module)),
        "mgpuModuleUnload");
}

DSSM_MGPU_EXPORT void *mgpuModuleGetFunction(void *module, const char *name) {
  const CUDADriver *driver = ready();
  if (!driver)
    return nullptr;
  if (!module) {
    fail(std::string("mgpuModuleGetFunction: kernel '") + name +
         "' of a module that was not loaded");
    return nullptr;
  }
  CUfunction function = nullptr;
  std::string what = std::string("mgpuModuleGetFunction ('") + name + "')";
  if (!check(driver,
             driver->cuModuleGetFunction(&function,
                                         static_cast<CUmodule>(module), name),
             what.c_str()))
    return nullptr;
  WaitingKernels::instance().addFunction(static_cast<CUmodule>(module),
                                         function);
  return function;
}

DSSM_MGPU_EXPORT void mgpuLaunchKernel(void *function, intptr_t gridX,
                                       intptr_t gridY, intptr_t gridZ,
                                       intptr_t blockX, intptr_t blockY,
                                       intptr_t blockZ, int32_t sharedBytes,
                                       void *stream, void **params,
                                       void **extra, size_t /*paramsCount*/) {
  const CUDADriver *driver = ready();
  if (!driver || !function || !currentError.empty())
    return;
  auto *kernel = static_cast<CUfunction>(function);
  bool launched;
  if (WaitingKernels::instance().contains(kernel)) {
    // It waits for the kernel before it itself: it may be scheduled while
    // that one finishes.
    CUlaunchAttribute attribute{};
    attribute.id = kLaunchAttributeProgrammaticStreamSerialization;
    attribute.value.programmaticStreamSerializationAllowed = 1;
    CUlaunchConfig config{unsigned(gridX),  unsigned(gridY),
                          unsigned(gridZ),  unsigned(blockX),
                          unsigned(blockY), unsigned(blockZ),
                          unsigned(sharedBytes), static_cast<CUstream>(stream),
                          &attribute,       1};
    launched = check(driver,
                     driver->cuLaunchKernelEx(&config, kernel, params, extra),
                     "mgpuLaunchKernel (cuLaunchKernelEx, programmatic "
                     "stream serialization)");
  } else {
    launched = check(
        driver,
        driver->cuLaunchKernel(kernel, unsigned(gridX), unsigned(gridY),
                               unsigned(gridZ), unsigned(blockX),
                               unsigned(blockY), unsigned(blockZ),
                               unsigned(sharedBytes),
                               static_cast<CUstream>(stream), params, extra),
        "mgpuLaunchKernel (cuLaunchKernel)");
  }
  if (launched)
    markBusy(stream);
}

DSSM_MGPU_EXPORT void *mgpuStreamCreate() {
  const CUDADriver *driver = ready();
  if (!driver)
    return nullptr;
  if (CUstream queue = mgpuQueueStream())
    return queue;
  doPendingBefore(); // the host code's work outside a queue comes after
  if (!idleStreams.empty()) {
    CUstream stream = idleStreams.back();
    idleStreams.pop_back();
    return stream;
  }
  CUstream stream = nullptr;
  check(driver, driver->cuStreamCreate(&stream, kStreamNonBlocking),
        "mgpuStreamCreate");
  return stream;
}

DSSM_MGPU_EXPORT void mgpuStreamDestroy(void *stream) {
  // Every stream the host code destroys was waited on first (gpu.wait), so
  // it is idle and can be handed out again; the queue's stays the queue's.
  if (stream && stream != queueStream)
    idleStreams.push_back(static_cast<CUstream>(stream));
}

DSSM_MGPU_EXPORT void mgpuStreamSynchronize(void *stream) {
  // Queued work is waited for at the queue's end.
  if (stream == mgpuQueueStream() && stream)
    return;
  if (!takeBusy(stream))
    return;
  const CUDADriver *driver = ready();
  if (driver)
    check(driver, driver->cuStreamSynchronize(static_cast<CUstream>(stream)),
          "mgpuStreamSynchronize (a kernel failed)");
}

DSSM_MGPU_EXPORT void *mgpuMemAlloc(uint64_t bytes, void * /*stream*/,
                                    bool hostShared) {
  const CUDADriver *driver = ready();
  if (!driver)
    return nullptr;
  if (bytes == 0)
    return nullptr;
  if (mgpuQueueStream()) {
    uint64_t size = DeviceMemoryPool::sizeClass(bytes);
    for (auto freed = queueFreed.begin(); freed != queueFreed.end(); ++freed)
      if (freed->managed == hostShared && freed->bytes == size) {
        CUdeviceptr pointer = freed->pointer;
        queueFreed.erase(freed);
        return reinterpret_cast<void *>(uintptr_t(pointer));
      }
  }
  CUresult result = 0;
  CUdeviceptr pointer =
      DeviceMemoryPool::instance().allocate(*driver, bytes, hostShared, result);
  if (result != 0 && mgpuQueueStream() && !queueFreed.empty()) {
    // Out of memory while the queue holds freed buffers the pool cannot
    // release yet: wait for the queue, give them back, and try again.
    bool wasCapturing;
    std::string failure = drainQueue(driver, kQueueFailed, wasCapturing);
    if (!failure.empty())
      fail(failure);
    pointer = DeviceMemoryPool::instance().allocate(*driver, bytes, hostShared,
                                                    result);
    resumeCapture(driver, wasCapturing, failure);
  }
  if (result != 0) {
    std::string what = "mgpuMemAlloc (" + std::to_string(bytes) +
                       " bytes of " + (hostShared ? "managed" : "device") +
                       " memory)";
    check(driver, result, what.c_str());
    return nullptr;
  }
  return reinterpret_cast<void *>(uintptr_t(pointer));
}

DSSM_MGPU_EXPORT void mgpuMemFree(void *pointer, void * /*stream*/) {
  const CUDADriver *driver = currentDriver;
  if (!pointer)
    return;
  bool managed;
  uint64_t bytes;
  if (mgpuQueueStream() &&
      DeviceMemoryPool::instance().inUse(device(pointer), managed, bytes)) {
    queueFreed.push_back({device(pointer), managed, bytes});
    return;
  }
  // Outside a queue the work that used it is done: back to the pool.
  if (DeviceMemoryPool::instance().release(device(pointer)))
    return;
  if (!driver)
    return;
  // Any other buffer is freed now, after the queued work that may use it.
  bool queued = mgpuQueueStream() != nullptr, wasCapturing = false;
  std::string failure;
  if (queued) {
    failure = waitForQueue(driver, "mgpuMemFree (waiting for the queued work)",
                           wasCapturing);
    if (!failure.empty())
      fail(failure);
  }
  check(driver, driver->cuMemFree(device(pointer)), "mgpuMemFree");
  if (queued)
    resumeCapture(driver, wasCapturing, failure);
}

DSSM_MGPU_EXPORT void mgpuMemcpy(void *destination, void *source, size_t bytes,
                                 void *stream) {
  const CUDADriver *driver = ready();
  if (driver && check(driver,
                      driver->cuMemcpyAsync(device(destination),
                                            device(source), bytes,
                                            static_cast<CUstream>(stream)),
                      "mgpuMemcpy"))
    markBusy(stream);
}

DSSM_MGPU_EXPORT void mgpuMemset32(void *destination, unsigned value,
                                   size_t count, void *stream) {
  const CUDADriver *driver = ready();
  if (driver && check(driver,
                      driver->cuMemsetD32Async(device(destination), value,
                                               count,
                                               static_cast<CUstream>(stream)),
                      "mgpuMemset32"))
    markBusy(stream);
}

DSSM_MGPU_EXPORT void mgpuMemset16(void *destination, unsigned short value,
                                   size_t count, void *stream) {
  const CUDADriver *driver = ready();
  if (driver && check(driver,
                      driver->cuMemsetD16Async(device(destination), value,
                                               count,
                                               static_cast<CUstream>(stream)),
                      "mgpuMemset16"))
    markBusy(stream);
}

DSSM_MGPU_EXPORT void mgpuSetDefaultDevice(int32_t index) {
  if (index != 0)
    fail("mgpuSetDefaultDevice(" + std::to_string(index) +
         "): the densessm runtime uses GPU 0 only");
}

// The queue (--densessm-queue-gpu-work): host code that never touches its
// buffers calls begin at its entry, with a key the compiler gave the
// function, and end before it returns.
DSSM_MGPU_EXPORT void densessm_cuda_queue_begin(uint64_t key) {
  const CUDADriver *driver = ready();
  if (!driver)
    return;
  if (!queueStream &&
      !check(driver, driver->cuStreamCreate(&queueStream, kStreamNonBlocking),
             "densessm_cuda_queue_begin (cuStreamCreate)"))
    return;
  if (queueDepth++ > 0)
    return; // a queue within a queue is part of it
  queueKey = key;
  queueParts = 0;
  // The run's copies in, ahead of its work on the queue's stream (not
  // captured: a graph cannot copy pageable host memory).
  mgpuEnqueueTransfers(pendingBefore, queueStream);
  pendingBefore.clear();
  if (currentGraphs && currentError.empty() &&
      currentGraphs->shouldCapture(key, std::this_thread::get_id()))
    beginCapture(driver);
}

DSSM_MGPU_EXPORT void densessm_cuda_queue_end() {
  if (queueDepth == 0 || --queueDepth > 0)
    return;
  // The run's copies out follow its work, under the queue's one wait.
  std::vector<Transfer> after = std::move(pendingAfter);
  pendingAfter.clear();
  if (std::string failure = finishQueue(ready(), after); !failure.empty())
    fail("densessm_cuda_queue_end: " + failure);
  takeBusy(queueStream);
}
