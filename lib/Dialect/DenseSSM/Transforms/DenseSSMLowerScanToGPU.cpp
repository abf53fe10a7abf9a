//===- DenseSSMLowerScanToGPU.cpp - --densessm-lower-scan-to-gpu ----------===//
//
// Lowers the kernel-level densessm.scan to GPU kernels (gpu.launch) on
// buffers: the recurrent step kernel for a scan of one token (a recurrent
// function); for the others, the chunkwise retention kernel for a per-head
// decay (retention) over at least chunkwise-min-length tokens, else the
// column scan for at least column-scan-min-columns state columns, else the
// chunked parallel scan — picked at run time by scf.ifs when sizes are
// dynamic; and a statistics kernel first when a dense connection is fused
// in. The kernels
// live in ScanGPU/, one per file; this file reads the op's operands, picks
// the kernels, and replaces the op.
//
// Like --densessm-lower-scan-to-loops, the op's tensor operands are read
// through bufferization.to_buffer and its results are new buffers wrapped
// by bufferization.to_tensor, so that one-shot bufferization composes with
// the rest of the function. The buffers are memref.allocs: a pipeline moves
// every host buffer to GPU memory after bufferization
// (--densessm-place-buffers-on-gpu).
//
//===----------------------------------------------------------------------===//

#include "densessm/Dialect/DenseSSM/IR/DenseSSMOps.h"
#include "densessm/Dialect/DenseSSM/Transforms/GPULaunchEffects.h"
#include "densessm/Dialect/DenseSSM/Transforms/Passes.h"

#include "ScanGPU/ScanGPU.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::densessm {
#define GEN_PASS_DEF_DENSESSMLOWERSCANTOGPU
#include "densessm/Dialect/DenseSSM/Transforms/Passes.h.inc"
} // namespace mlir::densessm

using namespace mlir;
using namespace mlir::densessm;

namespace {

/// Whether the scan runs as the recurrent step: it sits in a function with
/// the recurrent schedule, or it scans one token.
bool isRecurrentStep(ScanOp op) {
  if (std::optional<Schedule> schedule = functionSchedule(op))
    return *schedule == Schedule::recurrent;
  return cast<RankedTensorType>(op.getV().getType()).getDimSize(1) == 1;
}

struct LowerScanToGPU : OpRewritePattern<ScanOp> {
  LowerScanToGPU(MLIRContext *context, int64_t blockSize,
                 int64_t tokensPerThread, int64_t recurrentBlockSize,
                 int64_t chunkwiseMinLength, int64_t chunkwiseChunkSize,
                 int64_t columnScanMinColumns, int64_t columnTokensPerThread)
      : OpRewritePattern(context), blockSize(blockSize),
        tokensPerThread(tokensPerThread),
        recurrentBlockSize(recurrentBlockSize),
        chunkwiseMinLength(chunkwiseMinLength),
        chunkwiseChunkSize(chunkwiseChunkSize),
        columnScanMinColumns(columnScanMinColumns),
        columnTokensPerThread(columnTokensPerThread) {}
  int64_t blockSize, tokensPerThread, recurrentBlockSize;
  int64_t chunkwiseMinLength, chunkwiseChunkSize;
  int64_t columnScanMinColumns, columnTokensPerThread;

  /// `thenKernels` where `condition` holds, else `elseKernels`: picked here
  /// when the condition folded to a constant (static sizes), by an scf.if at
  /// run time otherwise.
  static void choose(
      OpBuilder &b, Location loc, Value condition,
      llvm::function_ref<void(OpBuilder &)> thenKernels,
      llvm::function_ref<void(OpBuilder &)> elseKernels) {
    if (std::optional<int64_t> known = getConstantIntValue(condition))
      return *known ? thenKernels(b) : elseKernels(b);
    auto choice = scf::IfOp::create(b, loc, condition, /*withElseRegion=*/true);
    OpBuilder thenBuilder = choice.getThenBodyBuilder();
    thenKernels(thenBuilder);
    OpBuilder elseBuilder = choice.getElseBodyBuilder();
    elseKernels(elseBuilder);
  }

