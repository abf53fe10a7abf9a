//===- CUDADriver.cpp - open libcuda and resolve the symbol table ---------===//

#include "CUDADriver.h"

#include <dlfcn.h>
#include <mutex>

namespace densessm::runtime {

std::string CUDADriver::describe(CUresult result, const char *what) const {
  const char *text = nullptr;
  if (cuGetErrorString)
    cuGetErrorString(result, &text);
  return std::string(what) + ": CUDA error " + std::to_string(result) + " (" +
         (text ? text : "unknown") + ")";
}

namespace {

/// Resolves the exported symbol `symbol` into `slot`, or adds `name` to
/// the missing ones. The symbol is explicit because the driver exports
/// several versions of some entry points, not all with the same signature
/// (cuMemAlloc_v2 is cuMemAlloc with 64-bit sizes, but cuCtxSynchronize_v2
/// takes a context).
template <typename Function>
bool resolve(void *library, const char *name, const char *symbol,
             Function &slot, std::string &missing) {
  void *address = dlsym(library, symbol);
  if (!address) {
    missing += missing.empty() ? name : std::string(", ") + name;
    return false;
  }
  slot = reinterpret_cast<Function>(address);
  return true;
}

Status loadOnce(CUDADriver &driver) {
  void *library = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!library)
    return errorOf("no CUDA driver on this machine (", dlerror(),
                   "); install the NVIDIA driver or use the CPU");
  std::string missing;
#define DSSM_RESOLVE(name) resolve(library, #name, #name, driver.name, missing)
#define DSSM_RESOLVE_V2(name)                                                  \
  resolve(library, #name, #name "_v2", driver.name, missing)
  DSSM_RESOLVE(cuInit);
  DSSM_RESOLVE(cuDriverGetVersion);
  DSSM_RESOLVE(cuDeviceGetCount);
  DSSM_RESOLVE(cuDeviceGet);
  DSSM_RESOLVE(cuDeviceGetName);
  DSSM_RESOLVE(cuDeviceGetAttribute);
  DSSM_RESOLVE(cuDevicePrimaryCtxRetain);
  DSSM_RESOLVE(cuCtxSetCurrent);
  DSSM_RESOLVE(cuCtxSynchronize);
  DSSM_RESOLVE(cuModuleLoadData);
  DSSM_RESOLVE(cuModuleLoadDataEx);
  DSSM_RESOLVE(cuModuleUnload);
  DSSM_RESOLVE(cuModuleGetFunction);
  DSSM_RESOLVE(cuLaunchKernel);
  DSSM_RESOLVE(cuLaunchKernelEx);
  DSSM_RESOLVE_V2(cuMemAlloc);
  DSSM_RESOLVE(cuMemAllocManaged);
  DSSM_RESOLVE_V2(cuMemFree);
  DSSM_RESOLVE(cuMemcpy);
  DSSM_RESOLVE(cuMemcpyAsync);
  DSSM_RESOLVE_V2(cuMemcpyHtoD);
  DSSM_RESOLVE_V2(cuMemcpyDtoH);
  DSSM_RESOLVE_V2(cuMemsetD32);
  DSSM_RESOLVE(cuMemsetD32Async);
  DSSM_RESOLVE(cuMemsetD16Async);
  DSSM_RESOLVE(cuStreamCreate);
  DSSM_RESOLVE(cuStreamSynchronize);
  DSSM_RESOLVE_V2(cuStreamDestroy);
  // CUDA graphs (QueueGraphs.h), as cuda.h 12+ names them.
  DSSM_RESOLVE_V2(cuStreamBeginCapture);
  DSSM_RESOLVE(cuStreamEndCapture);
  resolve(library, "cuGraphInstantiate", "cuGraphInstantiateWithFlags",
          driver.cuGraphInstantiate, missing);
  DSSM_RESOLVE_V2(cuGraphExecUpdate);
  DSSM_RESOLVE(cuGraphLaunch);
  DSSM_RESOLVE(cuGraphDestroy);
  DSSM_RESOLVE(cuGraphExecDestroy);
  DSSM_RESOLVE(cuGetErrorString);
  // Optional: an older driver's weights move to the GPU as they are touched.
  driver.cuMemPrefetchAsync =
      reinterpret_cast<decltype(driver.cuMemPrefetchAsync)>(
          dlsym(library, "cuMemPrefetchAsync_v2"));
#undef DSSM_RESOLVE_V2
#undef DSSM_RESOLVE
  if (!missing.empty())
    return errorOf("the CUDA driver (libcuda.so.1) lacks ", missing,
                   "; it is older than this runtime needs");
  if (CUresult result = driver.cuInit(0))
    return errorOf(driver.describe(result, "cuInit"));
  int count = 0;
  if (CUresult result = driver.cuDeviceGetCount(&count))
    return errorOf(driver.describe(result, "cuDeviceGetCount"));
  if (count == 0)
    return errorOf("the CUDA driver found no GPU on this machine");
  if (CUresult result = driver.cuDeviceGet(&driver.device, 0))
    return errorOf(driver.describe(result, "cuDeviceGet"));
  char name[256] = {};
  driver.cuDeviceGetName(name, sizeof name, driver.device);
  driver.deviceName = name;
  int major = 0, minor = 0;
  driver.cuDeviceGetAttribute(&major, kComputeCapabilityMajor, driver.device);
  driver.cuDeviceGetAttribute(&minor, kComputeCapabilityMinor, driver.device);
  driver.computeCapability = major * 10 + minor;
  int prefetches = 0;
  driver.cuDeviceGetAttribute(&prefetches, kConcurrentManagedAccess,
                              driver.device);
  if (!prefetches)
    driver.cuMemPrefetchAsync = nullptr;
  if (CUresult result =
          driver.cuDevicePrimaryCtxRetain(&driver.context, driver.device))
    return errorOf(driver.describe(result, "cuDevicePrimaryCtxRetain"));
  return Status::ok();
}

} // namespace

Status loadCUDADriver(const CUDADriver *&out) {
  static CUDADriver driver;
  static Status status = Status::ok();
  static std::once_flag once;
  std::call_once(once, [] { status = loadOnce(driver); });
  if (!status.isOk())
    return status;
  out = &driver;
  return Status::ok();
}

} // namespace densessm::runtime
