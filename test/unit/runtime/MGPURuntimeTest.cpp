//===- MGPURuntimeTest.cpp - the mgpu* functions on a recording driver ----===//
//
// Run by test/Integration/CUDA/mgpu-runtime.test, on any machine (no GPU
// needed): the mgpu* functions the CUDA host code calls
// (runtime/src/backends/cuda/MGPURuntime.cpp), on a driver table whose
// entry points record their calls instead of reaching a GPU:
//   - streams are reused, not created per launch;
//   - a wait on a stream that was given work (a launch, a copy) reaches the
//     driver; a wait on one that was only used for pooled allocations and
//     frees does not (nothing to wait for);
//   - a failed launch is recorded in the scope's error slot, later launches
//     are skipped, and the slot names the call;
//   - mgpuModuleLoadJIT loads the module file's object for the kernel (the
//     cubin the backend picked) instead of JIT-compiling the embedded PTX;
//   - the kernels of an object whose kernels wait for the kernels before
//     them are launched with cuLaunchKernelEx and programmatic stream
//     serialization (the grid, block, shared memory, stream and arguments
//     passed on), those of other modules with cuLaunchKernel, and none so
//     after their module is unloaded;
//   - between densessm_cuda_queue_begin() and _end(), every launch goes on
//     one stream, nothing waits until the end, which waits once; a buffer
//     the pool did not allocate is freed only after the queued work, and
//     a pooled one freed in the queue is reused by the same queue but
//     returns to the pool (where another thread could take it) only after
//     the wait; a nested scope waits for an open queue first;
//   - with the module's QueueGraphs, a queue's second and later runs are
//     captured and launched as one graph, instantiated once and updated
//     after; a topology change instantiates again; a wait in the middle
//     launches the part captured so far and resumes; a failed launch in a
//     capture is reported, nothing of it launched, and the queue not
//     captured again; each thread's first run of a queue is not captured;
//     DENSESSM_CUDA_GRAPHS=0 (graphs disabled) never captures;
//   - session memory (SessionMemory.h) is managed memory zeroed by a set
//     on the GPU, not from the host code's pool, and freed to the driver;
//     transfers are copies (or sets, for a null source) on one stream with
//     one wait, none for an empty list; a failed copy is reported;
//   - a run's copies (mgpuSetQueueTransfers): around a queue, on its
//     stream, the copies in before its work (outside the capture), the
//     copies out after it (after the graph's launch), one wait in all;
//     host code that works outside a queue waits for the copies in first,
//     and mgpuFinishQueueTransfers does the copies out, waited for; after
//     a failure, no copies out.
//
//===----------------------------------------------------------------------===//

#include "DeviceMemoryPool.h"
#include "MGPURuntime.h"
#include "QueueGraphs.h"
#include "SessionMemory.h"

#include "densessm/runtime/KernelKey.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <utility>
#include <vector>

extern "C" {
void mgpuLaunchKernel(void *function, intptr_t gridX, intptr_t gridY,
                      intptr_t gridZ, intptr_t blockX, intptr_t blockY,
                      intptr_t blockZ, int32_t sharedBytes, void *stream,
                      void **params, void **extra, size_t paramsCount);
void *mgpuModuleLoadJIT(void *data, int optLevel);
void mgpuModuleUnload(void *module);
void *mgpuModuleGetFunction(void *module, const char *name);
void densessm_cuda_queue_begin(uint64_t key);
void densessm_cuda_queue_end();
}

using namespace densessm::runtime;

