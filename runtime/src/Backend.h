//===- Backend.h - what a device backend provides ---------------*- C++ -*-===//
//
// A backend runs an entry point's dispatches on one device. It is created
// once per module and device and shared by every session on that device,
// so its methods must be callable from several threads at once.
//
// It also provides the memory a session keeps from run to run (its states,
// and the buffers the next states and the logits are written into), where
// its code reads and writes it as it is: host memory on the CPU, memory the
// GPU holds for CUDA. A decode step then moves no state between the host
// and the device; only the tokens go in and the logits come out.
//
//===----------------------------------------------------------------------===//
#ifndef DENSESSM_RUNTIME_SRC_BACKEND_H
#define DENSESSM_RUNTIME_SRC_BACKEND_H

#include "Status.h"
#include "Transfer.h"
#include "module_def_generated.h"

#include <cstdint>
#include <vector>

namespace densessm::runtime {

/// A dense row-major tensor in host memory, or in the backend's session
/// memory (Backend::allocateSessionMemory) when `inSessionMemory`.
struct HostTensor {
  void *data = nullptr;
  std::vector<int64_t> shape;
  bool inSessionMemory = false;
};


/// The copies around one run (Backend::run): into its inputs before, out of
/// what it wrote after.
struct RunTransfers {
  std::vector<Transfer> before, after;
};

class Backend {
public:
  virtual ~Backend() = default;
  /// Runs `entry` with its arguments followed by its results, in the
  /// entry point's binding order; results are written in place. Weight
  /// bindings carry null data: the backend binds its own copy. The copies
  /// `transfers.before` are done ahead of the entry point's work, those
  /// `after` behind it, all before run() returns (on a GPU, under the one
  /// wait for the run's work where it can).
  virtual Status run(const module::EntryPoint &entry,
                     const std::vector<HostTensor> &bindings,
                     const RunTransfers &transfers) const = 0;

  /// `bytes` of session memory, zeroed. The host must not read or write it
  /// but through transfer(): on a GPU that would move its pages.
  virtual Status allocateSessionMemory(size_t bytes, void *&out) const = 0;
  /// Frees memory from allocateSessionMemory (no run may still use it).
  virtual void freeSessionMemory(void *pointer) const = 0;
  /// Does every copy, and returns when they are done.
  virtual Status transfer(const std::vector<Transfer> &copies) const = 0;
};

} // namespace densessm::runtime

#endif // DENSESSM_RUNTIME_SRC_BACKEND_H
