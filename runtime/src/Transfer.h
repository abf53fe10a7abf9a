//===- Transfer.h - a copy to, from or within session memory ----*- C++ -*-===//
#ifndef DENSESSM_RUNTIME_SRC_TRANSFER_H
#define DENSESSM_RUNTIME_SRC_TRANSFER_H

#include <cstddef>
#include <vector>

namespace densessm::runtime {

/// A copy between host memory and a backend's session memory
/// (Backend::allocateSessionMemory), in either direction, or within session
/// memory. A null `source` zeroes the destination instead (`bytes` a
/// multiple of 4).
struct Transfer {
  void *destination;
  const void *source;
  size_t bytes;
};

/// Appends `next` to `copies`, as part of the last copy where it continues
/// it on both sides (consecutive slots of a batch: one copy, not one each).
inline void appendTransfer(std::vector<Transfer> &copies, Transfer next) {
  if (!copies.empty()) {
    Transfer &last = copies.back();
    auto *lastDestination = static_cast<char *>(last.destination);
    auto *lastSource = static_cast<const char *>(last.source);
    if (lastDestination + last.bytes == next.destination && lastSource &&
        lastSource + last.bytes == next.source) {
      last.bytes += next.bytes;
      return;
    }
  }
  copies.push_back(next);
}

} // namespace densessm::runtime

#endif // DENSESSM_RUNTIME_SRC_TRANSFER_H
