//===- StridedMemRefF32.h - the C interface's f32 memref --------*- C++ -*-===//
//
// The descriptor compiled code passes to the runtime's projection entry
// points (_mlir_ciface_densessm_{cpu,cuda}_linear_f32): MLIR's
// StridedMemRefType<float, Rank>, declared here so that the runtime needs
// no MLIR headers.
//
//===----------------------------------------------------------------------===//
#ifndef DENSESSM_RUNTIME_SRC_BACKENDS_STRIDEDMEMREFF32_H
#define DENSESSM_RUNTIME_SRC_BACKENDS_STRIDEDMEMREFF32_H

#include <cstdint>

namespace densessm::runtime {

template <int Rank> struct StridedMemRefF32 {
  float *allocated;
  float *aligned;
  int64_t offset;
  int64_t sizes[Rank];
  int64_t strides[Rank];

  float *data() const { return aligned + offset; }
};

} // namespace densessm::runtime

#endif // DENSESSM_RUNTIME_SRC_BACKENDS_STRIDEDMEMREFF32_H
