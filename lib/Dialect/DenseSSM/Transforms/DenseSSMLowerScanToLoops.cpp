//===- DenseSSMLowerScanToLoops.cpp - --densessm-lower-scan-to-loops ------===//
//
// Lowers the kernel-level densessm.scan to loops on buffers: parallel loops
// over independent work (batch x channel blocks or heads, or time chunks)
// around the recurrence, in the loop-nest form the scan's shapes allow. The
// forms live in ScanLoops/, one per file; this file picks one per scan.
//
// The op's tensor operands are read through bufferization.to_buffer and its
// results are new buffers wrapped by bufferization.to_tensor, so that
// one-shot bufferization composes with the rest of the function.
//
//===----------------------------------------------------------------------===//

#include "densessm/Dialect/DenseSSM/IR/DenseSSMOps.h"
#include "densessm/Dialect/DenseSSM/Transforms/Passes.h"

#include "ScanLoops/ScanLowering.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::densessm {
#define GEN_PASS_DEF_DENSESSMLOWERSCANTOLOOPS
#include "densessm/Dialect/DenseSSM/Transforms/Passes.h.inc"
} // namespace mlir::densessm

using namespace mlir;
using namespace mlir::densessm;

namespace {

/// Whether the scan sits in a function with the recurrent schedule.
bool isRecurrent(ScanOp op) {
  return functionSchedule(op) == Schedule::recurrent;
}

struct LowerScan : OpRewritePattern<ScanOp> {
  LowerScan(MLIRContext *context, int64_t timeChunk)
      : OpRewritePattern(context), timeChunk(timeChunk) {}
  int64_t timeChunk;

  LogicalResult matchAndRewrite(ScanOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    OpBuilder &b = rewriter;
    auto dim = [&](Value tensor, int64_t axis) -> Value {
      return tensor::DimOp::create(b, loc, tensor, axis);
    };
    Value batch, heads;
    ScanLowering s = ScanLowering::prepare(b, loc, op, dim, batch, heads);
    auto stateType = cast<RankedTensorType>(op.getFinalState().getType());
    if (op.hasDenseInput())
      s.emitDenseStatistics(b, loc, batch, heads,
                            op.getDenseEps()->convertToFloat());

    int64_t K = stateType.getDimSize(2), V = stateType.getDimSize(3);
    Value zero = arith::ConstantIndexOp::create(b, loc, 0);
    Value one = arith::ConstantIndexOp::create(b, loc, 1);
    if (timeChunk > 0 && !isRecurrent(op)) {
      s.emitTimeChunked(b, loc, batch, heads, timeChunk);
    } else {
      // Mamba-1's form goes W channels at a time where it can; the channels
      // that do not fill a block, and every other form, go one (b, h) pair at
      // a time.
      Value firstSingle = zero;
      if (std::optional<ChannelViews> views = s.channelViews(b, loc, K, V)) {
        constexpr int64_t W = 16;
        Value width = arith::ConstantIndexOp::create(b, loc, W);
        Value blocks = arith::DivUIOp::create(b, loc, heads, width);
        firstSingle = arith::MulIOp::create(b, loc, blocks, width);
        Value group = arith::ConstantIndexOp::create(b, loc, kChannelBlockGroup);
        Value groups = arith::CeilDivUIOp::create(b, loc, blocks, group);
        scf::ParallelOp::create(
            b, loc, ValueRange{zero, zero}, ValueRange{batch, groups},
            ValueRange{one, one},
            [&](OpBuilder &pb, Location pl, ValueRange bg) {
              Value first = arith::MulIOp::create(pb, pl, bg[1], group);
              Value count = arith::MinUIOp::create(
                  pb, pl, group, arith::SubIOp::create(pb, pl, blocks, first));
              Value h0 = arith::MulIOp::create(pb, pl, first, width);
              s.emitChannelBlocks(pb, pl, bg[0], h0, count, K, W, *views);
            });
      }
      scf::ParallelOp::create(b, loc, ValueRange{zero, firstSingle},
                              ValueRange{batch, heads}, ValueRange{one, one},
                              [&](OpBuilder &pb, Location pl, ValueRange bh) {
                                Value bi = bh[0], h = bh[1];
                                Value gq, gk;
                                std::tie(gq, gk) = s.groups(pb, pl, h);
                                if (V == 1 && !ShapedType::isDynamic(K))
                                  s.emitRegisterState(pb, pl, bi, h, gq, gk, K);
                                else if (!ShapedType::isDynamic(V))
                                  s.emitValueChunks(pb, pl, bi, h, gq, gk, V);
                                else
                                  s.emitScalar(pb, pl, bi, h, gq, gk);
                              });
    }

    s.replaceWithResults(rewriter, loc);
    return success();
  }
};

struct LowerScanToLoopsPass
    : densessm::impl::DenseSSMLowerScanToLoopsBase<LowerScanToLoopsPass> {
  using Base::Base;
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<LowerScan>(&getContext(), timeChunk);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