namespace {

/// What the recording driver saw.
struct Record {
  int streamsCreated = 0, waits = 0, launches = 0, frees = 0;
  // The order of launches (L), copies (C; c: one captured), sets (Z),
  // waits (W) and graph launches (G).
  std::string events;
  // Copies and sets, the streams they were on, and a result for copies.
  int copies = 0, memsets = 0;
  std::vector<CUstream> copyStreams;
  CUresult copyResult = 0;
  // cuLaunchKernelEx: its launches, and the last one's configuration,
  // attribute and arguments.
  int programmaticLaunches = 0;
  CUlaunchConfig lastConfig{};
  CUlaunchAttribute lastAttribute{};
  void **lastParams = nullptr;
  int waitsBeforeFree = -1;   // the waits when the driver freed a buffer
  std::vector<CUstream> launchStreams;
  const void *loadedImage = nullptr;
  bool jitCompiled = false;
  CUresult launchResult = 0;
  // Graphs: the stream capturing (null: none), launches it captured, and
  // what was done with the graphs.
  CUstream capturing = nullptr;
  bool invalidated = false;
  int captured = 0, waitsWhileCapturing = 0, instantiations = 0,
      updates = 0, refusedUpdates = 0, graphLaunches = 0, graphsDestroyed = 0;
  std::vector<int> launchedGraphNodes;
};
Record record;

/// A recorded graph and executable graph: how many launches they hold.
struct RecordedGraph {
  int nodes;
};
CUgraph graphOf(int nodes) {
  return reinterpret_cast<CUgraph>(new RecordedGraph{nodes});
}
int nodesOf(void *graph) { return static_cast<RecordedGraph *>(graph)->nodes; }

CUresult ok() { return 0; }

CUDADriver recordingDriver() {
  CUDADriver driver{};
  driver.cuCtxSetCurrent = [](CUcontext) { return ok(); };
  driver.cuStreamCreate = [](CUstream *stream, unsigned) {
    // Distinct handles across tests: the runtime keeps its streams per
    // thread, from one test to the next.
    static uintptr_t next = 0x100;
    *stream = reinterpret_cast<CUstream>(next++);
    ++record.streamsCreated;
    return ok();
  };
  driver.cuStreamSynchronize = [](CUstream stream) {
    ++record.waits;
    record.events += 'W';
    // A driver invalidates the capture; the runtime must not do this.
    if (stream == record.capturing)
      ++record.waitsWhileCapturing;
    return ok();
  };
  driver.cuLaunchKernel = [](CUfunction, unsigned, unsigned, unsigned,
                             unsigned, unsigned, unsigned, unsigned,
                             CUstream stream, void **, void **) {
    if (stream == record.capturing) {
      // A call that fails in a capture invalidates it.
      if (record.launchResult != 0)
        record.invalidated = true;
      else
        ++record.captured;
      return record.launchResult;
    }
    ++record.launches;
    record.events += 'L';
    record.launchStreams.push_back(stream);
    return record.launchResult;
  };
  driver.cuLaunchKernelEx = [](const CUlaunchConfig *config, CUfunction,
                               void **params, void **) {
    ++record.programmaticLaunches;
    record.lastConfig = *config;
    EXPECT_EQ(config->numAttrs, 1u);
    if (config->numAttrs == 1)
      record.lastAttribute = config->attrs[0];
    record.lastParams = params;
    return ok();
  };
  // A kernel's handle: its module's, plus one.
  driver.cuModuleGetFunction = [](CUfunction *function, CUmodule module,
                                  const char *) {
    *function = reinterpret_cast<CUfunction>(
        reinterpret_cast<uintptr_t>(module) + 1);
    return ok();
  };
  driver.cuModuleUnload = [](CUmodule) { return ok(); };
  driver.cuMemAlloc = [](CUdeviceptr *pointer, size_t bytes) {
    *pointer = CUdeviceptr(reinterpret_cast<uintptr_t>(std::malloc(bytes)));
    return ok();
  };
  driver.cuMemAllocManaged = [](CUdeviceptr *pointer, size_t bytes,
                                unsigned) {
    *pointer = CUdeviceptr(reinterpret_cast<uintptr_t>(std::malloc(bytes)));
    return ok();
  };
  driver.cuMemFree = [](CUdeviceptr pointer) {
    ++record.frees;
    record.waitsBeforeFree = record.waits;
    std::free(reinterpret_cast<void *>(uintptr_t(pointer)));
    return ok();
  };
  // Device memory is host memory here: copies and sets are done.
  driver.cuMemcpyAsync = [](CUdeviceptr destination, CUdeviceptr source,
                            size_t bytes, CUstream stream) {
    if (record.copyResult != 0)
      return record.copyResult;
    ++record.copies;
    record.events += stream == record.capturing ? 'c' : 'C';
    record.copyStreams.push_back(stream);
    std::memcpy(reinterpret_cast<void *>(uintptr_t(destination)),
                reinterpret_cast<const void *>(uintptr_t(source)), bytes);
    return ok();
  };
  driver.cuMemsetD32Async = [](CUdeviceptr destination, unsigned value,
                               size_t count, CUstream) {
    ++record.memsets;
    record.events += 'Z';
    auto *words = reinterpret_cast<uint32_t *>(uintptr_t(destination));
    std::fill(words, words + count, value);
    return ok();
  };
  driver.cuModuleLoadData = [](CUmodule *module, const void *image) {
    record.loadedImage = image;
    *module = reinterpret_cast<CUmodule>(uintptr_t(0x200));
    return ok();
  };
  driver.cuModuleLoadDataEx = [](CUmodule *module, const void *, unsigned,
                                 CUjit_option *, void **) {
    record.jitCompiled = true;
    *module = reinterpret_cast<CUmodule>(uintptr_t(0x300));
    return ok();
  };
  driver.cuStreamBeginCapture = [](CUstream stream, int mode) {
    EXPECT_EQ(mode, kStreamCaptureModeRelaxed);
    record.capturing = stream;
    record.captured = 0;
    return ok();
  };
  driver.cuStreamEndCapture = [](CUstream stream, CUgraph *graph) {
    EXPECT_EQ(stream, record.capturing);
    record.capturing = nullptr;
    if (std::exchange(record.invalidated, false)) {
      *graph = nullptr;
      return CUresult(901); // CUDA_ERROR_STREAM_CAPTURE_INVALIDATED
    }
    *graph = graphOf(record.captured);
    return ok();
  };
  driver.cuGraphInstantiate = [](CUgraphExec *executable, CUgraph graph,
                                 unsigned long long) {
    ++record.instantiations;
    *executable = reinterpret_cast<CUgraphExec>(graphOf(nodesOf(graph)));
    return ok();
  };
  driver.cuGraphExecUpdate = [](CUgraphExec executable, CUgraph graph,
                                CUgraphExecUpdateResultInfo *) {
    if (nodesOf(executable) != nodesOf(graph)) {
      ++record.refusedUpdates;
      return CUresult(910); // CUDA_ERROR_GRAPH_EXEC_UPDATE_FAILURE
    }
    ++record.updates;
    return ok();
  };
  driver.cuGraphLaunch = [](CUgraphExec executable, CUstream) {
    ++record.graphLaunches;
    record.events += 'G';
    record.launchedGraphNodes.push_back(nodesOf(executable));
    return ok();
  };
  driver.cuGraphDestroy = [](CUgraph graph) {
    ++record.graphsDestroyed;
    delete reinterpret_cast<RecordedGraph *>(graph);
    return ok();
  };
  driver.cuGraphExecDestroy = [](CUgraphExec executable) {
    delete reinterpret_cast<RecordedGraph *>(executable);
    return ok();
  };
  driver.cuGetErrorString = [](CUresult, const char **message) {
    *message = "recorded failure";
    return ok();
  };
  driver.deviceName = "recording driver";
  driver.computeCapability = 90;
  return driver;
}

class MGPURuntime : public ::testing::Test {
protected:
  void SetUp() override { record = Record(); }
  void TearDown() override { DeviceMemoryPool::instance().trim(driver); }

