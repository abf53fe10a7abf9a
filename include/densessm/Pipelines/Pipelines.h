//===- Pipelines.h - densessm pass pipelines --------------------*- C++ -*-===//
#ifndef DENSESSM_PIPELINES_PIPELINES_H
#define DENSESSM_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

namespace mlir::densessm {

struct CPUPipelineOptions : public PassPipelineOptions<CPUPipelineOptions> {
  Option<bool> fuseDenseConnections{
      *this, "fuse-dense-connections",
      llvm::cl::desc("Fold dense connections into the scans that read them "
                     "(--densessm-fuse-dense-connections)"),
      llvm::cl::init(true)};
  Option<int64_t> timeChunk{
      *this, "time-chunk",
      llvm::cl::desc("Chunk the parallel schedule's scans over time in chunks "
                     "of this many tokens (0: a sequential time loop)"),
      llvm::cl::init(0)};
  Option<bool> blas{
      *this, "blas",
      llvm::cl::desc("Call the runtime's BLAS GEMM for projections "
                     "(--densessm-lower-projections-to-blas); the code then "
                     "needs libdensessm_runtime.so. Off: linalg loops"),
      llvm::cl::init(true)};
};

/// densessm (tensors) -> kernel-level scans -> loops on buffers -> LLVM
/// dialect, ready for translation to LLVM IR or a JIT. The input is a module
/// of func.func ops over tensors in the densessm, linalg, tensor, arith and
/// math dialects.
void buildCPUPipeline(OpPassManager &pm,
                      const CPUPipelineOptions &options = {});

/// Registers --densessm-cpu-pipeline.
void registerCPUPipeline();

} // namespace mlir::densessm

#endif // DENSESSM_PIPELINES_PIPELINES_H