  /// Whether `size` is at least `minimum`: a constant when `size` is one or
  /// the minimum is 0 (an index is never below it).
  static Value atLeast(OpBuilder &b, Location loc, Value size,
                       int64_t minimum) {
    if (minimum == 0)
      return arith::ConstantIntOp::create(b, loc, 1, /*width=*/1);
    return b.createOrFold<arith::CmpIOp>(
        loc, arith::CmpIPredicate::uge, size,
        arith::ConstantIndexOp::create(b, loc, minimum));
  }

  /// The parallel schedule. The chunkwise kernel needs one decay per head
  /// (its decay mask is exp of differences of a per-head cumulative log
  /// decay), and pays off on long sequences. Otherwise a scan of many
  /// state columns (batch × heads × value size) is the column scan, whose
  /// warps read and write rows of columns at once; few columns over a long
  /// sequence (a batch of one, a narrow model) leave it too few threads,
  /// and take the chunked scan, whose blocks split time instead.
  void emitParallel(OpBuilder &b, Location loc, ScanOp op,
                    const gpu_scan::ScanKernels &kernels) const {
    const ScanLowering &s = kernels.scan;
    auto acrossColumnsOrTime = [&](OpBuilder &sb) {
      if (columnScanMinColumns < 0)
        return kernels.emitChunkedScan(sb, loc);
      Value columns = sb.createOrFold<arith::MulIOp>(
          loc, sb.createOrFold<arith::MulIOp>(loc, kernels.batch, kernels.heads),
          s.valueDim);
      choose(
          sb, loc, atLeast(sb, loc, columns, columnScanMinColumns),
          [&](OpBuilder &cb) { kernels.emitColumnScan(cb, loc); },
          [&](OpBuilder &cb) { kernels.emitChunkedScan(cb, loc); });
    };
    if (op.hasElementwiseDecay() || chunkwiseMinLength < 0)
      return acrossColumnsOrTime(b);
    choose(
        b, loc, atLeast(b, loc, s.length, chunkwiseMinLength),
        [&](OpBuilder &cb) { kernels.emitChunkwiseRetention(cb, loc); },
        acrossColumnsOrTime);
  }

