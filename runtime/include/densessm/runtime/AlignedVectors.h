//===- AlignedVectors.h - element alignment of FlatBuffers vectors -*- C++ -*-===//
//
// flatbuffers::Verifier checks a vector's bounds and the 4-byte alignment
// of its length prefix, not the alignment of its elements: a hostile file
// can place a vector of 8-byte scalars (the shapes' [int64]) 4 bytes off,
// and reading an element is then a misaligned load, undefined behaviour
// (found by fuzz/: the module and graph loaders). The loaders call this on
// every such vector after verification and refuse the file otherwise.
//
//===----------------------------------------------------------------------===//
#ifndef DENSESSM_RUNTIME_ALIGNEDVECTORS_H
#define DENSESSM_RUNTIME_ALIGNEDVECTORS_H

#include <flatbuffers/flatbuffers.h>

#include <cstdint>

namespace densessm {

/// Whether every element of `vector` (null: none) is aligned for T.
template <typename T>
bool elementsAligned(const flatbuffers::Vector<T> *vector) {
  return !vector ||
         reinterpret_cast<uintptr_t>(vector->data()) % alignof(T) == 0;
}

} // namespace densessm

#endif // DENSESSM_RUNTIME_ALIGNEDVECTORS_H
