//===- ModuleFile.cpp - map and verify a .dssm image ----------------------===//

#include "ModuleFile.h"

#include "densessm/runtime/AlignedVectors.h"
#include "densessm/runtime/densessm_runtime.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace densessm::runtime {

ModuleFile::~ModuleFile() {
  if (!bytes)
    return;
  if (mapped)
    munmap(const_cast<uint8_t *>(bytes), size);
  else
    std::free(const_cast<uint8_t *>(bytes));
}

Status ModuleFile::open(const std::string &path,
                        std::unique_ptr<ModuleFile> &out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return errorOf(path, ": cannot open module file: ", std::strerror(errno));
  struct stat info;
  if (fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    ::close(fd);
    return errorOf(path, ": not a regular file");
  }
  std::unique_ptr<ModuleFile> file(new ModuleFile());
  file->fileName = path;
  file->size = static_cast<size_t>(info.st_size);
  if (file->size < sizeof(ModulePreamble)) {
    ::close(fd);
    return errorOf(path, ": truncated module file: ", file->size,
                   " bytes, smaller than the 32-byte preamble");
  }
  void *map = mmap(nullptr, file->size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED)
    return errorOf(path, ": cannot map module file: ", std::strerror(errno));
  file->bytes = static_cast<const uint8_t *>(map);
  file->mapped = true;
  DSSM_RETURN_IF_ERROR(file->verify());
  out = std::move(file);
  return Status::ok();
}

Status ModuleFile::fromMemory(const void *data, size_t size,
                              const std::string &name,
                              std::unique_ptr<ModuleFile> &out) {
  if (!data)
    return errorOf(name, ": module data is null");
  if (size < sizeof(ModulePreamble))
    return errorOf(name, ": truncated module file: ", size,
                   " bytes, smaller than the 32-byte preamble");
  size_t rounded = (size + kPayloadAlignment - 1) / kPayloadAlignment *
                   kPayloadAlignment;
  void *copy = std::aligned_alloc(kPayloadAlignment, rounded);
  if (!copy)
    return errorOf(name, ": out of memory copying a ", size,
                   "-byte module");
  std::memcpy(copy, data, size);
  std::unique_ptr<ModuleFile> file(new ModuleFile());
  file->fileName = name;
  file->bytes = static_cast<const uint8_t *>(copy);
  file->size = size;
  DSSM_RETURN_IF_ERROR(file->verify());
  out = std::move(file);
  return Status::ok();
}

/// Whether every [int64] shape of a verified header is aligned
/// (AlignedVectors.h).
static bool shapesAligned(const module::ModuleDef &def) {
  for (const module::Weight *weight : *def.weights())
    if (!elementsAligned(weight->shape()))
      return false;
  for (const module::StateTensor *state : *def.states())
    if (!elementsAligned(state->shape()))
      return false;
  for (const module::EntryPoint *entry : *def.entry_points())
    for (const auto *bindings : {entry->arguments(), entry->results()})
      for (const module::Binding *binding : *bindings)
        if (!elementsAligned(binding->shape()))
          return false;
  return true;
}

static size_t elementSize(module::ElementType type) {
  switch (type) {
  case module::ElementType::F32:
  case module::ElementType::I32:
    return 4;
  case module::ElementType::F16:
  case module::ElementType::BF16:
    return 2;
  case module::ElementType::I64:
    return 8;
  }
  return 0;
}

/// Checks that a payload is aligned and lies after the FlatBuffer and
/// inside the file; `what` names it in the message.
static Status checkPayload(const std::string &file, size_t fileSize,
                           uint64_t flatbufferEnd,
                           const module::Payload &payload,
                           const std::string &what) {
  uint64_t offset = payload.offset(), size = payload.size();
  if (offset % kPayloadAlignment != 0)
    return errorOf(file, ": corrupt module file: ", what, " starts at offset ",
                   offset, ", which is not 64-byte aligned");
  if (offset < flatbufferEnd)
    return errorOf(file, ": corrupt module file: ", what, " at offset ",
                   offset, " overlaps the module header (which ends at ",
                   flatbufferEnd, ")");
  if (offset > fileSize || size > fileSize - offset)
    return errorOf(file, ": truncated module file: ", what, " (bytes ", offset,
                   " .. ", offset + size, ") runs past the end of the file (",
                   fileSize, " bytes)");
  return Status::ok();
}

static Status checkBinding(const std::string &file,
                           const module::ModuleDef &def,
                           const module::EntryPoint &entry,
                           const module::Binding &binding,
                           const std::string &what) {
  std::string where = "entry point '" + entry.name()->str() + "' " + what;
  // The FlatBuffers verifier does not check enum values.
  if (binding.role() < module::Role::MIN || binding.role() > module::Role::MAX)
    return errorOf(file, ": corrupt module file: ", where, " has role ",
                   int(binding.role()), " (known: 0 .. ",
                   int(module::Role::MAX), ")");
  if (binding.element_type() < module::ElementType::MIN ||
      binding.element_type() > module::ElementType::MAX)
    return errorOf(file, ": corrupt module file: ", where,
                   " has element type ", int(binding.element_type()));
  if (binding.role() == module::Role::Weight &&
      binding.index() >= def.weights()->size())
    return errorOf(file, ": corrupt module file: ", where,
                   " names weight ", binding.index(), " of ",
                   def.weights()->size());
  if (binding.role() == module::Role::State &&
      binding.index() >= def.states()->size())
    return errorOf(file, ": corrupt module file: ", where, " names state ",
                   binding.index(), " of ", def.states()->size());
  if (binding.shape()->size() > 8)
    return errorOf(file, ": corrupt module file: ", where, " has rank ",
                   binding.shape()->size(), " (at most 8)");
  return Status::ok();
}

