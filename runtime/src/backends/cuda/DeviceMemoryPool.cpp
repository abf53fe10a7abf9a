//===- DeviceMemoryPool.cpp - reuse of the host code's GPU buffers --------===//

#include "DeviceMemoryPool.h"

namespace densessm::runtime {

uint64_t DeviceMemoryPool::sizeClass(uint64_t bytes) {
  // 256-byte granules (cuMemAlloc's alignment) up to 4 KiB, then each power
  // of two split in four.
  if (bytes <= 4096)
    return (bytes + 255) / 256 * 256;
  unsigned log = 63 - __builtin_clzll(bytes - 1); // 2^log < bytes <= 2^(log+1)
  uint64_t base = uint64_t(1) << log;
  uint64_t step = base / 4;
  return base + (bytes - base + step - 1) / step * step;
}

CUdeviceptr DeviceMemoryPool::allocate(const CUDADriver &driver,
                                       uint64_t bytes, bool managed,
                                       CUresult &result) {
  Key key{managed, sizeClass(bytes)};
  std::lock_guard<std::mutex> lock(mutex);
  result = 0;
  auto found = kept.find(key);
  if (found != kept.end() && !found->second.empty()) {
    CUdeviceptr pointer = found->second.back();
    found->second.pop_back();
    handedOut.emplace(pointer, key);
    return pointer;
  }
  auto fresh = [&](CUdeviceptr &pointer) {
    return managed ? driver.cuMemAllocManaged(&pointer, key.bytes,
                                              kMemAttachGlobal)
                   : driver.cuMemAlloc(&pointer, key.bytes);
  };
  CUdeviceptr pointer = 0;
  result = fresh(pointer);
  if (result != 0) {
    // Out of memory, perhaps only because of what the pool keeps.
    for (auto &[_, pointers] : kept)
      for (CUdeviceptr kept : pointers)
        driver.cuMemFree(kept);
    kept.clear();
    result = fresh(pointer);
    if (result != 0)
      return 0;
  }
  handedOut.emplace(pointer, key);
  return pointer;
}

bool DeviceMemoryPool::release(CUdeviceptr pointer) {
  std::lock_guard<std::mutex> lock(mutex);
  auto found = handedOut.find(pointer);
  if (found == handedOut.end())
    return false;
  kept[found->second].push_back(pointer);
  handedOut.erase(found);
  return true;
}

bool DeviceMemoryPool::inUse(CUdeviceptr pointer, bool &managed,
                             uint64_t &bytes) {
  std::lock_guard<std::mutex> lock(mutex);
  auto found = handedOut.find(pointer);
  if (found == handedOut.end())
    return false;
  managed = found->second.managed;
  bytes = found->second.bytes;
  return true;
}

void DeviceMemoryPool::trim(const CUDADriver &driver) {
  std::lock_guard<std::mutex> lock(mutex);
  for (auto &[_, pointers] : kept)
    for (CUdeviceptr pointer : pointers)
      driver.cuMemFree(pointer);
  kept.clear();
}

DeviceMemoryPool &DeviceMemoryPool::instance() {
  static DeviceMemoryPool *pool = new DeviceMemoryPool; // never destroyed:
  // the host code's destructors may free buffers at process exit.
  return *pool;
}

} // namespace densessm::runtime
