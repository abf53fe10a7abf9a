//===- MemRef.h - memref descriptors of compiled kernels --------*- C++ -*-===//
//
// The C layout of a ranked memref as MLIR's LLVM lowering passes it to and
// returns it from a function with `llvm.emit_c_interface`, and a dense
// row-major buffer that owns its storage and hands out such descriptors.
//
//===----------------------------------------------------------------------===//
#ifndef DENSESSM_BENCH_MEMREF_H
#define DENSESSM_BENCH_MEMREF_H

#include <array>
#include <cstdint>
#include <cstdlib>
#include <vector>

namespace densessm::bench {

template <int Rank> struct MemRef {
  float *allocated;
  float *aligned;
  int64_t offset;
  int64_t sizes[Rank];
  int64_t strides[Rank];

  int64_t elements() const {
    int64_t n = 1;
    for (int64_t s : sizes)
      n *= s;
    return n;
  }
  /// Frees a buffer that compiled code allocated and returned.
  void release() { std::free(allocated); }
};

/// A dense row-major f32 tensor.
template <int Rank> struct Tensor {
  std::array<int64_t, Rank> shape;
  std::vector<float> data;

  explicit Tensor(std::array<int64_t, Rank> shape, float fill = 0.0f)
      : shape(shape), data(count(shape), fill) {}

  static int64_t count(const std::array<int64_t, Rank> &shape) {
    int64_t n = 1;
    for (int64_t s : shape)
      n *= s;
    return n;
  }

  MemRef<Rank> view() {
    MemRef<Rank> m{data.data(), data.data(), 0, {}, {}};
    int64_t stride = 1;
    for (int d = Rank - 1; d >= 0; --d) {
      m.sizes[d] = shape[d];
      m.strides[d] = stride;
      stride *= shape[d];
    }
    return m;
  }
  int64_t bytes() const { return static_cast<int64_t>(data.size() * 4); }
};

} // namespace densessm::bench

#endif // DENSESSM_BENCH_MEMREF_H
