//===- Backend.h - what a device backend provides ---------------*- C++ -*-===//
//
// A backend runs an entry point's dispatches on one device. It is created
// once per module and device and shared by every session on that device,
// so `run` must be callable from several threads at once.
//
//===----------------------------------------------------------------------===//
#ifndef DENSESSM_RUNTIME_SRC_BACKEND_H
#define DENSESSM_RUNTIME_SRC_BACKEND_H

#include "Status.h"
#include "module_def_generated.h"

#include <cstdint>
#include <vector>

namespace densessm::runtime {

/// A dense row-major tensor in host memory.
struct HostTensor {
  void *data = nullptr;
  std::vector<int64_t> shape;
};

class Backend {
public:
  virtual ~Backend() = default;
  /// Runs `entry` with its arguments followed by its results, in the
  /// entry point's binding order; results are written in place. Weight
  /// bindings carry null data: the backend binds its own copy.
  virtual Status run(const module::EntryPoint &entry,
                     const std::vector<HostTensor> &bindings) const = 0;
};

} // namespace densessm::runtime

#endif // DENSESSM_RUNTIME_SRC_BACKEND_H