  void launchOn(void *stream) {
    void *function = reinterpret_cast<void *>(uintptr_t(0x400));
    mgpuLaunchKernel(function, 1, 1, 1, 32, 1, 1, 0, stream, nullptr, nullptr,
                     0);
  }

  /// One run of a queued entry point, as its host code does it:
  /// `launches` launches, each on a stream it asks for, waits on and
  /// destroys.
  void runQueue(uint64_t key, int launches) {
    densessm_cuda_queue_begin(key);
    for (int i = 0; i < launches; ++i) {
      void *stream = mgpuStreamCreate();
      launchOn(stream);
      mgpuStreamSynchronize(stream);
      mgpuStreamDestroy(stream);
    }
    densessm_cuda_queue_end();
  }

  CUDADriver driver = recordingDriver();
};

TEST_F(MGPURuntime, StreamsAreReusedAndLaunchesAreWaitedOn) {
  KernelScope scope(driver, nullptr);
  for (int i = 0; i < 3; ++i) {
    void *stream = mgpuStreamCreate();
    launchOn(stream);
    mgpuStreamSynchronize(stream);
    mgpuStreamDestroy(stream);
  }
  EXPECT_EQ(record.launches, 3);
  EXPECT_EQ(record.waits, 3);
  EXPECT_EQ(record.streamsCreated, 1);
  EXPECT_TRUE(scope.status().isOk()) << scope.status().message();
}

TEST_F(MGPURuntime, WaitsOnStreamsWithoutWorkAreSkipped) {
  KernelScope scope(driver, nullptr);
  // The host code's temporaries: gpu.wait async, gpu.alloc async, gpu.wait;
  // later gpu.wait async, gpu.dealloc async, gpu.wait.
  void *stream = mgpuStreamCreate();
  void *buffer = mgpuMemAlloc(1024, stream, /*hostShared=*/false);
  ASSERT_NE(buffer, nullptr);
  mgpuStreamSynchronize(stream);
  mgpuStreamDestroy(stream);
  stream = mgpuStreamCreate();
  mgpuMemFree(buffer, stream);
  mgpuStreamSynchronize(stream);
  mgpuStreamDestroy(stream);
  EXPECT_EQ(record.waits, 0);
  // A copy is work: its wait reaches the driver, once.
  stream = mgpuStreamCreate();
  char from[8] = {}, to[8] = {};
  mgpuMemcpy(to, from, sizeof to, stream);
  mgpuStreamSynchronize(stream);
  mgpuStreamSynchronize(stream);
  mgpuStreamDestroy(stream);
  EXPECT_EQ(record.waits, 1);
  EXPECT_TRUE(scope.status().isOk()) << scope.status().message();
}

TEST_F(MGPURuntime, AFailedLaunchIsReportedAndLaterOnesSkipped) {
  KernelScope scope(driver, nullptr);
  record.launchResult = 700; // CUDA_ERROR_ILLEGAL_ADDRESS
  void *stream = mgpuStreamCreate();
  launchOn(stream);
  launchOn(stream);
  mgpuStreamSynchronize(stream);
  mgpuStreamDestroy(stream);
  EXPECT_EQ(record.launches, 1);
  ASSERT_FALSE(scope.status().isOk());
  EXPECT_NE(scope.status().message().find("mgpuLaunchKernel"),
            std::string::npos)
      << scope.status().message();
  EXPECT_NE(scope.status().message().find("recorded failure"),
            std::string::npos)
      << scope.status().message();
}

TEST_F(MGPURuntime, ModuleFileObjectsReplaceTheEmbeddedPTX) {
  static const char embedded[] = ".version 8.0\n.target sm_80\n";
  static const char cubin[] = "\x7f" "ELF cubin for sm_90";
  KernelObjects objects;
  objects[kernelObjectKey(embedded, std::strlen(embedded))] = {
      cubin, sizeof cubin, /*cubin=*/true, "sm_90"};
  {
    KernelScope scope(driver, &objects);
    EXPECT_NE(mgpuModuleLoadJIT(const_cast<char *>(embedded), 3), nullptr);
    EXPECT_EQ(record.loadedImage, static_cast<const void *>(cubin));
    EXPECT_FALSE(record.jitCompiled);
  }
  // Without the module file's objects the embedded PTX is JIT-compiled.
  KernelScope scope(driver, nullptr);
  EXPECT_NE(mgpuModuleLoadJIT(const_cast<char *>(embedded), 3), nullptr);
  EXPECT_TRUE(record.jitCompiled);
}

TEST_F(MGPURuntime, KernelsThatWaitAreLaunchedWithProgrammaticSerialization) {
  static const char embedded[] = ".version 8.0\n.target sm_80\n// waits\n";
  static const char cubin[] = "\x7f" "ELF cubin for sm_90, kernels waiting";
  KernelObjects objects;
  objects[kernelObjectKey(embedded, std::strlen(embedded))] = {
      cubin, sizeof cubin, /*cubin=*/true, "sm_90",
      /*programmaticLaunch=*/true};
  KernelScope scope(driver, &objects);
  void *waiting = mgpuModuleLoadJIT(const_cast<char *>(embedded), 3);
  void *kernel = mgpuModuleGetFunction(waiting, "step_kernel");
  void *stream = mgpuStreamCreate();
  void *params[] = {nullptr};
  mgpuLaunchKernel(kernel, 7, 2, 1, 256, 1, 1, 512, stream, params, nullptr,
                   1);
  EXPECT_EQ(record.programmaticLaunches, 1);
  EXPECT_EQ(record.launches, 0);
  EXPECT_EQ(record.lastAttribute.id,
            kLaunchAttributeProgrammaticStreamSerialization);
  EXPECT_EQ(record.lastAttribute.value.programmaticStreamSerializationAllowed,
            1);
  EXPECT_EQ(record.lastConfig.gridDimX, 7u);
  EXPECT_EQ(record.lastConfig.gridDimY, 2u);
  EXPECT_EQ(record.lastConfig.blockDimX, 256u);
  EXPECT_EQ(record.lastConfig.sharedMemBytes, 512u);
  EXPECT_EQ(record.lastConfig.hStream, static_cast<CUstream>(stream));
  EXPECT_EQ(record.lastParams, params);

  // A module without the flag (here: JIT-compiled, the file has no object
  // for it): cuLaunchKernel.
  static const char other[] = ".version 8.0\n.target sm_80\n// other\n";
  void *plain = mgpuModuleGetFunction(
      mgpuModuleLoadJIT(const_cast<char *>(other), 3), "step_kernel");
  launchOn(stream);
  mgpuLaunchKernel(plain, 1, 1, 1, 32, 1, 1, 0, stream, nullptr, nullptr, 0);
  EXPECT_EQ(record.launches, 2);
  EXPECT_EQ(record.programmaticLaunches, 1);

  // Unloaded, its handles are no longer taken for waiting kernels.
  mgpuModuleUnload(waiting);
  mgpuLaunchKernel(kernel, 1, 1, 1, 32, 1, 1, 0, stream, nullptr, nullptr, 0);
  EXPECT_EQ(record.programmaticLaunches, 1);
  EXPECT_EQ(record.launches, 3);

  mgpuStreamSynchronize(stream);
  mgpuStreamDestroy(stream);
  EXPECT_TRUE(scope.status().isOk()) << scope.status().message();
}

TEST_F(MGPURuntime, QueuedWorkIsWaitedForOnceAtTheEnd) {
  KernelScope scope(driver, nullptr);
  densessm_cuda_queue_begin(1);
  for (int i = 0; i < 3; ++i) {
    // A launch, and a temporary's allocation and free, as the host code
    // does them.
    void *stream = mgpuStreamCreate();
    launchOn(stream);
    mgpuStreamSynchronize(stream);
    mgpuStreamDestroy(stream);
    stream = mgpuStreamCreate();
    void *buffer = mgpuMemAlloc(4096, stream, /*hostShared=*/false);
    mgpuStreamSynchronize(stream);
    mgpuStreamDestroy(stream);
    mgpuMemFree(buffer, stream);
  }
  EXPECT_EQ(record.waits, 0);
  // A buffer the pool does not own (here: from the host) is freed after
  // the queued work.
  void *foreign = std::malloc(16);
  mgpuMemFree(foreign, nullptr);
  EXPECT_EQ(record.frees, 1);
  EXPECT_EQ(record.waitsBeforeFree, 1);
  densessm_cuda_queue_end();
  EXPECT_EQ(record.waits, 2);
  ASSERT_EQ(record.launchStreams.size(), 3u);
  EXPECT_EQ(record.launchStreams[0], record.launchStreams[1]);
  EXPECT_EQ(record.launchStreams[1], record.launchStreams[2]);
  // After the end, launches are waited on again, on another stream.
  void *stream = mgpuStreamCreate();
  launchOn(stream);
  mgpuStreamSynchronize(stream);
  mgpuStreamDestroy(stream);
  EXPECT_EQ(record.waits, 3);
  EXPECT_NE(record.launchStreams.back(), record.launchStreams[0]);
  EXPECT_TRUE(scope.status().isOk()) << scope.status().message();
}

TEST_F(MGPURuntime, BuffersFreedInAQueueStayWithItUntilItsEnd) {
  KernelScope scope(driver, nullptr);
  DeviceMemoryPool &pool = DeviceMemoryPool::instance();
  densessm_cuda_queue_begin(1);
  void *first = mgpuMemAlloc(3000, nullptr, /*hostShared=*/false);
  mgpuMemFree(first, nullptr);
  // The same queue takes it again (its next user is queued after the last).
  void *again = mgpuMemAlloc(3000, nullptr, /*hostShared=*/false);
  EXPECT_EQ(again, first);
  mgpuMemFree(again, nullptr);
  // Another thread, asking the pool meanwhile, does not get it.
  CUresult result = 0;
  CUdeviceptr other = pool.allocate(driver, 3000, false, result);
  EXPECT_NE(reinterpret_cast<void *>(uintptr_t(other)), first);
  EXPECT_EQ(record.waits, 0);
  densessm_cuda_queue_end();
  EXPECT_EQ(record.waits, 1);
  // After the wait it is the pool's again.
  CUdeviceptr after = pool.allocate(driver, 3000, false, result);
  EXPECT_EQ(reinterpret_cast<void *>(uintptr_t(after)), first);
  pool.release(other);
  pool.release(after);
  EXPECT_TRUE(scope.status().isOk()) << scope.status().message();
}

TEST_F(MGPURuntime, ANestedScopeFinishesTheOpenQueueFirst) {
  KernelScope outer(driver, nullptr);
  densessm_cuda_queue_begin(1);
  void *stream = mgpuStreamCreate();
  launchOn(stream);
  mgpuStreamSynchronize(stream);
  EXPECT_EQ(record.waits, 0);
  {
    // Work in the inner scope is not ordered after the queue's otherwise.
    KernelScope inner(driver, nullptr);
    EXPECT_EQ(record.waits, 1);
    EXPECT_EQ(mgpuQueueStream(), nullptr);
  }
  densessm_cuda_queue_end();
  EXPECT_TRUE(outer.status().isOk()) << outer.status().message();
}

TEST_F(MGPURuntime, QueuesAreReplayedAsGraphsFromTheirSecondRun) {
  QueueGraphs graphs(driver, /*enabled=*/true);
  KernelScope scope(driver, nullptr, &graphs);
  // The first run launches its kernels (and creates what a capture must
  // not: cuBLAS handles, pool buffers).
  runQueue(7, 3);
  EXPECT_EQ(record.launches, 3);
  EXPECT_EQ(record.graphLaunches, 0);
  EXPECT_EQ(record.waits, 1);
  // The second is captured, instantiated and launched as one graph.
  runQueue(7, 3);
  EXPECT_EQ(record.launches, 3);
  EXPECT_EQ(record.instantiations, 1);
  EXPECT_EQ(record.graphLaunches, 1);
  EXPECT_EQ(record.waits, 2);
  // The third updates that graph instead of instantiating another.
  runQueue(7, 3);
  EXPECT_EQ(record.instantiations, 1);
  EXPECT_EQ(record.updates, 1);
  EXPECT_EQ(record.graphLaunches, 2);
  // Another path through the host code (4 launches): the update is
  // refused, and a new graph instantiated.
  runQueue(7, 4);
  EXPECT_EQ(record.refusedUpdates, 1);
  EXPECT_EQ(record.instantiations, 2);
  EXPECT_EQ(record.launchedGraphNodes, (std::vector<int>{3, 3, 4}));
  // Another entry point starts with a run of its own.
  runQueue(8, 2);
  EXPECT_EQ(record.launches, 5);
  EXPECT_EQ(record.graphLaunches, 3);
  EXPECT_EQ(record.waitsWhileCapturing, 0);
  EXPECT_EQ(record.graphsDestroyed, 3); // every captured graph
  EXPECT_EQ(graphs.counts().instantiations, 2u);
  EXPECT_EQ(graphs.counts().updates, 1u);
  EXPECT_TRUE(scope.status().isOk()) << scope.status().message();
}

TEST_F(MGPURuntime, DisabledGraphsNeverCapture) {
  QueueGraphs graphs(driver, /*enabled=*/false);
  KernelScope scope(driver, nullptr, &graphs);
  for (int run = 0; run < 3; ++run)
    runQueue(7, 3);
  EXPECT_EQ(record.launches, 9);
  EXPECT_EQ(record.graphLaunches, 0);
  EXPECT_EQ(record.waits, 3);
}

TEST_F(MGPURuntime, AWaitInACaptureLaunchesThePartSoFarAndResumes) {
  QueueGraphs graphs(driver, /*enabled=*/true);
  KernelScope scope(driver, nullptr, &graphs);
  runQueue(7, 1);
  densessm_cuda_queue_begin(7);
  launchOn(mgpuStreamCreate());
  launchOn(mgpuStreamCreate());
  // A buffer the pool does not own is freed after the work queued so far:
  // that part is launched and waited for first.
  void *foreign = std::malloc(16);
  mgpuMemFree(foreign, nullptr);
  EXPECT_EQ(record.launchedGraphNodes, (std::vector<int>{2}));
  EXPECT_EQ(record.waitsBeforeFree, 2);
  launchOn(mgpuStreamCreate());
  densessm_cuda_queue_end();
  EXPECT_EQ(record.launchedGraphNodes, (std::vector<int>{2, 1}));
  EXPECT_EQ(record.launches, 1);
  EXPECT_EQ(record.waitsWhileCapturing, 0);
  EXPECT_TRUE(scope.status().isOk()) << scope.status().message();
}

TEST_F(MGPURuntime, AFailedCaptureIsReportedAndNotTriedAgain) {
  QueueGraphs graphs(driver, /*enabled=*/true);
  {
    KernelScope scope(driver, nullptr, &graphs);
    runQueue(7, 1);
    record.launchResult = 1; // CUDA_ERROR_INVALID_VALUE, from the capture
    runQueue(7, 2);
    EXPECT_EQ(record.graphLaunches, 0);
    EXPECT_EQ(record.capturing, nullptr); // the capture was ended
    ASSERT_FALSE(scope.status().isOk());
    EXPECT_NE(scope.status().message().find("mgpuLaunchKernel"),
              std::string::npos)
        << scope.status().message();
  }
  // The next run of that queue launches its kernels as they come.
  record.launchResult = 0;
  KernelScope scope(driver, nullptr, &graphs);
  runQueue(7, 2);
  EXPECT_EQ(record.launches, 3);
  EXPECT_EQ(record.graphLaunches, 0);
  EXPECT_TRUE(scope.status().isOk()) << scope.status().message();
}

TEST_F(MGPURuntime, EachThreadsFirstRunOfAQueueIsNotCaptured) {
  QueueGraphs graphs(driver, /*enabled=*/true);
  auto run = [&] {
    KernelScope scope(driver, nullptr, &graphs);
    runQueue(7, 2);
    EXPECT_TRUE(scope.status().isOk()) << scope.status().message();
  };
  run();
  // Another thread's first run creates its own cuBLAS handle and buffers.
  std::thread other(run);
  other.join();
  EXPECT_EQ(record.launches, 4);
  EXPECT_EQ(record.graphLaunches, 0);
  run();
  EXPECT_EQ(record.graphLaunches, 1);
}

} // namespace

