//===- Module.h - a loaded module and its backends --------------*- C++ -*-===//
#ifndef DENSESSM_RUNTIME_SRC_MODULE_H
#define DENSESSM_RUNTIME_SRC_MODULE_H

#include "Backend.h"
#include "ModuleFile.h"
#include "densessm/runtime/densessm_runtime.h"

#include <atomic>
#include <memory>
#include <mutex>

namespace densessm::runtime {

/// Where each state tensor of one sequence lies in a saved state.
struct StateLayout {
  std::vector<size_t> offsets; // in floats, per state tensor
  std::vector<size_t> sizes;   // in floats, per state tensor
  size_t totalFloats = 0;
};

} // namespace densessm::runtime

/// The C API's module handle: reference counted, since every session keeps
/// its module alive.
struct dssm_module_s {
  std::atomic<int> references{1};
  std::unique_ptr<densessm::runtime::ModuleFile> file;
  densessm::runtime::StateLayout stateLayout;
  const densessm::module::EntryPoint *prefill = nullptr;
  const densessm::module::EntryPoint *step = nullptr;

  /// The backend for `device` (CPU or CUDA), created on first use.
  densessm::runtime::Status backend(dssm_device device,
                                    const densessm::runtime::Backend *&out);

private:
  std::mutex backendMutex;
  std::unique_ptr<densessm::runtime::Backend> cpuBackend;
  std::unique_ptr<densessm::runtime::Backend> cudaBackend;
};

namespace densessm::runtime {
/// Checks what the runtime needs beyond the file's own consistency: the
/// prefill and step entry points, and argument roles it can bind.
Status prepareModule(dssm_module_s &module);
} // namespace densessm::runtime

#endif // DENSESSM_RUNTIME_SRC_MODULE_H
