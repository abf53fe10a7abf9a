//===- CUDATarget.h - a model to CUDA host code and kernels -----*- C++ -*-===//
//
// The CUDA back end of densessm-compile (--target=cuda):
//   1. wrap each entry point in the runtime's calling convention
//      (Target/HostCode.h) and run --densessm-cuda-pipeline: host code in
//      the LLVM dialect and one gpu.binary per kernel module, holding PTX
//      for every chip;                                        (--emit=ptx)
//   2. translate to LLVM IR (the gpu.binary ops become embedded PTX loaded
//      by the host code's constructors), add the dispatch functions and
//      optimise for the host CPU: CPUTarget's translateToLLVMIR and
//      emitSharedObject, the same as the CPU code;
//   3. the module file carries that shared object as Executable{CUDA,
//      "elf-shared-object"}, and every kernel object the host code does not
//      embed (the PTX of the other chips) as Executable{CUDA, "ptx", chip,
//      kernel_key}, so the runtime loads the one for its GPU.
//
//===----------------------------------------------------------------------===//
#ifndef DENSESSM_TARGET_CUDA_CUDATARGET_H
#define DENSESSM_TARGET_CUDA_CUDATARGET_H

#include "densessm/Target/ModuleSignature.h"
#include "densessm/Target/ModuleWriter.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace mlir::densessm {

struct CUDATargetOptions {
  bool fuseDenseConnections = true;
  /// The chips to compile every kernel for; the first one's PTX is embedded
  /// in the host code (and JIT-compiled by the driver on newer GPUs).
  std::vector<std::string> chips = {"sm_80", "sm_90"};
  /// More --densessm-cuda-pipeline options, as its textual form takes them
  /// ("gemv-wide-loads=false fuse-gemv-prologues=false"): for comparing
  /// the pipeline's steps on a model. Those above win.
  std::string pipelineOptions;
};

/// One object of a kernel module (a gpu.binary).
struct KernelObject {
  std::string kernelModule; // the gpu.binary's symbol
  std::string chip;         // "sm_80"
  std::string format;       // "ptx", "cubin", "fatbin"
  std::string bytes;
  bool embedded = false;    // the object the host code embeds (the first)
  /// Its kernels wait for the kernels before them: they may be launched
  /// with programmatic stream serialization (sm_90+).
  bool programmaticLaunch = false;
};

/// Phase 1: `module` (tensor IR with the entry points of `signature`)
/// becomes CUDA host code in the LLVM dialect with gpu.binary ops. When the
/// pipeline fails, the error names the first failing op and says that
/// --target=cpu compiles the model.
llvm::Error lowerToCUDA(ModuleOp module, const ModuleSignature &signature,
                        const CUDATargetOptions &options);

/// The objects of every gpu.binary of a lowered module, in module order.
std::vector<KernelObject> collectKernelObjects(ModuleOp module);

/// The module file's kernel executables: every object the host code does
/// not embed, tagged with the key of the embedded one of its kernel module.
std::vector<ExecutableImage>
kernelExecutables(const std::vector<KernelObject> &objects);

/// "sm_80,sm_90".
std::string chipList(const CUDATargetOptions &options);

/// Cubins of every PTX object, assembled with the CUDA Toolkit's ptxas for
/// the object's chip and keyed like it, so that the runtime loads the cubin
/// of the GPU's chip instead of JIT-compiling the PTX. Returns none (and
/// says why in `note`) when there is no ptxas ($CUDA_HOME, $CUDA_PATH,
/// /usr/local/cuda, PATH); a ptxas failure is an error.
llvm::Expected<std::vector<ExecutableImage>>
assembleCubins(const std::vector<KernelObject> &objects, std::string &note);

} // namespace mlir::densessm

#endif // DENSESSM_TARGET_CUDA_CUDATARGET_H
