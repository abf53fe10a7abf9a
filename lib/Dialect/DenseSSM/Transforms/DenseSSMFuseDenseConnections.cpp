//===- DenseSSMFuseDenseConnections.cpp - --densessm-fuse-dense-connections
//===//
//
// Folds a dense hidden connection into the kernel-level scan that consumes
// it, so that the connected tensor is never written to memory: the scan
// recomputes each connected value where it reads it (its `dense(...)`
// operands), and a statistics pre-pass computes one 1/rms per token for the
// RMSNorm across channels (see docs/cpu-codegen.md for why).
//
// Folded: a dense_connect in the released form (identity projections,
// addition, RMSNorm, a selection gate) whose result is used only as a
// scan's values, through the reshape that splits its channels into heads
// (DenseRetNet's v). Left alone: a connection with another user (DenseMamba's
// u also feeds x_proj, and must exist as a tensor anyway), one that reaches
// the scan through other ops (DenseRetNet's k passes through rotary), and the
// ablation forms.
//
//===----------------------------------------------------------------------===//

#include "densessm/Dialect/DenseSSM/IR/DenseSSMOps.h"
#include "densessm/Dialect/DenseSSM/Transforms/Passes.h"

#include "TensorBuilders.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::densessm {
#define GEN_PASS_DEF_DENSESSMFUSEDENSECONNECTIONS
#include "densessm/Dialect/DenseSSM/Transforms/Passes.h.inc"
} // namespace mlir::densessm

using namespace mlir;
using namespace mlir::densessm;

namespace {

/// The released form of the connection, with something to connect.
bool isFoldable(DenseConnectOp connect) {
  return connect.getProjection() == Projection::identity &&
         connect.getFusion() == Fusion::add && connect.getNorm() == Norm::rms &&
         connect.getGateInput() && !connect.getKept().empty();
}

struct FoldConnectionIntoScan : OpRewritePattern<ScanOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(ScanOp scan,
                                PatternRewriter &rewriter) const override {
    if (scan.hasDenseInput())
      return rewriter.notifyMatchFailure(scan, "already has a dense input");
    // v = expand_shape(dense_connect(...)), each with this single use.
    auto split = scan.getV().getDefiningOp<tensor::ExpandShapeOp>();
    if (!split || !split->hasOneUse() ||
        split.getReassociationIndices() !=
            SmallVector<ReassociationIndices>{{0}, {1}, {2, 3}})
      return rewriter.notifyMatchFailure(scan, "values are not split heads");
    auto connect = split.getSrc().getDefiningOp<DenseConnectOp>();
    if (!connect || !connect->hasOneUse())
      return rewriter.notifyMatchFailure(
          scan, "values are not a dense connection used only here");
    if (!isFoldable(connect))
      return rewriter.notifyMatchFailure(scan, "not the released form");

    Location loc = connect.getLoc();
    rewriter.setInsertionPoint(scan);
    // The per-head views of the current and the kept tensors.
    SmallVector<OpFoldResult> heads = split.getMixedOutputShape();
    auto splitLike = [&](Value tensor) -> Value {
      auto type = cast<RankedTensorType>(split.getType());
      auto result = RankedTensorType::get(
          type.getShape(),
          cast<RankedTensorType>(tensor.getType()).getElementType());
      return tensor::ExpandShapeOp::create(rewriter, loc, result, tensor,
                                           split.getReassociationIndices(),
                                           heads);
    };
    // The gate's hidden layer, SiLU(fc1 · x): R = H/32 values per token.
    Value select = siluTensor(
        rewriter, loc,
        linear(rewriter, loc, connect.getGateInput(), connect.getGateFc1()));
    SmallVector<Value> kept;
    for (Value k : connect.getKept())
      kept.push_back(splitLike(k));

    rewriter.modifyOpInPlace(scan, [&] {
      scan.getVMutable().assign(splitLike(connect.getCurrent()));
      scan.getDenseKeptMutable().assign(kept);
      scan.getDenseSelectMutable().assign(select);
      scan.getDenseSelectWeightMutable().assign(connect.getGateFc2());
      scan.getDenseNormWeightMutable().assign(connect.getNormWeight());
      scan.setDenseEpsAttr(connect.getEpsAttr());
    });
    rewriter.eraseOp(split);
    rewriter.eraseOp(connect);
    return success();
  }
};

struct FuseDenseConnectionsPass
    : densessm::impl::DenseSSMFuseDenseConnectionsBase<
          FuseDenseConnectionsPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FoldConnectionIntoScan>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
