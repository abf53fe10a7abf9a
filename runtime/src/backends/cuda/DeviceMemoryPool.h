//===- DeviceMemoryPool.h - reuse of the host code's GPU buffers -*- C++ -*-===//
//
// The CUDA host code allocates its temporaries with mgpuMemAlloc and frees
// them with mgpuMemFree on every call: a decode step allocates and frees
// the same few dozen buffers each time. cuMemAlloc(Managed) and cuMemFree
// cost tens of microseconds each, and a fresh managed buffer faults its
// pages onto the GPU on first touch, so calling the driver each time would
// cost more than the step's kernels. The pool keeps freed buffers, by kind
// (device or managed) and size class, and hands them out again.
//
// Safe because the host code frees a buffer only after the kernels that
// use it have finished (each launch is synchronised, and gpu.dealloc runs
// after a gpu.wait). Size classes are powers of two split in four, so a
// reused buffer wastes under a quarter of its size. When an allocation
// fails, the pool returns what it keeps to the driver and tries again.
//
//===----------------------------------------------------------------------===//
#ifndef DENSESSM_RUNTIME_SRC_BACKENDS_CUDA_DEVICEMEMORYPOOL_H
#define DENSESSM_RUNTIME_SRC_BACKENDS_CUDA_DEVICEMEMORYPOOL_H

#include "CUDADriver.h"

#include <cstdint>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace densessm::runtime {

class DeviceMemoryPool {
public:
  /// A buffer of at least `bytes` (device memory, or managed memory when
  /// `managed`); 0 and `result` set when the driver fails even after the
  /// pool has released what it keeps.
  CUdeviceptr allocate(const CUDADriver &driver, uint64_t bytes, bool managed,
                       CUresult &result);

  /// Keeps `pointer` (from allocate) for reuse. False when the pool did not
  /// allocate it (the caller frees it with the driver).
  bool release(CUdeviceptr pointer);

  /// Whether the pool handed out `pointer` and it is still in use; then
  /// `managed` and `bytes` (its size class) say what kind of buffer it is.
  bool inUse(CUdeviceptr pointer, bool &managed, uint64_t &bytes);

  /// Frees every kept buffer with the driver.
  void trim(const CUDADriver &driver);

  /// The size class `bytes` rounds up to.
  static uint64_t sizeClass(uint64_t bytes);

  /// The process's pool (one GPU, one primary context).
  static DeviceMemoryPool &instance();

private:
  struct Key {
    bool managed;
    uint64_t bytes;
    bool operator<(const Key &other) const {
      return managed != other.managed ? managed < other.managed
                                      : bytes < other.bytes;
    }
  };
  std::mutex mutex;
  std::map<Key, std::vector<CUdeviceptr>> kept;
  std::unordered_map<CUdeviceptr, Key> handedOut;
};

} // namespace densessm::runtime

#endif // DENSESSM_RUNTIME_SRC_BACKENDS_CUDA_DEVICEMEMORYPOOL_H
