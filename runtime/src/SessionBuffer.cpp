//===- SessionBuffer.cpp - floats in a backend's session memory -----------===//

#include "SessionBuffer.h"

namespace densessm::runtime {

Status SessionBuffer::resize(size_t wanted) {
  if (wanted <= capacity && capacity <= 4 * wanted) {
    count = wanted;
    return Status::ok();
  }
  release();
  if (wanted == 0)
    return Status::ok();
  void *memory = nullptr;
  DSSM_RETURN_IF_ERROR(
      backend->allocateSessionMemory(wanted * sizeof(float), memory));
  pointer = static_cast<float *>(memory);
  count = capacity = wanted;
  return Status::ok();
}

void SessionBuffer::release() {
  if (pointer)
    backend->freeSessionMemory(pointer);
  pointer = nullptr;
  count = capacity = 0;
}

} // namespace densessm::runtime
