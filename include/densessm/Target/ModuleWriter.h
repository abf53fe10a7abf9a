//===- ModuleWriter.h - write a .dssm module file ---------------*- C++ -*-===//
//
// Writes the module file of docs/module-format.md: the preamble, the
// ModuleDef FlatBuffer (runtime/schemas/module_def.fbs) and the payloads at
// 64-byte aligned offsets. The file is written under a temporary name and
// renamed at the end, so a failed compile leaves no partial module behind.
//
//===----------------------------------------------------------------------===//
#ifndef DENSESSM_TARGET_MODULEWRITER_H
#define DENSESSM_TARGET_MODULEWRITER_H

#include "densessm/Target/ModuleSignature.h"
#include "llvm/Support/Error.h"

#include <functional>
#include <string>
#include <vector>

namespace mlir::densessm {

struct ExecutableImage {
  bool cuda = false;
  std::string format;       // "elf-shared-object", "cubin", "ptx"
  std::string architecture; // "x86_64:znver3", "sm_90"
  std::string image;
  /// CUDA kernel objects: the key of the host code's embedded object this
  /// one replaces (densessm/runtime/KernelKey.h); 0 for the others.
  uint64_t kernelKey = 0;
  /// CUDA kernel objects whose kernels wait for the kernels before them
  /// (--densessm-wait-for-preceding-kernels).
  bool programmaticLaunch = false;
};

/// Every "elf-shared-object" executable (the CPU code, the CUDA host code)
/// gets a dispatch per entry point; kernel objects get none.
struct ModuleContents {
  ModuleSignature signature;
  std::string family, configJSON, source;
  std::vector<ExecutableImage> executables;
  /// The bytes of signature.weights[index], row-major, in its element type
  /// (f32 or bf16, little endian).
  std::function<llvm::Error(size_t index, std::vector<char> &)> weightData;
};

llvm::Error writeModuleFile(llvm::StringRef path, const ModuleContents &contents);

} // namespace mlir::densessm

#endif // DENSESSM_TARGET_MODULEWRITER_H
