//===- InitAll.h - register every densessm dialect and pass -----*- C++ -*-===//
//
// The one place a tool registers what densessm provides: its dialect, the
// upstream dialects and passes its IR uses, and its own passes.
//
//===----------------------------------------------------------------------===//
#ifndef DENSESSM_INITALL_H
#define DENSESSM_INITALL_H

#include "densessm/Dialect/DenseSSM/IR/DenseSSMDialect.h"
#include "densessm/Dialect/DenseSSM/Transforms/GPULaunchEffects.h"
#include "densessm/Dialect/DenseSSM/Transforms/Passes.h"
#include "densessm/Pipelines/Pipelines.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"

namespace mlir::densessm {

/// Registers the densessm dialect and every upstream dialect (with their
/// interface extensions) into `registry`.
inline void registerAllDialects(DialectRegistry &registry) {
  registry.insert<DenseSSMDialect>();
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  // gpu.launch_func's memory effects, for the CUDA pipeline's buffer
  // deallocation after kernel outlining.
  registerGPULaunchMemoryEffects(registry);
  // The LLVM IR translations of the GPU dialects, which
  // --gpu-module-to-binary (the CUDA pipeline's PTX) needs.
  mlir::registerAllGPUToLLVMIRTranslations(registry);
}

/// Registers the densessm passes and pipelines and every upstream pass with
/// the global pass registry, so that textual pipelines can name them.
inline void registerAllPasses() {
  mlir::registerAllPasses();
  registerDenseSSMPasses();
  registerCPUPipeline();
  registerCUDAPipeline();
}

} // namespace mlir::densessm

#endif // DENSESSM_INITALL_H
