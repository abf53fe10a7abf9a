//===- Pipelines.h - densessm pass pipelines --------------------*- C++ -*-===//
#ifndef DENSESSM_PIPELINES_PIPELINES_H
#define DENSESSM_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassManager.h"

namespace mlir::densessm {

/// densessm (tensors) -> kernel-level scans -> loops on buffers -> LLVM
/// dialect, ready for translation to LLVM IR or a JIT. The input is a module
/// of func.func ops over tensors in the densessm, linalg, tensor, arith and
/// math dialects.
void buildCPUPipeline(OpPassManager &pm);

/// Registers --densessm-cpu-pipeline.
void registerCPUPipeline();

} // namespace mlir::densessm

#endif // DENSESSM_PIPELINES_PIPELINES_H
