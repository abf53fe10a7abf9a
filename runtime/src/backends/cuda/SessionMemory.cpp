//===- SessionMemory.cpp - a session's buffers on the GPU -----------------===//

#include "SessionMemory.h"

#include "MGPURuntime.h"

namespace densessm::runtime {

void *allocateGPUSessionMemory(uint64_t bytes) {
  uint64_t words = (bytes + 3) / 4;
  void *pointer = mgpuMemAlloc(words * 4, nullptr, /*hostShared=*/true);
  if (!pointer)
    return nullptr;
  void *stream = mgpuStreamCreate();
  mgpuMemset32(pointer, 0, words, stream);
  mgpuStreamSynchronize(stream);
  mgpuStreamDestroy(stream);
  if (mgpuHasFailed()) {
    freeGPUSessionMemory(pointer);
    return nullptr;
  }
  return pointer;
}

void freeGPUSessionMemory(void *pointer) { mgpuMemFree(pointer, nullptr); }

void transferOnGPU(const std::vector<Transfer> &copies) {
  if (copies.empty())
    return;
  void *stream = mgpuStreamCreate();
  for (const Transfer &copy : copies)
    if (copy.bytes)
      mgpuMemcpy(copy.destination, const_cast<void *>(copy.source), copy.bytes,
                 stream);
  mgpuStreamSynchronize(stream);
  mgpuStreamDestroy(stream);
}

} // namespace densessm::runtime
