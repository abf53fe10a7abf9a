//===- HostCode.h - the runtime's calling convention, both targets -*- C++ -*-===//
//
// What the CPU and CUDA targets share: each compiles the imported model into
// host code (the whole model on the CPU; the code launching the kernels for
// CUDA) for the same calling convention (docs/module-format.md):
//   - `densessm_entry_<entry>(arguments..., result buffers...)` replaces each
//     entry point, computing its results in the caller's buffers
//     (addEntryWrappers, on the tensor IR before a pipeline);
//   - `void densessm_dispatch_<entry>(void **bindings)` calls the wrapper's C
//     interface with one memref descriptor pointer per binding, and is the
//     only symbol the shared object exports (exportDispatchFunctions, on the
//     translated LLVM IR).
//
//===----------------------------------------------------------------------===//
#ifndef DENSESSM_TARGET_HOSTCODE_H
#define DENSESSM_TARGET_HOSTCODE_H

#include "densessm/Target/ModuleSignature.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/Error.h"

#include <string>

namespace mlir::densessm {

/// The symbol of an entry point's dispatch function.
std::string dispatchSymbol(llvm::StringRef entry);

/// Replaces every entry point in `signature` by its entry wrapper in
/// `module` (tensor IR): the same body, results written into buffers the
/// caller passes.
void addEntryWrappers(ModuleOp module, const ModuleSignature &signature);

/// Adds the dispatch functions to the translated module and gives every
/// other definition internal linkage (the optimiser may then inline and
/// drop it, and no other library's symbol can interpose on it).
llvm::Error exportDispatchFunctions(llvm::Module &module,
                                    const ModuleSignature &signature);

} // namespace mlir::densessm

#endif // DENSESSM_TARGET_HOSTCODE_H