TEST_F(MGPURuntime, SessionMemoryIsZeroedOnTheGPU) {
  KernelScope scope(driver, nullptr);
  auto *first = static_cast<float *>(allocateGPUSessionMemory(40));
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(record.memsets, 1);
  EXPECT_EQ(record.waits, 1);
  EXPECT_TRUE(std::all_of(first, first + 10, [](float x) { return x == 0; }));
  // Not the host code's pool: given back to the driver when freed.
  bool managed = false;
  uint64_t bytes = 0;
  EXPECT_FALSE(DeviceMemoryPool::instance().inUse(
      CUdeviceptr(reinterpret_cast<uintptr_t>(first)), managed, bytes));
  std::fill(first, first + 10, 7.0f);
  freeGPUSessionMemory(first);
  EXPECT_EQ(record.frees, 1);
  auto *second = static_cast<float *>(allocateGPUSessionMemory(40));
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(record.memsets, 2);
  EXPECT_TRUE(std::all_of(second, second + 10, [](float x) { return x == 0; }));
  freeGPUSessionMemory(second);
  EXPECT_TRUE(scope.status().isOk()) << scope.status().message();
}

TEST_F(MGPURuntime, TransfersShareOneStreamAndOneWait) {
  KernelScope scope(driver, nullptr);
  auto *state = static_cast<float *>(allocateGPUSessionMemory(16));
  ASSERT_NE(state, nullptr);
  record = Record();
  float in[4] = {1, 2, 3, 4}, out[4] = {};
  mgpuTransferAndWait({{state, in, sizeof(in)},
                 {state + 1, in, 0}, // nothing to copy: no copy
                 {state + 2, nullptr, 8}, // zeroed
                 {out, state, sizeof(out)}});
  EXPECT_EQ(record.copies, 2);
  EXPECT_EQ(record.memsets, 1);
  ASSERT_EQ(record.copyStreams.size(), 2u);
  EXPECT_EQ(record.copyStreams[0], record.copyStreams[1]);
  EXPECT_EQ(record.waits, 1);
  EXPECT_EQ(out[0], 1.0f);
  EXPECT_EQ(out[1], 2.0f);
  EXPECT_EQ(out[2], 0.0f);
  EXPECT_EQ(out[3], 0.0f);
  // Nothing to transfer: no stream work, no wait.
  mgpuTransferAndWait({});
  EXPECT_EQ(record.waits, 1);
  freeGPUSessionMemory(state);
  EXPECT_TRUE(scope.status().isOk()) << scope.status().message();
}

