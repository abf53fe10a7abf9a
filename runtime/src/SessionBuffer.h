//===- SessionBuffer.h - floats in a backend's session memory ---*- C++ -*-===//
//
// A session's states, and the buffers its runs write the next states and
// the logits into, live in the memory of the backend that runs them
// (Backend::allocateSessionMemory): on a GPU they stay there from one
// decode step to the next. The host reaches them only through
// Backend::transfer.
//
//===----------------------------------------------------------------------===//
#ifndef DENSESSM_RUNTIME_SRC_SESSIONBUFFER_H
#define DENSESSM_RUNTIME_SRC_SESSIONBUFFER_H

#include "Backend.h"

#include <cstddef>
#include <utility>
#include <vector>

namespace densessm::runtime {

class SessionBuffer {
public:
  explicit SessionBuffer(const Backend &backend) : backend(&backend) {}
  ~SessionBuffer() { release(); }
  SessionBuffer(SessionBuffer &&other) noexcept { swap(other); }
  SessionBuffer &operator=(SessionBuffer &&other) noexcept {
    swap(other);
    return *this;
  }
  SessionBuffer(const SessionBuffer &) = delete;
  SessionBuffer &operator=(const SessionBuffer &) = delete;

  /// Makes room for `count` floats. A buffer at least that large, but not
  /// more than four times larger, is kept as it is (a decode step after the
  /// first reuses the previous step's buffers, contents and all); otherwise
  /// the buffer is replaced by a zeroed one of `count` floats.
  Status resize(size_t count);

  float *data() const { return pointer; }
  size_t size() const { return count; }
  size_t bytes() const { return count * sizeof(float); }
  /// The buffer bound as an entry point's tensor of `shape`.
  HostTensor tensor(std::vector<int64_t> shape) const {
    return {pointer, std::move(shape), /*inSessionMemory=*/true};
  }

  void swap(SessionBuffer &other) noexcept {
    std::swap(backend, other.backend);
    std::swap(pointer, other.pointer);
    std::swap(count, other.count);
    std::swap(capacity, other.capacity);
  }

private:
  void release();

  const Backend *backend = nullptr;
  float *pointer = nullptr;
  size_t count = 0, capacity = 0;
};

} // namespace densessm::runtime

#endif // DENSESSM_RUNTIME_SRC_SESSIONBUFFER_H
