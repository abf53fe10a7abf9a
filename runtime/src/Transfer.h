//===- Transfer.h - a copy to, from or within session memory ----*- C++ -*-===//
#ifndef DENSESSM_RUNTIME_SRC_TRANSFER_H
#define DENSESSM_RUNTIME_SRC_TRANSFER_H

#include <cstddef>

namespace densessm::runtime {

/// A copy between host memory and a backend's session memory
/// (Backend::allocateSessionMemory), in either direction, or within session
/// memory.
struct Transfer {
  void *destination;
  const void *source;
  size_t bytes;
};

} // namespace densessm::runtime

#endif // DENSESSM_RUNTIME_SRC_TRANSFER_H
