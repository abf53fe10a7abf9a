//===- MemRefCopy.cpp - the strided copy compiled CPU code calls ----------===//
//
// MLIR lowers a memref.copy between buffers that it cannot prove contiguous
// to a call of `memrefCopy`, a function of MLIR's C runner utilities. A
// deployed module must not depend on those, so the runtime provides it: the
// ABI is MLIR's (element size, then two unranked descriptors, each a rank
// and a pointer to {allocated, aligned, offset, sizes[rank], strides[rank]}).
//
//===----------------------------------------------------------------------===//

#include <cstdint>
#include <cstring>
#include <vector>

namespace {

struct UnrankedMemRef {
  int64_t rank;
  void *descriptor;
};

struct StridedView {
  char *base;
  const int64_t *sizes;
  const int64_t *strides;

  StridedView(const UnrankedMemRef &memref, int64_t elementSize) {
    auto *words = static_cast<int64_t *>(memref.descriptor);
    char *aligned = reinterpret_cast<char *>(words[1]);
    base = aligned + words[2] * elementSize;
    sizes = words + 3;
    strides = words + 3 + memref.rank;
  }
};

} // namespace

extern "C" __attribute__((visibility("default"))) void
memrefCopy(int64_t elementSize, UnrankedMemRef *source,
           UnrankedMemRef *target) {
  int64_t rank = source->rank;
  StridedView from(*source, elementSize), to(*target, elementSize);
  if (rank == 0) {
    std::memcpy(to.base, from.base, size_t(elementSize));
    return;
  }
  for (int64_t d = 0; d < rank; ++d)
    if (from.sizes[d] == 0)
      return;
  // Odometer over every index but the innermost, which is copied as a run
  // when both sides are unit-strided there.
  std::vector<int64_t> index(size_t(rank), 0);
  int64_t inner = rank - 1, length = from.sizes[inner];
  bool contiguous = from.strides[inner] == 1 && to.strides[inner] == 1;
  while (true) {
    int64_t fromOffset = 0, toOffset = 0;
    for (int64_t d = 0; d < inner; ++d) {
      fromOffset += index[d] * from.strides[d];
      toOffset += index[d] * to.strides[d];
    }
    if (contiguous) {
      std::memcpy(to.base + toOffset * elementSize,
                  from.base + fromOffset * elementSize,
                  size_t(length * elementSize));
    } else {
      for (int64_t i = 0; i < length; ++i)
        std::memcpy(to.base + (toOffset + i * to.strides[inner]) * elementSize,
                    from.base + (fromOffset + i * from.strides[inner]) *
                                    elementSize,
                    size_t(elementSize));
    }
    int64_t d = inner - 1;
    while (d >= 0 && ++index[d] == from.sizes[d])
      index[d--] = 0;
    if (d < 0)
      return;
  }
}
