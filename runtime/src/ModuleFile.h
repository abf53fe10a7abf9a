//===- ModuleFile.h - a verified .dssm image --------------------*- C++ -*-===//
//
// The bytes of a module file (mapped from disk or copied from memory) and
// its verified ModuleDef. Nothing is read from the image before
// ModuleFile::open has checked the preamble, verified the FlatBuffer and
// checked that every payload lies inside the file.
//
//===----------------------------------------------------------------------===//
#ifndef DENSESSM_RUNTIME_SRC_MODULEFILE_H
#define DENSESSM_RUNTIME_SRC_MODULEFILE_H

#include "Status.h"
#include "module_def_generated.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace densessm::runtime {

/// The fixed preamble at offset 0 of every module file.
struct ModulePreamble {
  char magic[8];           // "DENSESSM"
  uint32_t abiVersion;     // DSSM_ABI_VERSION
  uint32_t reserved;       // 0
  uint64_t flatbufferOffset;
  uint64_t flatbufferSize;
};
static_assert(sizeof(ModulePreamble) == 32, "the preamble is 32 bytes");

constexpr char kModuleMagic[8] = {'D', 'E', 'N', 'S', 'E', 'S', 'S', 'M'};
constexpr uint64_t kPayloadAlignment = 64;

class ModuleFile {
public:
  /// Maps `path` read-only.
  static Status open(const std::string &path,
                     std::unique_ptr<ModuleFile> &out);
  /// Copies `size` bytes (to 64-byte aligned memory).
  static Status fromMemory(const void *data, size_t size,
                           const std::string &name,
                           std::unique_ptr<ModuleFile> &out);
  ~ModuleFile();
  ModuleFile(const ModuleFile &) = delete;
  ModuleFile &operator=(const ModuleFile &) = delete;

  const module::ModuleDef &def() const { return *moduleDef; }
  const std::string &name() const { return fileName; }
  /// The bytes of a payload (checked by open).
  const uint8_t *payload(const module::Payload &payload) const {
    return bytes + payload.offset();
  }

private:
  ModuleFile() = default;
  Status verify();

  std::string fileName;
  const uint8_t *bytes = nullptr;
  size_t size = 0;
  bool mapped = false;
  const module::ModuleDef *moduleDef = nullptr;
};

} // namespace densessm::runtime

#endif // DENSESSM_RUNTIME_SRC_MODULEFILE_H
