//===- CUDADriver.h - the CUDA driver API, loaded at run time ---*- C++ -*-===//
//
// The runtime never links libcuda: it opens libcuda.so.1 with dlopen and
// resolves the entry points it uses into this one table, so the same binary
// runs on machines with and without a GPU. The types are the driver API's,
// declared here as opaque handles and integers (no CUDA headers needed).
//
//===----------------------------------------------------------------------===//
#ifndef DENSESSM_RUNTIME_SRC_BACKENDS_CUDA_CUDADRIVER_H
#define DENSESSM_RUNTIME_SRC_BACKENDS_CUDA_CUDADRIVER_H

#include "Status.h"

#include <cstddef>
#include <cstdint>
#include <string>

namespace densessm::runtime {

using CUresult = int;
using CUdevice = int;
using CUdeviceptr = uint64_t;
using CUcontext = struct CUctx_st *;
using CUmodule = struct CUmod_st *;
using CUfunction = struct CUfunc_st *;
using CUstream = struct CUstream_st *;
using CUgraph = struct CUgraph_st *;
using CUgraphExec = struct CUgraphExec_st *;
using CUgraphNode = struct CUgraphNode_st *;

using CUjit_option = int;

/// CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_{MAJOR,MINOR}.
constexpr int kComputeCapabilityMajor = 75;
constexpr int kComputeCapabilityMinor = 76;
/// CU_DEVICE_ATTRIBUTE_CONCURRENT_MANAGED_ACCESS: managed memory can be
/// prefetched to the GPU.
constexpr int kConcurrentManagedAccess = 89;
/// CU_MEM_ATTACH_GLOBAL (cuMemAllocManaged).
constexpr unsigned kMemAttachGlobal = 1;
/// CU_STREAM_NON_BLOCKING (cuStreamCreate).
constexpr unsigned kStreamNonBlocking = 1;
/// CU_STREAM_CAPTURE_MODE_RELAXED (cuStreamBeginCapture): the capturing
/// thread may still call the driver's unsafe functions (cuMemAlloc, when
/// the memory pool grows during a capture).
constexpr int kStreamCaptureModeRelaxed = 2;
/// cuGraphExecUpdate's report (CUgraphExecUpdateResultInfo).
struct CUgraphExecUpdateResultInfo {
  int result;
  CUgraphNode errorNode;
  CUgraphNode errorFromNode;
};
/// cuLaunchKernelEx's launch attribute (cuda.h's CUlaunchAttribute: an id
/// padded to 8 bytes, then a 64-byte union of values) and its one id used
/// here, CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION: the kernel
/// may be scheduled before the kernel before it in the stream ends (it
/// waits with griddepcontrol.wait where it must).
constexpr int kLaunchAttributeProgrammaticStreamSerialization = 6;
struct CUlaunchAttribute {
  int id;
  char pad[4];
  union {
    char bytes[64];
    int programmaticStreamSerializationAllowed;
  } value;
};
/// cuda.h's CUlaunchConfig.
struct CUlaunchConfig {
  unsigned gridDimX, gridDimY, gridDimZ;
  unsigned blockDimX, blockDimY, blockDimZ;
  unsigned sharedMemBytes;
  CUstream hStream;
  CUlaunchAttribute *attrs;
  unsigned numAttrs;
};
/// cuda.h's CUmemLocation, and the type of one used here,
/// CU_MEM_LOCATION_TYPE_DEVICE (id: the device's ordinal).
struct CUmemLocation {
  int type;
  int id;
};
constexpr int kMemLocationTypeDevice = 1;
static_assert(sizeof(CUlaunchAttribute) == 72 &&
                  offsetof(CUlaunchAttribute, value) == 8 &&
                  sizeof(CUlaunchConfig) == 56 &&
                  offsetof(CUlaunchConfig, hStream) == 32 &&
                  offsetof(CUlaunchConfig, numAttrs) == 48,
              "the layouts of cuda.h's CUlaunchAttribute and CUlaunchConfig "
              "(CUDA 12 and 13)");

/// CUjit_option values (cuModuleLoadDataEx).
constexpr CUjit_option kJitErrorLogBuffer = 5;
constexpr CUjit_option kJitErrorLogBufferSizeBytes = 6;
constexpr CUjit_option kJitOptimizationLevel = 7;

struct CUDADriver {
  CUresult (*cuInit)(unsigned);
  CUresult (*cuDriverGetVersion)(int *);
  CUresult (*cuDeviceGetCount)(int *);
  CUresult (*cuDeviceGet)(CUdevice *, int);
  CUresult (*cuDeviceGetName)(char *, int, CUdevice);
  CUresult (*cuDeviceGetAttribute)(int *, int, CUdevice);
  CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *, CUdevice);
  CUresult (*cuCtxSetCurrent)(CUcontext);
  CUresult (*cuCtxSynchronize)();
  CUresult (*cuModuleLoadData)(CUmodule *, const void *);
  CUresult (*cuModuleLoadDataEx)(CUmodule *, const void *, unsigned,
                                 CUjit_option *, void **);
  CUresult (*cuModuleUnload)(CUmodule);
  CUresult (*cuModuleGetFunction)(CUfunction *, CUmodule, const char *);
  CUresult (*cuLaunchKernel)(CUfunction, unsigned, unsigned, unsigned,
                             unsigned, unsigned, unsigned, unsigned, CUstream,
                             void **, void **);
  CUresult (*cuLaunchKernelEx)(const CUlaunchConfig *, CUfunction, void **,
                               void **);
  CUresult (*cuMemAlloc)(CUdeviceptr *, size_t);
  CUresult (*cuMemAllocManaged)(CUdeviceptr *, size_t, unsigned);
  CUresult (*cuMemFree)(CUdeviceptr);
  CUresult (*cuMemcpy)(CUdeviceptr, CUdeviceptr, size_t);
  CUresult (*cuMemcpyAsync)(CUdeviceptr, CUdeviceptr, size_t, CUstream);
  CUresult (*cuMemcpyHtoD)(CUdeviceptr, const void *, size_t);
  CUresult (*cuMemcpyDtoH)(void *, CUdeviceptr, size_t);
  CUresult (*cuMemsetD32)(CUdeviceptr, unsigned, size_t);
  /// cuMemPrefetchAsync_v2 (drivers of CUDA 12.2 and later); null when the
  /// driver lacks it or the GPU cannot prefetch managed memory (it then
  /// moves page by page, as touched).
  CUresult (*cuMemPrefetchAsync)(CUdeviceptr, size_t, CUmemLocation, unsigned,
                                 CUstream) = nullptr;
  CUresult (*cuMemsetD32Async)(CUdeviceptr, unsigned, size_t, CUstream);
  CUresult (*cuMemsetD16Async)(CUdeviceptr, unsigned short, size_t, CUstream);
  CUresult (*cuStreamCreate)(CUstream *, unsigned);
  CUresult (*cuStreamSynchronize)(CUstream);
  CUresult (*cuStreamDestroy)(CUstream);
  CUresult (*cuStreamBeginCapture)(CUstream, int);
  CUresult (*cuStreamEndCapture)(CUstream, CUgraph *);
  CUresult (*cuGraphInstantiate)(CUgraphExec *, CUgraph, unsigned long long);
  CUresult (*cuGraphExecUpdate)(CUgraphExec, CUgraph,
                                CUgraphExecUpdateResultInfo *);
  CUresult (*cuGraphLaunch)(CUgraphExec, CUstream);
  CUresult (*cuGraphDestroy)(CUgraph);
  CUresult (*cuGraphExecDestroy)(CUgraphExec);
  CUresult (*cuGetErrorString)(CUresult, const char **);

  CUdevice device = 0;
  CUcontext context = nullptr;
  int computeCapability = 0; // e.g. 90 for sm_90
  std::string deviceName;

  /// Describes a failed driver call: "<what>: CUDA error N (<message>)".
  std::string describe(CUresult result, const char *what) const;
};

/// Opens libcuda.so.1 (once per process), initialises the driver and picks
/// device 0. Errors say what is missing: the driver library, a symbol, or a
/// GPU.
Status loadCUDADriver(const CUDADriver *&out);

} // namespace densessm::runtime

#endif // DENSESSM_RUNTIME_SRC_BACKENDS_CUDA_CUDADRIVER_H
