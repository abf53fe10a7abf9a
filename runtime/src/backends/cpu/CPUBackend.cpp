//===- CPUBackend.cpp - load and call a compiled shared object ------------===//
//
// The CPU executable is an ELF shared object inside the module file. The
// loader needs a file, so the image is written to an anonymous memory file
// (memfd) and opened through /proc/self/fd: nothing touches the disk.
//
// The weights are copied once into anonymous memory backed by 2 MiB pages
// (madvise(MADV_HUGEPAGE)): a decode step streams every weight, and on 4 KiB
// pages of the mapped file the TLB misses cost a third of the read bandwidth.
//
// Each dispatch symbol has the packed signature `void f(void **args)`: one
// pointer per binding to an MLIR memref descriptor
// {allocated, aligned, offset, sizes[rank], strides[rank]}
// (densessm-compile writes these wrappers, lib/Target/CPU).
//
//===----------------------------------------------------------------------===//

#include "CPUBackend.h"

#include <cerrno>
#include <cstring>
#include <dlfcn.h>
#include <string>
#include <sys/mman.h>
#include <unistd.h>
#include <unordered_map>
#include <vector>
#include <algorithm>

namespace densessm::runtime {
namespace {

using PackedFunction = void (*)(void **);

class CPUBackend final : public Backend {
public:
  ~CPUBackend() override {
    if (handle)
      dlclose(handle);
    if (arena)
      munmap(arena, arenaBytes);
  }

  /// Copies every weight into one huge-page arena, keeping each at a
  /// 64-byte aligned offset.
  Status copyWeights(const ModuleFile &file) {
    const auto &weights = *file.def().weights();
    std::vector<size_t> offsets;
    size_t total = 0;
    for (const module::Weight *weight : weights) {
      offsets.push_back(total);
      total += (weight->data()->size() + 63) / 64 * 64;
    }
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
    const module::ModuleDef &def = file.def();
    DSSM_RETURN_IF_ERROR(copyWeights(file));
    const module::Executable *executable = nullptr;
    uint32_t index = 0;
    for (uint32_t i = 0; i < def.executables()->size(); ++i)
      if (def.executables()->Get(i)->target() == module::Target::CPU) {
        executable = def.executables()->Get(i);
        index = i;
      }
    if (!executable)
      return errorOf(file.name(),
                     ": the module has no CPU code (it was compiled with "
                     "--target=cuda only); recompile it with --target=cpu");
    if (executable->format()->str() != "elf-shared-object")
      return errorOf(file.name(), ": unknown CPU executable format '",
                     executable->format()->str(), "'");

    int fd = memfd_create("densessm-module", MFD_CLOEXEC);
    if (fd < 0)
      return errorOf(file.name(), ": memfd_create failed: ",
                     std::strerror(errno));
    const uint8_t *image = file.payload(*executable->image());
    size_t left = executable->image()->size();
    while (left > 0) {
      ssize_t written = write(fd, image, left);
      if (written <= 0) {
        close(fd);
        return errorOf(file.name(), ": cannot stage the CPU executable: ",
                       std::strerror(errno));
      }
      image += written;
      left -= size_t(written);
    }
    std::string path = "/proc/self/fd/" + std::to_string(fd);
    handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    close(fd);
    if (!handle)
      return errorOf(file.name(), ": cannot load the CPU executable: ",
                     dlerror());

    for (const module::EntryPoint *entry : *def.entry_points())
      for (const module::Dispatch *dispatch : *entry->dispatches()) {
        if (dispatch->executable() != index)
          continue;
        void *symbol = dlsym(handle, dispatch->symbol()->c_str());
        if (!symbol)
          return errorOf(file.name(), ": the CPU executable lacks '",
                         dispatch->symbol()->str(), "' (entry point '",
                         entry->name()->str(), "')");
        functions[entry->name()->str()] =
            reinterpret_cast<PackedFunction>(symbol);
      }
    return Status::ok();
  }

  Status run(const module::EntryPoint &entry,
             const std::vector<HostTensor> &bindings) const override {
    auto found = functions.find(entry.name()->str());
    if (found == functions.end())
      return errorOf("the CPU executable has no code for entry point '",
                     entry.name()->str(), "'");
    // Descriptors: 3 + 2 * rank words each.
    std::vector<std::vector<int64_t>> descriptors(bindings.size());
    std::vector<void *> pointers(bindings.size());
    // Weight bindings (null data) point into the arena.
    size_t argumentCount = entry.arguments()->size();
    for (size_t i = 0; i < bindings.size(); ++i) {
      HostTensor tensor = bindings[i];
      if (i < argumentCount &&
          entry.arguments()->Get(i)->role() == module::Role::Weight)
        tensor.data = const_cast<uint8_t *>(
            weightData[entry.arguments()->Get(i)->index()]);
      size_t rank = tensor.shape.size();
      std::vector<int64_t> &words = descriptors[i];
      words.resize(3 + 2 * rank);
      words[0] = words[1] = int64_t(reinterpret_cast<intptr_t>(tensor.data));
      words[2] = 0;
      int64_t stride = 1;
      for (size_t d = rank; d-- > 0;) {
        words[3 + d] = tensor.shape[d];
        words[3 + rank + d] = stride;
        stride *= tensor.shape[d];
      }
      pointers[i] = words.data();
    }
    found->second(pointers.data());
    return Status::ok();
  }

private:
  void *handle = nullptr;
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
