//===- HostCode.cpp - load and call an executable's host code -------------===//

#include "HostCode.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <dlfcn.h>
#include <elf.h>
#include <sys/mman.h> // memfd_create
#include <unistd.h>

namespace densessm::runtime {

const module::Executable *findExecutable(const ModuleFile &file,
                                         module::Target target,
                                         const char *format, uint32_t &index) {
  const module::Executable *found = nullptr;
  const auto &executables = *file.def().executables();
  for (uint32_t i = 0; i < executables.size(); ++i)
    if (executables.Get(i)->target() == target &&
        executables.Get(i)->format()->str() == format) {
      found = executables.Get(i);
      index = i;
    }
  return found;
}

#if defined(__x86_64__)
static constexpr uint16_t kHostMachine = EM_X86_64;
#elif defined(__aarch64__)
static constexpr uint16_t kHostMachine = EM_AARCH64;
#else
#error "densessm's runtime knows the ELF machine of x86_64 and aarch64 hosts"
#endif

static std::string machineName(uint16_t machine) {
  switch (machine) {
  case EM_X86_64:
    return "x86_64";
  case EM_AARCH64:
    return "aarch64";
  case EM_386:
    return "i386";
  case EM_RISCV:
    return "riscv";
  case EM_PPC64:
    return "ppc64";
  }
  return "ELF machine " + std::to_string(machine);
}

/// dlopen says "cannot open shared object file" of an object for another
/// machine; check the ELF header first and say what is wrong.
static Status checkHostELF(const ModuleFile &file,
                           const module::Executable &executable,
                           const std::string &what) {
  const uint8_t *image = file.payload(*executable.image());
  Elf64_Ehdr header;
  if (executable.image()->size() < sizeof(header) ||
      std::memcmp(image, ELFMAG, SELFMAG) != 0)
    return errorOf(file.name(), ": ", what, " is not an ELF shared object");
  std::memcpy(&header, image, sizeof(header));
  if (header.e_ident[EI_CLASS] != ELFCLASS64 ||
      header.e_ident[EI_DATA] != ELFDATA2LSB)
    return errorOf(file.name(), ": ", what,
                   " is not a 64-bit little-endian ELF object");
  if (header.e_machine != kHostMachine)
    return errorOf(file.name(), ": ", what, " is code for ",
                   machineName(header.e_machine), ", this machine is ",
                   machineName(kHostMachine),
                   " (compile the module on or for this machine)");
  if (header.e_type != ET_DYN)
    return errorOf(file.name(), ": ", what, " is not an ELF shared object");
  return Status::ok();
}

/// The extensions of CPUFeatures.def that the code was generated for (its
/// densessm_cpu_features) and this CPU lacks, comma separated; "" when it
/// has them all or the object names none (modules from before the list).
static std::string missingCPUFeatures(void *handle) {
#if defined(__x86_64__)
  const auto *needed =
      static_cast<const char *>(dlsym(handle, "densessm_cpu_features"));
  if (!needed)
    return "";
  __builtin_cpu_init();
  std::string missing, list = needed;
  for (size_t begin = 0; begin < list.size();) {
    size_t end = std::min(list.find(',', begin), list.size());
    std::string name = list.substr(begin, end - begin);
    begin = end + 1;
    bool known = false, supported = false;
#define DSSM_CPU_FEATURE(feature)                                              \
  if (name == feature) {                                                       \
    known = true;                                                              \
    supported = __builtin_cpu_supports(feature);                               \
  }
#include "densessm/runtime/CPUFeatures.def"
#undef DSSM_CPU_FEATURE
    if (known && !supported)
      missing += (missing.empty() ? "" : ", ") + name;
  }
  return missing;
#else
  (void)handle;
  return "";
#endif
}

Status SharedObject::open(const ModuleFile &file,
                          const module::Executable &executable,
                          const std::string &name) {
  what = name;
  DSSM_RETURN_IF_ERROR(checkHostELF(file, executable, what));
  int fd = memfd_create("densessm-module", MFD_CLOEXEC);
  if (fd < 0)
    return errorOf(file.name(), ": memfd_create failed: ",
                   std::strerror(errno));
  const uint8_t *image = file.payload(*executable.image());
  size_t left = executable.image()->size();
  while (left > 0) {
    ssize_t written = write(fd, image, left);
    if (written <= 0) {
      ::close(fd);
      return errorOf(file.name(), ": cannot stage ", what, ": ",
                     std::strerror(errno));
    }
    image += written;
    left -= size_t(written);
  }
  std::string path = "/proc/self/fd/" + std::to_string(fd);
  handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  ::close(fd);
  if (!handle)
    return errorOf(file.name(), ": cannot load ", what, ": ", dlerror());
  std::string missing = missingCPUFeatures(handle);
  if (!missing.empty()) {
    close();
    return errorOf(file.name(), ": ", what, " was compiled for ",
                   executable.architecture() ? executable.architecture()->str()
                                             : std::string("another CPU"),
                   " and uses ", missing,
                   ", which this CPU lacks (compile the module on this "
                   "machine, or with --cpu=x86-64-v3 for any AVX2 machine)");
  }
  return Status::ok();
}

Status SharedObject::resolveDispatches(
    const ModuleFile &file, uint32_t index,
    std::unordered_map<std::string, PackedFunction> &out) {
  for (const module::EntryPoint *entry : *file.def().entry_points())
    for (const module::Dispatch *dispatch : *entry->dispatches()) {
      if (dispatch->executable() != index)
        continue;
      void *symbol = dlsym(handle, dispatch->symbol()->c_str());
      if (!symbol)
        return errorOf(file.name(), ": ", what, " lacks '",
                       dispatch->symbol()->str(), "' (entry point '",
                       entry->name()->str(), "')");
      out[entry->name()->str()] = reinterpret_cast<PackedFunction>(symbol);
    }
  return Status::ok();
}

void SharedObject::close() {
  if (handle)
    dlclose(handle);
  handle = nullptr;
}

size_t layOutWeights(const ModuleFile &file, std::vector<size_t> &offsets) {
  size_t total = 0;
  for (const module::Weight *weight : *file.def().weights()) {
    offsets.push_back(total);
    total += (weight->data()->size() + 63) / 64 * 64;
  }
  return total;
}

bool isWeightBinding(const module::EntryPoint &entry, size_t i,
                     uint32_t &weight) {
  if (i >= entry.arguments()->size() ||
      entry.arguments()->Get(i)->role() != module::Role::Weight)
    return false;
  weight = entry.arguments()->Get(i)->index();
  return true;
}

size_t elementBytes(module::ElementType type) {
  switch (type) {
  case module::ElementType::F16:
  case module::ElementType::BF16:
    return 2;
  case module::ElementType::F32:
  case module::ElementType::I32:
    return 4;
  case module::ElementType::I64:
    return 8;
  }
  return 8;
}

const module::Binding &bindingAt(const module::EntryPoint &entry, size_t i) {
  size_t arguments = entry.arguments()->size();
  return i < arguments ? *entry.arguments()->Get(i)
                       : *entry.results()->Get(i - arguments);
}

void callDispatch(PackedFunction function,
                  const std::vector<HostTensor> &bindings,
                  const std::vector<void *> &data) {
  // Descriptors: 3 + 2 * rank words each.
  std::vector<std::vector<int64_t>> descriptors(bindings.size());
  std::vector<void *> pointers(bindings.size());
  for (size_t i = 0; i < bindings.size(); ++i) {
    const std::vector<int64_t> &shape = bindings[i].shape;
    size_t rank = shape.size();
    std::vector<int64_t> &words = descriptors[i];
    words.resize(3 + 2 * rank);
    words[0] = words[1] = int64_t(reinterpret_cast<intptr_t>(data[i]));
    words[2] = 0;
    int64_t stride = 1;
    for (size_t d = rank; d-- > 0;) {
      words[3 + d] = shape[d];
      words[3 + rank + d] = stride;
      stride *= shape[d];
    }
    pointers[i] = words.data();
  }
  function(pointers.data());
}

} // namespace densessm::runtime
