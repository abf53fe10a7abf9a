//===- CPUBackend.cpp - load and call a compiled shared object ------------===//
//
// The CPU executable is an ELF shared object inside the module file, loaded
// and called as backends/HostCode.h describes.
//
// The weights are copied once into anonymous memory backed by 2 MiB pages
// (madvise(MADV_HUGEPAGE)): a decode step streams every weight, and on 4 KiB
// pages of the mapped file the TLB misses cost a third of the read bandwidth.
//
//===----------------------------------------------------------------------===//

#include "CPUBackend.h"

#include "backends/HostCode.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <sys/mman.h>
#include <unordered_map>
#include <vector>

namespace densessm::runtime {
namespace {

class CPUBackend final : public Backend {
public:
  ~CPUBackend() override {
    library.close();
    if (arena)
      munmap(arena, arenaBytes);
  }

  /// Copies every weight into one huge-page arena, keeping each at a
  /// 64-byte aligned offset.
  Status copyWeights(const ModuleFile &file) {
    const auto &weights = *file.def().weights();
    std::vector<size_t> offsets;
    size_t total = layOutWeights(file, offsets);
    constexpr size_t kHugePage = size_t(2) << 20;
    arenaBytes = std::max<size_t>((total + kHugePage - 1) / kHugePage * kHugePage,
                                  kHugePage);
    void *memory = mmap(nullptr, arenaBytes, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED)
      return errorOf(file.name(), ": cannot allocate ", arenaBytes,
                     " bytes for the weights: ", std::strerror(errno));
    arena = static_cast<uint8_t *>(memory);
    madvise(arena, arenaBytes, MADV_HUGEPAGE); // a hint; 4 KiB pages work too
    for (size_t i = 0; i < weights.size(); ++i) {
      std::memcpy(arena + offsets[i], file.payload(*weights.Get(i)->data()),
                  weights.Get(i)->data()->size());
      weightData.push_back(arena + offsets[i]);
    }
    mprotect(arena, arenaBytes, PROT_READ);
    return Status::ok();
  }

  Status load(const ModuleFile &file) {
    DSSM_RETURN_IF_ERROR(copyWeights(file));
    uint32_t index = 0;
    const module::Executable *executable =
        findExecutable(file, module::Target::CPU, "elf-shared-object", index);
    if (!executable)
      return errorOf(file.name(),
                     ": the module has no CPU code (it was compiled with "
                     "--target=cuda only); recompile it with --target=cpu");
    DSSM_RETURN_IF_ERROR(
        library.open(file, *executable, "the CPU executable"));
    return library.resolveDispatches(file, index, functions);
  }

  Status run(const module::EntryPoint &entry,
             const std::vector<HostTensor> &bindings,
             const RunTransfers &transfers) const override {
    auto found = functions.find(entry.name()->str());
    if (found == functions.end())
      return errorOf("the CPU executable has no code for entry point '",
                     entry.name()->str(), "'");
    // Weight bindings (null data) point into the arena.
    std::vector<void *> data(bindings.size());
    for (size_t i = 0; i < bindings.size(); ++i) {
      uint32_t weight;
      data[i] = isWeightBinding(entry, i, weight)
                    ? const_cast<uint8_t *>(weightData[weight])
                    : bindings[i].data;
    }
    DSSM_RETURN_IF_ERROR(transfer(transfers.before));
    callDispatch(found->second, bindings, data);
    return transfer(transfers.after);
  }

  // Session memory is host memory. calloc: a large state is zeroed page by
  // page as the kernels first touch it.
  Status allocateSessionMemory(size_t bytes, void *&out) const override {
    out = std::calloc(1, bytes);
    if (!out)
      return errorOf("out of memory: ", bytes, " bytes of session memory");
    return Status::ok();
  }
  void freeSessionMemory(void *pointer) const override { std::free(pointer); }
  Status transfer(const std::vector<Transfer> &copies) const override {
    for (const Transfer &copy : copies) {
      if (copy.source)
        std::memcpy(copy.destination, copy.source, copy.bytes);
      else
        std::memset(copy.destination, 0, copy.bytes);
    }
    return Status::ok();
  }

private:
  SharedObject library;
  uint8_t *arena = nullptr;
  size_t arenaBytes = 0;
  std::vector<const uint8_t *> weightData; // per weight, into the arena
  std::unordered_map<std::string, PackedFunction> functions;
};

} // namespace

Status createCPUBackend(const ModuleFile &file,
                        std::unique_ptr<Backend> &out) {
  auto backend = std::make_unique<CPUBackend>();
  DSSM_RETURN_IF_ERROR(backend->load(file));
  out = std::move(backend);
  return Status::ok();
}

} // namespace densessm::runtime