TEST_F(MGPURuntime, AFailedTransferIsReported) {
  KernelScope scope(driver, nullptr);
  float in[2] = {1, 2}, out[2] = {};
  record.copyResult = 700; // CUDA_ERROR_ILLEGAL_ADDRESS
  mgpuTransferAndWait({{out, in, sizeof(in)}});
  ASSERT_FALSE(scope.status().isOk());
  EXPECT_NE(scope.status().message().find("mgpuMemcpy"), std::string::npos)
      << scope.status().message();
}

TEST_F(MGPURuntime, AQueuedRunCopiesAroundItsWorkUnderOneWait) {
  QueueGraphs graphs(driver, /*enabled=*/true);
  KernelScope scope(driver, nullptr, &graphs);
  float in[2] = {1, 2}, device[2] = {}, out[2] = {};
  for (int run = 0; run < 3; ++run) {
    record.events.clear();
    mgpuSetQueueTransfers({{device, in, sizeof(in)}},
                          {{out, device, sizeof(out)}});
    runQueue(0x99, 2);
    mgpuFinishQueueTransfers(); // nothing left to do
    // The first run launches its kernels; later ones their graph.
    EXPECT_EQ(record.events, run == 0 ? "CLLCW" : "CGCW") << "run " << run;
  }
  EXPECT_EQ(out[1], 2.0f);
  EXPECT_TRUE(scope.status().isOk()) << scope.status().message();
}