Status ModuleFile::verify() {
  ModulePreamble preamble;
  std::memcpy(&preamble, bytes, sizeof(preamble));
  if (std::memcmp(preamble.magic, kModuleMagic, sizeof(kModuleMagic)) != 0)
    return errorOf(fileName,
                   ": not a densessm module file (it does not start with "
                   "\"DENSESSM\")");
  if (preamble.abiVersion != DSSM_ABI_VERSION)
    return errorOf(fileName, ": module ABI version ", preamble.abiVersion,
                   ", this runtime reads version ", DSSM_ABI_VERSION,
                   " (recompile the module with a matching densessm-compile)");
  uint64_t fbOffset = preamble.flatbufferOffset, fbSize = preamble.flatbufferSize;
  if (fbOffset != sizeof(ModulePreamble) || fbSize > (1ull << 31))
    return errorOf(fileName, ": corrupt module file: header of ", fbSize,
                   " bytes at offset ", fbOffset);
  if (fbSize > size - fbOffset)
    return errorOf(fileName, ": truncated module file: the module header (",
                   fbSize, " bytes at offset ", fbOffset,
                   ") runs past the end of the file (", size, " bytes)");
  const uint8_t *fb = bytes + fbOffset;
  if (!module::ModuleDefBufferHasIdentifier(fb))
    return errorOf(fileName, ": corrupt module file: the header lacks the "
                             "\"DSSM\" identifier");
  flatbuffers::Verifier verifier(fb, fbSize);
  if (!module::VerifyModuleDefBuffer(verifier))
    return errorOf(fileName, ": corrupt module file: the module header "
                             "fails FlatBuffers verification");
  moduleDef = module::GetModuleDef(fb);
  const module::ModuleDef &def = *moduleDef;
  if (!shapesAligned(def))
    return errorOf(fileName, ": corrupt module file: a shape in the module "
                             "header is not 8-byte aligned");
  if (def.abi_version() != DSSM_ABI_VERSION)
    return errorOf(fileName, ": corrupt module file: header ABI version ",
                   def.abi_version(), " differs from the preamble's ",
                   preamble.abiVersion);

  uint64_t fbEnd = fbOffset + fbSize;
  for (const module::Weight *weight : *def.weights()) {
    std::string what = "weight '" + weight->name()->str() + "'";
    if (!weight->data())
      return errorOf(fileName, ": corrupt module file: ", what,
                     " has no data");
    DSSM_RETURN_IF_ERROR(
        checkPayload(fileName, size, fbEnd, *weight->data(), what));
    if (elementSize(weight->element_type()) == 0)
      return errorOf(fileName, ": corrupt module file: ", what,
                     " has element type ", int(weight->element_type()));
    uint64_t count = 1;
    for (int64_t dim : *weight->shape()) {
      if (dim < 0 || dim > (int64_t(1) << 40) ||
          (dim && count > (uint64_t(1) << 48) / uint64_t(dim)))
        return errorOf(fileName, ": corrupt module file: ", what,
                       " has an invalid shape");
      count *= uint64_t(dim);
    }
    uint64_t expected = count * elementSize(weight->element_type());
    if (weight->data()->size() != expected)
      return errorOf(fileName, ": corrupt module file: ", what, " holds ",
                     weight->data()->size(), " bytes, its shape needs ",
                     expected);
  }
  for (const module::Executable *executable : *def.executables())
    if (!executable->image())
      return errorOf(fileName, ": corrupt module file: an executable has no "
                               "image");
    else
      DSSM_RETURN_IF_ERROR(checkPayload(fileName, size, fbEnd,
                                        *executable->image(),
                                        "executable '" +
                                            executable->format()->str() + "'"));
  // Each state's element count must fit comfortably in size_t arithmetic
  // (the runtime multiplies it by the batch).
  for (const module::StateTensor *state : *def.states()) {
    uint64_t count = 1;
    for (int64_t dim : *state->shape()) {
      if (dim <= 0 || dim > (int64_t(1) << 32) ||
          count > (uint64_t(1) << 40) / uint64_t(dim))
        return errorOf(fileName, ": corrupt module file: state '",
                       state->name()->str(), "' has an invalid shape");
      count *= uint64_t(dim);
    }
  }
  for (const module::EntryPoint *entry : *def.entry_points()) {
    for (const module::Binding *binding : *entry->arguments())
      DSSM_RETURN_IF_ERROR(
          checkBinding(fileName, def, *entry, *binding, "argument"));
    for (const module::Binding *binding : *entry->results())
      DSSM_RETURN_IF_ERROR(
          checkBinding(fileName, def, *entry, *binding, "result"));
    for (const module::Dispatch *dispatch : *entry->dispatches())
      if (dispatch->executable() >= def.executables()->size())
        return errorOf(fileName, ": corrupt module file: entry point '",
                       entry->name()->str(), "' dispatches executable ",
                       dispatch->executable(), " of ",
                       def.executables()->size());
  }
  if (def.model()->vocab_size() <= 0)
    return errorOf(fileName, ": corrupt module file: vocabulary size ",
                   def.model()->vocab_size());
  return Status::ok();
}

} // namespace densessm::runtime