  LogicalResult matchAndRewrite(ScanOp op,
                                PatternRewriter &rewriter) const override {
    if (op->getParentOfType<gpu::LaunchOp>() ||
        op->getParentOfType<gpu::GPUModuleOp>())
      return rewriter.notifyMatchFailure(op, "already in GPU code");
    Location loc = op.getLoc();
    OpBuilder &b = rewriter;
    // Sizes: constants where the type knows them (the kernels' launch
    // bounds and loops then fold), tensor.dim otherwise.
    auto dim = [&](Value tensor, int64_t axis) -> Value {
      int64_t size = cast<RankedTensorType>(tensor.getType()).getDimSize(axis);
      if (!ShapedType::isDynamic(size))
        return arith::ConstantIndexOp::create(b, loc, size);
      return tensor::DimOp::create(b, loc, tensor, axis);
    };
    Value batch, heads;
    ScanLowering s = ScanLowering::prepare(b, loc, op, dim, batch, heads);

    gpu_scan::ScanKernels kernels{s,
                                  batch,
                                  heads,
                                  blockSize,
                                  tokensPerThread,
                                  recurrentBlockSize,
                                  chunkwiseChunkSize,
                                  columnTokensPerThread};
    const bool recurrent = isRecurrentStep(op);
    if (op.hasDenseInput())
      kernels.emitDenseStatistics(b, loc, op.getDenseEps()->convertToFloat(),
                                  kernels.denseStatisticsParts(recurrent));
    if (recurrent)
      kernels.emitRecurrent(b, loc);
    else
      emitParallel(b, loc, op, kernels);
    // The statistics buffer is freed by the buffer deallocation that
    // follows bufferization, after its last use.

    s.replaceWithResults(rewriter, loc);
    return success();
  }
};

struct LowerScanToGPUPass
    : densessm::impl::DenseSSMLowerScanToGPUBase<LowerScanToGPUPass> {
  using Base::Base;

  // The CUDA pipeline deallocates buffers after outlining kernels, which
  // needs gpu.launch_func's memory effects (GPULaunchEffects.h).
  void getDependentDialects(DialectRegistry &registry) const override {
    Base::getDependentDialects(registry);
    registerGPULaunchMemoryEffects(registry);
  }

  /// A block size the kernels can use: whole warps, at most 1024 threads.
  LogicalResult checkBlockSize(StringRef option, int64_t value) {
    if (value >= gpu_scan::kWarpSize && value <= 1024 &&
        value % gpu_scan::kWarpSize == 0)
      return success();
    return emitError(getOperation()->getLoc())
           << "--densessm-lower-scan-to-gpu: option '" << option
           << "' must be a multiple of 32 in [32, 1024], found " << value;
  }

  /// Tokens a thread keeps in registers: at least one, at most 64.
  LogicalResult checkTokensPerThread(StringRef option, int64_t value) {
    if (value >= 1 && value <= 64)
      return success();
    return emitError(getOperation()->getLoc())
           << "--densessm-lower-scan-to-gpu: option '" << option
           << "' must be in [1, 64], found " << value;
  }

  void runOnOperation() override {
    if (failed(checkBlockSize("block-size", blockSize)) ||
        failed(checkBlockSize("recurrent-block-size", recurrentBlockSize)))
      return signalPassFailure();
    if (failed(checkTokensPerThread("tokens-per-thread", tokensPerThread)) ||
        failed(checkTokensPerThread("column-tokens-per-thread",
                                    columnTokensPerThread)))
      return signalPassFailure();
    if (chunkwiseChunkSize < 1 ||
        chunkwiseChunkSize > gpu_scan::kChunkwiseMaxChunkSize) {
      emitError(getOperation()->getLoc())
          << "--densessm-lower-scan-to-gpu: option 'chunkwise-chunk-size' "
             "must be in [1, "
          << gpu_scan::kChunkwiseMaxChunkSize
          << "] (the chunkwise kernel's tiles live in 48 KiB of static "
             "shared memory), found "
          << static_cast<int64_t>(chunkwiseChunkSize);
      return signalPassFailure();
    }
    if (chunkwiseMinLength < -1) {
      emitError(getOperation()->getLoc())
          << "--densessm-lower-scan-to-gpu: option 'chunkwise-min-length' "
             "must be a length, or -1 (never), found "
          << static_cast<int64_t>(chunkwiseMinLength);
      return signalPassFailure();
    }
    if (columnScanMinColumns < -1) {
      emitError(getOperation()->getLoc())
          << "--densessm-lower-scan-to-gpu: option 'column-scan-min-columns' "
             "must be a column count, or -1 (never), found "
          << static_cast<int64_t>(columnScanMinColumns);
      return signalPassFailure();
    }
    RewritePatternSet patterns(&getContext());
    patterns.add<LowerScanToGPU>(&getContext(), blockSize, tokensPerThread,
                                 recurrentBlockSize, chunkwiseMinLength,
                                 chunkwiseChunkSize, columnScanMinColumns,
                                 columnTokensPerThread);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
    // Every scan must have become kernels: none is left on the CPU quietly.
    WalkResult left = getOperation()->walk([](ScanOp op) {
      op.emitOpError("was not lowered to GPU kernels by "
                     "--densessm-lower-scan-to-gpu (a scan inside GPU code "
                     "is not supported)");
      return WalkResult::interrupt();
    });
    if (left.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace
