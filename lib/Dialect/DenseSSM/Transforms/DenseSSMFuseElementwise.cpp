//===- DenseSSMFuseElementwise.cpp - --densessm-fuse-elementwise ----------===//
//
// Upstream's --linalg-fuse-elementwise-ops, with one difference: nothing is
// fused into, out of, or through a projection (Projections.h). Upstream also
// folds reshapes into the ops around them by expanding those ops: with
// static shapes it turns y = x wᵀ followed by a split into heads
// (tensor.expand_shape) into a 5-dimensional linalg.generic over the
// weight viewed as [heads, head_dim, in]. That is the same arithmetic, but
// no longer a projection, so the passes that give projections their
// kernels (the GEMV, cuBLAS) would not see it, and it would run as a plain
// loop nest: one GPU thread per output, re-reading the weights. The
// reshape stays instead (a view, after bufferization), and the GEMV's
// epilogue folding reads through it.
//
//===----------------------------------------------------------------------===//

#include "Projections.h"

#include "densessm/Dialect/DenseSSM/Transforms/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tensor/Transforms/Transforms.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::densessm {
#define GEN_PASS_DEF_DENSESSMFUSEELEMENTWISE
#include "densessm/Dialect/DenseSSM/Transforms/Passes.h.inc"
} // namespace mlir::densessm

using namespace mlir;

namespace {

bool isProjectionOp(Operation *op) {
  auto linalgOp = dyn_cast_or_null<linalg::LinalgOp>(op);
  return linalgOp && densessm::isProjection(linalgOp);
}

struct FuseElementwisePass
    : densessm::impl::DenseSSMFuseElementwiseBase<FuseElementwisePass> {
  void runOnOperation() override {
    MLIRContext *context = &getContext();
    // Upstream's rule (a producer with one use: nothing is computed
    // twice), and never a projection on either side.
    linalg::ControlFusionFn control = [](OpOperand *fused) {
      Operation *producer = fused->get().getDefiningOp();
      return producer && producer->hasOneUse() &&
             !isProjectionOp(producer) && !isProjectionOp(fused->getOwner());
    };
    RewritePatternSet patterns(context);
    linalg::populateElementwiseOpsFusionPatterns(patterns, control);
    linalg::populateFoldReshapeOpsByExpansionPatterns(patterns, control);
    tensor::populateBubbleUpExpandShapePatterns(patterns);
    // A reshape folded by expansion asks for its producer's sizes
    // (tensor.dim of its result), a use that would keep the producer from
    // fusing into the expanded op: the sizes are read from the producer's
    // operands instead.
    memref::populateResolveRankedShapedTypeResultDimsPatterns(patterns);
    affine::AffineApplyOp::getCanonicalizationPatterns(patterns, context);
    linalg::GenericOp::getCanonicalizationPatterns(patterns, context);
    tensor::ExpandShapeOp::getCanonicalizationPatterns(patterns, context);
    tensor::CollapseShapeOp::getCanonicalizationPatterns(patterns, context);
    context->getLoadedDialect<linalg::LinalgDialect>()
        ->getCanonicalizationPatterns(patterns);
    linalg::populateConstantFoldLinalgOperations(patterns, control);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace
