//===- CUDAPipeline.cpp - --densessm-cuda-pipeline ------------------------===//
//
// The CUDA compilation pipeline, from the densessm dialect on tensors to
// host code in the LLVM dialect and gpu.binary ops holding PTX (or cubins)
// for each chip:
//   1. model-level scans -> the kernel-level scan, dense connections folded
//      into the scans that read them, the other model-level ops -> linalg
//      on tensors (the CPU pipeline's first passes), then the scans -> GPU
//      kernels (gpu.launch: recurrent step or chunked parallel scan);
//   2. one-shot bufferization; the small ops (and small projections) only
//      a scan kernel reads, evaluated in that kernel; projections of few
//      rows (decoding) -> GEMV
//      kernels, the others -> calls of the runtime's cuBLAS GEMM (narrow
//      weights widened to f32 first); sums over many terms -> a block per
//      output element; the remaining linalg ops -> parallel loops -> blocks x
//      threads -> gpu.launch; kernel outlining (gpu.module / gpu.func);
//   3. buffer deallocation on the host code, then every host buffer in CUDA
//      managed memory (gpu.alloc host_shared);
//   4. NVVM targets (one per chip), the sm_90+ kernels waiting for the
//      kernels before them (programmatic dependent launch), the kernels ->
//      NVVM -> PTX (gpu-module-to-binary), the host code -> LLVM with calls of the
//      mgpu* runtime functions (upstream's gpu-lower-to-nvvm-pipeline, with
//      several targets and the densessm steps before it).
//
//===----------------------------------------------------------------------===//

#include "densessm/Pipelines/Pipelines.h"

#include "PipelineStages.h"
#include "densessm/Dialect/DenseSSM/Transforms/Passes.h"
#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/LLVMIR/Transforms/OptimizeForNVVM.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/FileSystem.h"

#include <cstdlib>

using namespace mlir;

/// The CUDA toolkit gpu-module-to-binary takes libdevice (the kernels' math
/// functions, __nv_*) and, for cubins, ptxas from: the `toolkit` option,
/// else $CUDA_HOME or $CUDA_PATH, else /usr/local/cuda when it has
/// libdevice. MLIR's own search depends on PATH, so a build would otherwise
/// link libdevice or not depending on the caller's environment (and emit
/// PTX with unresolved __nv_* functions when it does not).
static std::string cudaToolkit(const densessm::CUDAPipelineOptions &options) {
  if (!options.toolkit.empty())
    return options.toolkit;
  for (const char *variable : {"CUDA_HOME", "CUDA_PATH"})
    if (const char *value = std::getenv(variable); value && *value)
      return value;
  if (llvm::sys::fs::exists("/usr/local/cuda/nvvm/libdevice"))
    return "/usr/local/cuda";
  return "";
}

