/*===- KernelKey.h - the key of a CUDA kernel object --------------*- C++ -*-===
 *
 * Part of the module file format (docs/module-format.md): the CUDA host code
 * embeds one object per kernel module (the PTX of the first chip it was
 * compiled for) and hands it to mgpuModuleLoadJIT / mgpuModuleLoad when it
 * is loaded. The module file may carry other objects for the same kernel
 * module (PTX or cubins for other chips), each tagged with the key of the
 * embedded object: FNV-1a (64-bit) over its bytes, for PTX without the
 * terminating NUL bytes. densessm-compile computes it when it writes the
 * module, the runtime's mgpu* functions when the host code loads a kernel.
 *
 *===----------------------------------------------------------------------===*/
#ifndef DENSESSM_RUNTIME_KERNELKEY_H
#define DENSESSM_RUNTIME_KERNELKEY_H

#include <cstddef>
#include <cstdint>

namespace densessm::runtime {

/// The key of an embedded kernel object of `size` bytes (for PTX text, pass
/// the length without trailing NUL bytes).
inline uint64_t kernelObjectKey(const void *data, size_t size) {
  const unsigned char *bytes = static_cast<const unsigned char *>(data);
  uint64_t hash = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < size; ++i) {
    hash ^= bytes[i];
    hash *= 0x100000001b3ull;
  }
  return hash == 0 ? 1 : hash; // 0 means "no key" in the module file
}

} // namespace densessm::runtime

#endif // DENSESSM_RUNTIME_KERNELKEY_H
