//===- CPUPipeline.cpp - --densessm-cpu-pipeline --------------------------===//
//
// The CPU compilation pipeline, from the densessm dialect on tensors to the
// LLVM dialect:
//   1. model-level scans -> the kernel-level scan, dense connections folded
//      into the scans that read them, the other model-level ops -> linalg
//      on tensors, then the scan -> loops on buffers;
//   2. one-shot bufferization of everything else (function boundaries with
//      identity layouts, so a caller passes plain strided memrefs), and
//      deallocation of every temporary buffer right after its last use;
//   3. projections -> calls of the runtime's BLAS GEMM, linalg -> loops, exp -> a vectorisable polynomial, scf.parallel ->
//      OpenMP, scf -> cf, vector/memref/math/arith/func/omp -> LLVM. The
//      code calls the OpenMP runtime (libomp) for its parallel loops.
//
//===----------------------------------------------------------------------===//

#include "densessm/Pipelines/Pipelines.h"

#include "PipelineStages.h"
#include "densessm/Dialect/DenseSSM/Transforms/Passes.h"
#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void mlir::densessm::buildCPUPipeline(OpPassManager &pm,
                                      const CPUPipelineOptions &options) {
  // Tensor level: every scan to the one kernel-level scan, dense
  // connections folded into the scans that read them, the other model-level
  // ops and elementwise arith/math on tensors to linalg.
  addTensorLevelStage(pm, options.fuseDenseConnections);
  DenseSSMLowerScanToLoopsOptions scanLoops;
  scanLoops.timeChunk = options.timeChunk;
  pm.addPass(createDenseSSMLowerScanToLoops(scanLoops));

  // Buffers; results the entry wrappers copy out computed in place.
  addBufferizationStage(pm);
  pm.addNestedPass<func::FuncOp>(createDenseSSMWriteResultsInPlace());
  // Free every temporary buffer once its last user is done (not at the end
  // of the function); buffers that a function returns belong to its caller.
  bufferization::buildBufferDeallocationPipeline(pm);
  pm.addNestedPass<func::FuncOp>(createDenseSSMFreeBuffersAfterLastUse());
  // Projections to the runtime's BLAS GEMM (the code then needs
  // libdensessm_runtime.so); the rest to loops.
  if (options.blas)
    pm.addPass(createDenseSSMLowerProjectionsToBLAS());

  // Loops (the parallel ones on OpenMP threads), then LLVM. Memrefs are
  // lowered before scf -> cf: the OpenMP loop bodies sit in
  // memref.alloca_scope regions, which must still be one block then.
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToLoopsPass());
  pm.addPass(createDenseSSMApproximateMath());
  pm.addPass(createConvertVectorToSCFPass());
  pm.addPass(createConvertSCFToOpenMPPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createConvertVectorToLLVMPass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertOpenMPToLLVMPass());
  pm.addPass(createConvertToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}

void mlir::densessm::registerCPUPipeline() {
  PassPipelineRegistration<CPUPipelineOptions>(
      "densessm-cpu-pipeline",
      "Compile densessm IR on tensors to the LLVM dialect for the CPU",
      [](OpPassManager &pm, const CPUPipelineOptions &options) {
        buildCPUPipeline(pm, options);
      });
}
