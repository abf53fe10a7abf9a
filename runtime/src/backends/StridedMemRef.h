//===- StridedMemRef.h - the C interface's memref descriptor ----*- C++ -*-===//
//
// The descriptor compiled code passes to the runtime's projection entry
// points (_mlir_ciface_densessm_{cpu,cuda}_linear_f32*): MLIR's
// StridedMemRefType<T, Rank>, declared here so that the runtime needs no
// MLIR headers.
//
//===----------------------------------------------------------------------===//
#ifndef DENSESSM_RUNTIME_SRC_BACKENDS_STRIDEDMEMREF_H
#define DENSESSM_RUNTIME_SRC_BACKENDS_STRIDEDMEMREF_H

#include <cstdint>

namespace densessm::runtime {

/// A bfloat16 as compiled code stores it: the upper 16 bits of an f32.
struct BF16 {
  uint16_t bits;
};

/// An IEEE half (binary16) as compiled code stores it.
struct F16 {
  uint16_t bits;
};

template <typename T, int Rank> struct StridedMemRef {
  T *allocated;
  T *aligned;
  int64_t offset;
  int64_t sizes[Rank];
  int64_t strides[Rank];

  T *data() const { return aligned + offset; }
};

template <int Rank> using StridedMemRefF32 = StridedMemRef<float, Rank>;

} // namespace densessm::runtime

#endif // DENSESSM_RUNTIME_SRC_BACKENDS_STRIDEDMEMREF_H
