//===- CPUTarget.h - a model to a CPU shared object -------------*- C++ -*-===//
//
// The CPU back end of densessm-compile, in the phases its --emit flag can
// stop after:
//   1. wrap each entry point in the runtime's calling convention and run
//      --densessm-cpu-pipeline (tensor IR -> LLVM dialect);
//   2. translate to LLVM IR, add the packed dispatch functions the runtime
//      calls, optimise (-O3, LLVMOptimizer.h) for the target CPU;
//                                                        (--emit=llvm)
//   3. generate an object file and link it into a shared object with
//      ld.lld; the module file carries that image.        (--emit=module)
//
// A dispatch function `void densessm_dispatch_<entry>(void **args)` takes one
// pointer per binding (arguments then results, ModuleSignature order) to an
// MLIR memref descriptor; results are written into caller-owned buffers.
//
//===----------------------------------------------------------------------===//
#ifndef DENSESSM_TARGET_CPU_CPUTARGET_H
#define DENSESSM_TARGET_CPU_CPUTARGET_H

#include "densessm/Target/ModuleSignature.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <string>

namespace mlir::densessm {

struct CPUTargetOptions {
  /// "native" (this machine's CPU and features) or an LLVM CPU name.
  std::string cpu = "native";
  bool fuseDenseConnections = true;
  unsigned timeChunk = 0;
};

/// Phase 1: `module` (tensor IR with @prefill and @step) becomes the LLVM
/// dialect, with one C-interface wrapper per entry point.
llvm::Error lowerToLLVMDialect(ModuleOp module, const ModuleSignature &signature,
                               const CPUTargetOptions &options);

/// Phase 2: LLVM IR with the dispatch functions, optimised for the CPU.
llvm::Expected<std::unique_ptr<llvm::Module>>
translateToLLVMIR(ModuleOp module, llvm::LLVMContext &context,
                  const ModuleSignature &signature,
                  const CPUTargetOptions &options);

/// Phase 3: the shared object image. `architecture` receives what it was
/// compiled for (e.g. "x86_64:znver3").
llvm::Expected<std::string> emitSharedObject(llvm::Module &module,
                                             const CPUTargetOptions &options,
                                             std::string &architecture);

} // namespace mlir::densessm

#endif // DENSESSM_TARGET_CPU_CPUTARGET_H
