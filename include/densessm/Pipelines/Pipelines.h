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

struct CUDAPipelineOptions : public PassPipelineOptions<CUDAPipelineOptions> {
  Option<bool> fuseDenseConnections{
      *this, "fuse-dense-connections",
      llvm::cl::desc("Fold dense connections into the scans that read them "
                     "(--densessm-fuse-dense-connections)"),
      llvm::cl::init(true)};
  Option<bool> fuseElementwise{
      *this, "fuse-elementwise",
      llvm::cl::desc("Fuse producer-consumer chains of elementwise linalg "
                     "ops on tensors into one op, hence one kernel "
                     "(--densessm-fuse-elementwise)"),
      llvm::cl::init(true)};
  Option<bool> fuseLoops{
      *this, "fuse-loops",
      llvm::cl::desc("Fuse parallel loops of the same bounds (a norm's "
                     "zero fill and its sum, independent siblings) into one "
                     "loop, hence one kernel (--densessm-gather-parallel-"
                     "loops, --scf-parallel-loop-fusion), and map "
                     "independent loops of other bounds to one kernel "
                     "(--densessm-map-parallel-loops-to-gpu=fuse-siblings)"),
      llvm::cl::init(true)};
  Option<bool> fuseGEMVEpilogues{
      *this, "fuse-gemv-epilogues",
      llvm::cl::desc("Fold an elementwise op on a GEMV projection's output "
                     "into the GEMV kernel "
                     "(--densessm-lower-projections-to-gpu-gemv="
                     "fuse-epilogues)"),
      llvm::cl::init(true)};
  Option<bool> programmaticLaunch{
      *this, "programmatic-launch",
      llvm::cl::desc("sm_90+ kernels wait for the kernels before them, so "
                     "that the runtime can launch each before the one before "
                     "ends (programmatic dependent launch; "
                     "--densessm-wait-for-preceding-kernels)"),
      llvm::cl::init(true)};
  Option<bool> fuseKernels{
      *this, "fuse-kernels",
      llvm::cl::desc("Run consecutive independent kernels as one launch "
                     "(--densessm-fuse-sibling-kernels)"),
      llvm::cl::init(true)};
  Option<bool> foldKernelProducers{
      *this, "fold-kernel-producers",
      llvm::cl::desc("Evaluate an elementwise op, or a projection over at "
                     "most 256 inputs, whose output only a scan kernel reads "
                     "in that kernel "
                     "(--densessm-fold-producers-into-kernels), and a sum "
                     "only one kernel reads in that kernel's blocks "
                     "(--densessm-lower-reductions-to-gpu="
                     "fold-into-kernels)"),
      llvm::cl::init(true)};
  Option<bool> fuseGEMVPrologues{
      *this, "fuse-gemv-prologues",
      llvm::cl::desc("Compute a GEMV projection's input (a norm's scaling "
                     "and sum) in the GEMV kernel "
                     "(--densessm-lower-projections-to-gpu-gemv="
                     "fuse-prologues)"),
      llvm::cl::init(true)};
  Option<bool> gemvWideLoads{
      *this, "gemv-wide-loads",
      llvm::cl::desc("Load 16 bytes of weights per lane at once in the GEMV "
                     "kernel, from x staged in shared memory "
                     "(--densessm-lower-projections-to-gpu-gemv=wide-loads)"),
      llvm::cl::init(true)};
  Option<bool> fuseGEMVSiblings{
      *this, "fuse-gemv-siblings",
      llvm::cl::desc("Run the GEMV projections of the same input (q, k, "
                     "v, a dense layer's gates) as one kernel "
                     "(--densessm-lower-projections-to-gpu-gemv="
                     "fuse-siblings)"),
      llvm::cl::init(true)};
  Option<int64_t> scanBlockSize{
      *this, "scan-block-size",
      llvm::cl::desc("Threads per block of the chunked parallel scan kernel "
                     "(--densessm-lower-scan-to-gpu=block-size)"),
      llvm::cl::init(128)};
  Option<int64_t> tokensPerThread{
      *this, "tokens-per-thread",
      llvm::cl::desc("Tokens each thread of the parallel scan scans serially "
                     "(--densessm-lower-scan-to-gpu=tokens-per-thread)"),
      llvm::cl::init(4)};
  Option<int64_t> recurrentBlockSize{
      *this, "recurrent-block-size",
      llvm::cl::desc("Threads per block of the recurrent step kernel "
                     "(--densessm-lower-scan-to-gpu=recurrent-block-size)"),
      llvm::cl::init(256)};
  Option<int64_t> chunkwiseMinLength{
      *this, "chunkwise-min-length",
      llvm::cl::desc("Length from which a retention-style scan (per-head "
                     "decay) runs as the chunkwise kernel; -1: never "
                     "(--densessm-lower-scan-to-gpu=chunkwise-min-length)"),
      llvm::cl::init(256)};
  Option<int64_t> chunkwiseChunkSize{
      *this, "chunkwise-chunk-size",
      llvm::cl::desc("Tokens per chunk of the chunkwise retention kernel, "
                     "in [1, 64] "
                     "(--densessm-lower-scan-to-gpu=chunkwise-chunk-size)"),
      llvm::cl::init(64)};
  Option<int64_t> columnScanMinColumns{
      *this, "column-scan-min-columns",
      llvm::cl::desc("State columns (batch x heads x value size) from which "
                     "the parallel schedule runs the column scan (lanes "
                     "along columns); 0: always, -1: never "
                     "(--densessm-lower-scan-to-gpu=column-scan-min-columns)"),
      llvm::cl::init(4096)};
  Option<int64_t> columnTokensPerThread{
      *this, "column-tokens-per-thread",
      llvm::cl::desc("Tokens each thread of the column scan scans serially "
                     "(--densessm-lower-scan-to-gpu=column-tokens-per-thread)"),
      llvm::cl::init(4)};
  Option<bool> linalgToGPU{
      *this, "linalg-to-gpu",
      llvm::cl::desc("Run the non-scan ops (linalg after bufferization: "
                     "elementwise, norms, convolutions, projections) as GPU "
                     "kernels; off: host loops over managed memory"),
      llvm::cl::init(true)};
  Option<bool> cublas{
      *this, "cublas",
      llvm::cl::desc("Call the runtime's cuBLAS GEMM for projections "
                     "(--densessm-lower-projections-to-blas=library=cuda); "
                     "the host code then needs libdensessm_runtime.so. Off: "
                     "kernels of one thread per output element (or host "
                     "loops with linalg-to-gpu=false)"),
      llvm::cl::init(true)};
  Option<int64_t> gemvMaxRows{
      *this, "gemv-max-rows",
      llvm::cl::desc("Projections with at most this many rows (batch x "
                     "tokens: decoding) run as the GEMV kernel, the others "
                     "on cuBLAS or as loop kernels; 0: never "
                     "(--densessm-lower-projections-to-gpu-gemv=max-rows)"),
      llvm::cl::init(8)};
  Option<int64_t> gemvBlockSize{
      *this, "gemv-block-size",
      llvm::cl::desc("Threads per block of the GEMV kernel, a warp per "
                     "output (--densessm-lower-projections-to-gpu-gemv="
                     "block-size)"),
      llvm::cl::init(256)};
  Option<int64_t> gemvTargetBlocks{
      *this, "gemv-target-blocks",
      llvm::cl::desc("Blocks per row a GEMV kernel aims for: with fewer, "
                     "each output's inputs are split over several warps "
                     "(a narrow projection such as Mamba's x_proj); 1: "
                     "never (--densessm-lower-projections-to-gpu-gemv="
                     "target-blocks)"),
      llvm::cl::init(128)};
  Option<int64_t> reductionBlockSize{
      *this, "reduction-block-size",
      llvm::cl::desc("The most threads per block of a sum reduction's "
                     "kernel, one block per output element (a norm's sum of "
                     "squares; --densessm-lower-reductions-to-gpu="
                     "block-size); 0: one thread per output element, as the "
                     "other loop kernels"),
      llvm::cl::init(256)};
  Option<int64_t> loopBlockSize{
      *this, "loop-block-size",
      llvm::cl::desc("Threads per block of the kernels made from parallel "
                     "loops (--densessm-map-parallel-loops-to-gpu)"),
      llvm::cl::init(256)};
  Option<bool> queueGPUWork{
      *this, "queue-gpu-work",
      llvm::cl::desc("Queue the GPU work of functions whose host code never "
                     "touches a buffer on one stream, waited on once at the "
                     "return (--densessm-queue-gpu-work); needs the densessm "
                     "runtime, which densessm-compile --target=cuda modules "
                     "run in"),
      llvm::cl::init(false)};
  Option<bool> stopAtGPU{
      *this, "stop-at-gpu",
      llvm::cl::desc("Stop before NVVM: host code on buffers with outlined "
                     "kernels (gpu.module / gpu.func / gpu.launch_func), "
                     "buffers in managed memory; for reading the kernels' "
                     "GPU IR and for emulating them"),
      llvm::cl::init(false)};
  ListOption<std::string> chips{
      *this, "chips",
      llvm::cl::desc("GPU architectures to compile the kernels for, one "
                     "object each in every gpu.binary; the first is the one "
                     "the host code loads"),
      llvm::cl::list_init<std::string>({"sm_80", "sm_90"})};
  Option<unsigned> optLevel{*this, "opt-level",
                            llvm::cl::desc("NVVM optimisation level"),
                            llvm::cl::init(3)};
  Option<std::string> format{
      *this, "format",
      llvm::cl::desc("What each gpu.binary object holds: isa (PTX text, "
                     "JIT-compiled by the driver at load), bin (cubin, needs "
                     "ptxas) or fatbin (needs ptxas and fatbinary)"),
      llvm::cl::init("isa")};
  Option<std::string> toolkit{
      *this, "toolkit",
      llvm::cl::desc("CUDA toolkit path for libdevice (the kernels' math "
                     "functions) and ptxas/fatbinary (empty: $CUDA_HOME, "
                     "$CUDA_PATH, then /usr/local/cuda)"),
      llvm::cl::init("")};
};

/// densessm (tensors) -> kernel-level scans -> GPU kernels (gpu.launch) ->
/// bufferized host code with outlined kernels, buffers in CUDA managed
/// memory -> NVVM -> gpu.binary ops holding PTX (or cubins) for every chip,
/// and host code in the LLVM dialect calling the mgpu* runtime functions of
/// MLIR's CUDA runtime wrappers (docs/cuda-codegen.md lists them).
void buildCUDAPipeline(OpPassManager &pm,
                       const CUDAPipelineOptions &options = {});

/// Registers --densessm-cuda-pipeline.
void registerCUDAPipeline();

/// Applies the pass-manager flags of the tool's command line to `pm`
/// (--mlir-timing and the others registerPassManagerCLOptions adds; none
/// when the library is used without them). Fails on invalid values.
LogicalResult applyCommandLinePassOptions(PassManager &pm);

} // namespace mlir::densessm

#endif // DENSESSM_PIPELINES_PIPELINES_H
