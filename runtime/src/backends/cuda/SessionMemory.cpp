//===- SessionMemory.cpp - a session's buffers on the GPU -----------------===//

#include "SessionMemory.h"

#include "DeviceMemoryPool.h"
#include "MGPURuntime.h"

#include <mutex>
#include <shared_mutex>
#include <string>

namespace densessm::runtime {

void *allocateGPUSessionMemory(uint64_t bytes) {
  const CUDADriver *driver = mgpuReadyDriver();
  if (!driver)
    return nullptr;
  uint64_t words = bytes ? (bytes + 3) / 4 : 1;
  CUdeviceptr pointer = 0;
  CUresult result =
      driver->cuMemAllocManaged(&pointer, words * 4, kMemAttachGlobal);
  if (result != 0) {
    // What the host code's pool keeps may be what is missing.
    DeviceMemoryPool::instance().trim(*driver);
    result = driver->cuMemAllocManaged(&pointer, words * 4, kMemAttachGlobal);
  }
  if (result != 0) {
    mgpuRecordFailure(driver->describe(result, "cuMemAllocManaged") + " (" +
                      std::to_string(bytes) + " bytes of session memory)");
    return nullptr;
  }
  void *memory = reinterpret_cast<void *>(uintptr_t(pointer));
  mgpuTransferAndWait({{memory, nullptr, words * 4}});
  if (mgpuHasFailed()) {
    freeGPUSessionMemory(memory);
    return nullptr;
  }
  return memory;
}

void freeGPUSessionMemory(void *pointer) {
  const CUDADriver *driver = mgpuReadyDriver();
  if (!driver || !pointer)
    return;
  // cuMemFree waits for the device, which would invalidate another
  // thread's open capture (MGPURuntime.h).
  std::unique_lock<std::shared_mutex> guard(mgpuCaptureGuard());
  CUresult result =
      driver->cuMemFree(CUdeviceptr(reinterpret_cast<uintptr_t>(pointer)));
  if (result != 0)
    mgpuRecordFailure(driver->describe(result, "cuMemFree (session memory)"));
}

} // namespace densessm::runtime