TEST_F(MGPURuntime, HostCodeOutsideAQueueWaitsForTheCopiesInFirst) {
  KernelScope scope(driver, nullptr);
  float in[2] = {1, 2}, device[2] = {}, out[2] = {};
  mgpuSetQueueTransfers({{device, in, sizeof(in)}},
                        {{out, device, sizeof(out)}});
  void *stream = mgpuStreamCreate();
  launchOn(stream);
  mgpuStreamSynchronize(stream);
  mgpuStreamDestroy(stream);
  mgpuFinishQueueTransfers();
  EXPECT_EQ(record.events, "CWLWCW");
  EXPECT_EQ(out[1], 2.0f);
  // No GPU work at all: both copies at the end, one wait.
  record.events.clear();
  mgpuSetQueueTransfers({{device, in, sizeof(in)}},
                        {{out, nullptr, sizeof(out)}});
  mgpuFinishQueueTransfers();
  EXPECT_EQ(record.events, "CZW");
  EXPECT_EQ(out[1], 0.0f);
  EXPECT_TRUE(scope.status().isOk()) << scope.status().message();
}

TEST_F(MGPURuntime, AFailedQueuedRunCopiesNothingOut) {
  KernelScope scope(driver, nullptr);
  float in[2] = {1, 2}, device[2] = {}, out[2] = {};
  record.launchResult = 700; // CUDA_ERROR_ILLEGAL_ADDRESS
  mgpuSetQueueTransfers({{device, in, sizeof(in)}},
                        {{out, device, sizeof(out)}});
  runQueue(0x98, 1);
  mgpuFinishQueueTransfers();
  EXPECT_EQ(record.events, "CLW"); // the copy in, the launch, the wait
  EXPECT_EQ(out[1], 0.0f);
  EXPECT_FALSE(scope.status().isOk());
}
