//===- Module.cpp - a loaded module and its backends ----------------------===//

#include "Module.h"

#include "backends/cpu/CPUBackend.h"
#include "backends/cuda/CUDABackend.h"
#include "backends/cuda/CUDADriver.h"

namespace densessm::runtime {

/// A weight or state binding must have the shape of what it binds (a state
/// with the batch dimension in front), since compiled code trusts it.
static Status checkBoundShape(const ModuleFile &file,
                              const module::EntryPoint &entry,
                              const module::Binding &binding) {
  const flatbuffers::Vector<int64_t> *expected = nullptr;
  size_t skip = 0;
  if (binding.role() == module::Role::Weight)
    expected = file.def().weights()->Get(binding.index())->shape();
  if (binding.role() == module::Role::State) {
    expected = file.def().states()->Get(binding.index())->shape();
    skip = 1;
  }
  if (!expected)
    return Status::ok();
  bool same = binding.shape()->size() == expected->size() + skip;
  for (size_t i = 0; same && i < expected->size(); ++i)
    same = binding.shape()->Get(i + skip) == expected->Get(i);
  if (!same)
    return errorOf(file.name(), ": corrupt module file: a binding of entry "
                                "point '",
                   entry.name()->str(), "' disagrees with the shape of what it binds");
  return Status::ok();
}

static Status checkEntryPoint(const ModuleFile &file,
                              const module::EntryPoint &entry) {
  bool tokens = false, logits = false;
  for (const module::Binding *binding : *entry.arguments())
    DSSM_RETURN_IF_ERROR(checkBoundShape(file, entry, *binding));
  for (const module::Binding *binding : *entry.results())
    DSSM_RETURN_IF_ERROR(checkBoundShape(file, entry, *binding));
  for (const module::Binding *binding : *entry.arguments()) {
    if (binding->role() == module::Role::Logits)
      return errorOf(file.name(), ": corrupt module file: entry point '",
                     entry.name()->str(), "' takes logits as an argument");
    tokens |= binding->role() == module::Role::Tokens;
  }
  for (const module::Binding *binding : *entry.results()) {
    if (binding->role() != module::Role::Logits &&
        binding->role() != module::Role::State)
      return errorOf(file.name(), ": corrupt module file: entry point '",
                     entry.name()->str(),
                     "' returns something other than logits and states");
    logits |= binding->role() == module::Role::Logits;
  }
  if (!tokens || !logits)
    return errorOf(file.name(), ": corrupt module file: entry point '",
                   entry.name()->str(), "' lacks its tokens or logits");
  if (entry.dispatches()->size() == 0)
    return errorOf(file.name(), ": corrupt module file: entry point '",
                   entry.name()->str(), "' has no code");
  return Status::ok();
}

Status prepareModule(dssm_module_s &module) {
  const ModuleFile &file = *module.file;
  for (const module::EntryPoint *entry : *file.def().entry_points()) {
    DSSM_RETURN_IF_ERROR(checkEntryPoint(file, *entry));
    if (entry->name()->str() == "prefill")
      module.prefill = entry;
    else if (entry->name()->str() == "step")
      module.step = entry;
  }
  if (!module.prefill || !module.step)
    return errorOf(file.name(), ": the module lacks its ",
                   module.prefill ? "'step'" : "'prefill'", " entry point");
  for (const module::StateTensor *state : *file.def().states()) {
    if (state->element_type() != module::ElementType::F32)
      return errorOf(file.name(), ": state '", state->name()->str(),
                     "' is not f32, which this runtime does not support");
    size_t count = 1;
    for (int64_t dim : *state->shape())
      count *= size_t(dim);
    module.stateLayout.offsets.push_back(module.stateLayout.totalFloats);
    module.stateLayout.sizes.push_back(count);
    module.stateLayout.totalFloats += count;
  }
  return Status::ok();
}

} // namespace densessm::runtime

using namespace densessm::runtime;

Status dssm_module_s::backend(dssm_device device, const Backend *&out) {
  std::lock_guard<std::mutex> lock(backendMutex);
  if (device == DSSM_DEVICE_CUDA) {
    // The configuration first: wrong whether or not there is a GPU.
    CUDALaunchOptions launchOptions;
    DSSM_RETURN_IF_ERROR(cudaLaunchOptionsFromEnvironment(launchOptions));
    const CUDADriver *driver = nullptr;
    Status loaded = loadCUDADriver(driver);
    if (!loaded.isOk())
      return errorOf("cannot use the CUDA device: ", loaded.message());
    if (!cudaBackend)
      DSSM_RETURN_IF_ERROR(
          createCUDABackend(*file, *driver, launchOptions, cudaBackend));
    out = cudaBackend.get();
    return Status::ok();
  }
  if (!cpuBackend)
    DSSM_RETURN_IF_ERROR(createCPUBackend(*file, cpuBackend));
  out = cpuBackend.get();
  return Status::ok();
}