void mlir::densessm::buildCUDAPipeline(OpPassManager &pm,
                                       const CUDAPipelineOptions &options) {
  // Tensor level, as on the CPU; then the scans become GPU kernels.
  addTensorLevelStage(pm, options.fuseDenseConnections);
  // Every linalg op becomes a kernel launch of its own: fusing the
  // elementwise chains (gates, residual adds, the norms' scaling) first
  // saves both the launches and the round trips of their intermediates
  // through memory. Only single-use producers are fused, so nothing is
  // computed twice.
  if (options.fuseElementwise)
    pm.addPass(createDenseSSMFuseElementwise());
  DenseSSMLowerScanToGPUOptions scanKernels;
  scanKernels.blockSize = options.scanBlockSize;
  scanKernels.tokensPerThread = options.tokensPerThread;
  scanKernels.recurrentBlockSize = options.recurrentBlockSize;
  scanKernels.chunkwiseMinLength = options.chunkwiseMinLength;
  scanKernels.chunkwiseChunkSize = options.chunkwiseChunkSize;
  scanKernels.columnScanMinColumns = options.columnScanMinColumns;
  scanKernels.columnTokensPerThread = options.columnTokensPerThread;
  pm.addPass(createDenseSSMLowerScanToGPU(scanKernels));

  // Buffers.
  addBufferizationStage(pm);
  // The per-head values a scan step reads, and a Mamba step's dt_proj,
  // computed in its kernel: before the projections' lowering, which would
  // make dt_proj a GEMV kernel of its own.
  if (options.foldKernelProducers)
    pm.addNestedPass<func::FuncOp>(createDenseSSMFoldProducersIntoKernels());

  // Few-row projections (decoding) as GEMV kernels, whatever their weights'
  // element type; the others to cuBLAS below.
  if (options.gemvMaxRows > 0) {
    DenseSSMLowerProjectionsToGPUGEMVOptions gemv;
    gemv.maxRows = options.gemvMaxRows;
    gemv.blockSize = options.gemvBlockSize;
    gemv.targetBlocks = options.gemvTargetBlocks;
    gemv.fuseEpilogues = options.fuseGEMVEpilogues;
    gemv.fusePrologues = options.fuseGEMVPrologues;
    gemv.wideLoads = options.gemvWideLoads;
    gemv.fuseSiblings = options.fuseGEMVSiblings;
    pm.addPass(createDenseSSMLowerProjectionsToGPUGEMV(gemv));
  }
  // Projections to the runtime's cuBLAS GEMM, called by the host code on
  // the GPU buffers: a kernel of one thread per output element would
  // re-read the weights at a fraction of the bandwidth cuBLAS's GEMV and
  // GEMM reach.
  if (options.cublas) {
    DenseSSMLowerProjectionsToBLASOptions projections;
    projections.library = "cuda";
    pm.addPass(createDenseSSMLowerProjectionsToBLAS(projections));
  }

  // The other ops: linalg -> parallel loops -> blocks x threads -> kernels
  // (or host loops over managed memory); projections too with cublas=false,
  // one thread per output element with its reduction loop.
  if (options.linalgToGPU) {
    // Sums over many terms (norms' statistics) before the rest: as loops,
    // each output element would be one thread adding all its terms.
    if (options.reductionBlockSize > 0) {
      DenseSSMLowerReductionsToGPUOptions reductions;
      reductions.blockSize = options.reductionBlockSize;
      reductions.foldIntoKernels = options.foldKernelProducers;
      pm.addPass(createDenseSSMLowerReductionsToGPU(reductions));
    }
    // Host copies too, so that they run next to the kernels on GPU buffers.
    pm.addPass(createDenseSSMCopiesToKernels());
    pm.addNestedPass<func::FuncOp>(createConvertLinalgToParallelLoopsPass());
    // What tensor-level fusion cannot merge but a loop can: a fill and the
    // reduction that accumulates into it (its init is not an elementwise
    // producer), siblings over the same index space. The pass fuses only
    // when the second loop reads what the first wrote at the same index
    // and the buffers cannot otherwise alias. Loop bounds must be the same
    // SSA values: each size resolved to where it comes from (the batch of
    // a view's source, an allocation's operand), then CSE (each loop nest
    // re-reads its dynamic sizes). Loops must also be adjacent: the
    // allocations between them move up first.
    if (options.fuseLoops) {
      pm.addNestedPass<func::FuncOp>(
          memref::createResolveRankedShapeTypeResultDimsPass());
      pm.addNestedPass<func::FuncOp>(createCSEPass());
      pm.addNestedPass<func::FuncOp>(createDenseSSMGatherParallelLoops());
      pm.addNestedPass<func::FuncOp>(createParallelLoopFusionPass());
    }
    DenseSSMMapParallelLoopsToGPUOptions mapLoops;
    mapLoops.blockSize = options.loopBlockSize;
    mapLoops.fuseSiblings = options.fuseLoops;
    pm.addPass(createDenseSSMMapParallelLoopsToGPU(mapLoops));
    pm.addPass(createConvertParallelLoopToGpuPass());
    pm.addPass(createCanonicalizerPass());
  }
  // Independent kernels one after the other as one launch: one idle gap
  // of the GPU less each.
  if (options.fuseKernels)
    pm.addPass(createDenseSSMFuseSiblingKernels());
  // Kernels outlined before buffer deallocation: the deallocation pass
  // cannot look into gpu.launch bodies (gpu.barrier has no declared memory
  // effects, workgroup buffers are block arguments), and it skips gpu.func.
  // Constants and other index computations into the kernels first, so that
  // they are immediates there rather than kernel arguments.
  pm.addPass(createGpuLaunchSinkIndexComputationsPass());
  pm.addPass(createGpuKernelOutliningPass());
  bufferization::buildBufferDeallocationPipeline(pm);
  pm.addPass(createDenseSSMPlaceBuffersOnGPU());
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToLoopsPass());
  if (options.queueGPUWork)
    pm.addPass(createDenseSSMQueueGPUWork());
  if (options.stopAtGPU)
    return;

  // Upstream's gpu-lower-to-nvvm-pipeline, with one NVVM target per chip.
  pm.addPass(createConvertVectorToSCFPass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createConvertNVVMToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  for (const std::string &chip : options.chips) {
    GpuNVVMAttachTargetOptions target;
    target.chip = chip;
    target.optLevel = options.optLevel;
    pm.addPass(createGpuNVVMAttachTarget(target));
  }
  // sm_90+ kernels wait for the kernels before them, so that the runtime
  // can launch them before those end (their modules split by chip).
  if (options.programmaticLaunch)
    pm.addPass(createDenseSSMWaitForPrecedingKernels());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());

  pm.addNestedPass<gpu::GPUModuleOp>(createStripDebugInfoPass());
  pm.addNestedPass<gpu::GPUModuleOp>(createConvertGpuOpsToNVVMOps());
  pm.addNestedPass<gpu::GPUModuleOp>(LLVM::createNVVMOptimizeForTargetPass());
  pm.addNestedPass<gpu::GPUModuleOp>(createCanonicalizerPass());
  pm.addNestedPass<gpu::GPUModuleOp>(createCSEPass());
  pm.addNestedPass<gpu::GPUModuleOp>(createReconcileUnrealizedCastsPass());

  pm.addPass(createGpuToLLVMConversionPass());
  GpuModuleToBinaryPassOptions binary;
  binary.compilationTarget = options.format;
  binary.toolkitPath = cudaToolkit(options);
  pm.addPass(createGpuModuleToBinaryPass(binary));
  if (options.programmaticLaunch)
    pm.addPass(createDenseSSMMergeKernelBinaries());
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createConvertToLLVMPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}

void mlir::densessm::registerCUDAPipeline() {
  PassPipelineRegistration<CUDAPipelineOptions>(
      "densessm-cuda-pipeline",
      "Compile densessm IR on tensors to GPU kernels (PTX for sm_80 and "
      "sm_90) and host code in the LLVM dialect",
      [](OpPassManager &pm, const CUDAPipelineOptions &options) {
        buildCUDAPipeline(pm, options);
      });
}
