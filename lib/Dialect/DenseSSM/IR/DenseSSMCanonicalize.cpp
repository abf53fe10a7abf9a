//===- DenseSSMCanonicalize.cpp - densessm folds and canonicalisations ----===//
//
// * An optional operand whose absence means zeros (initial state, carried
//   window, position, D, delta_bias, conv bias) is dropped when it is a zero
//   splat constant: the lowering then skips reading it.
// * A dense connection with nothing to connect is what it reduces to: the
//   current tensor itself (no norm), or an rms_norm of it. RetNet-GAU layers
//   with dense_block_layers = 0 are exactly this case (MODELS.md §2).
//
//===----------------------------------------------------------------------===//

#include "densessm/Dialect/DenseSSM/IR/DenseSSMOps.h"

#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"

using namespace mlir;
using namespace mlir::densessm;

/// A splat constant of floating-point or integer zero.
static bool isZeroSplat(Value value) {
  return matchPattern(value, m_AnyZeroFloat()) || matchPattern(value, m_Zero());
}

/// Clears each given optional operand that is a zero splat. Succeeds when it
/// changed the op.
static LogicalResult
dropZeroOperands(PatternRewriter &rewriter, Operation *op,
                 llvm::ArrayRef<MutableOperandRange> optionalOperands) {
  bool changed = false;
  rewriter.modifyOpInPlace(op, [&] {
    for (MutableOperandRange range : optionalOperands) {
      if (range.size() == 1 && isZeroSplat(range[0].get())) {
        range.clear();
        changed = true;
      }
    }
  });
  return success(changed);
}

void SelectiveScanOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                                  MLIRContext *) {
  results.add(+[](SelectiveScanOp op, PatternRewriter &rewriter) {
    return dropZeroOperands(rewriter, op,
                            {op.getInitialStateMutable(), op.getDMutable(),
                             op.getDeltaBiasMutable()});
  });
}

void RetentionOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                              MLIRContext *) {
  results.add(+[](RetentionOp op, PatternRewriter &rewriter) {
    return dropZeroOperands(
        rewriter, op, {op.getInitialStateMutable(), op.getPositionMutable()});
  });
}

void CausalConv1dOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                                 MLIRContext *) {
  results.add(+[](CausalConv1dOp op, PatternRewriter &rewriter) {
    return dropZeroOperands(rewriter, op,
                            {op.getWindowMutable(), op.getBiasMutable()});
  });
}

/// With no kept tensors, fusion = add and norm = none the connection is the
/// current tensor.
OpFoldResult DenseConnectOp::fold(FoldAdaptor) {
  if (getKept().empty() && getFusion() == Fusion::add &&
      getNorm() == Norm::none)
    return getCurrent();
  return {};
}

void DenseConnectOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                                 MLIRContext *) {
  // With no kept tensors, fusion = add and norm = rms the connection is an
  // rms_norm of the current tensor; the gate has nothing to gate.
  results.add(+[](DenseConnectOp op, PatternRewriter &rewriter) {
    if (!op.getKept().empty() || op.getFusion() != Fusion::add ||
        op.getNorm() != Norm::rms)
      return failure();
    rewriter.replaceOpWithNewOp<RMSNormOp>(op, op.getType(), op.getCurrent(),
                                           op.getNormWeight(), op.getEpsAttr());
    return success();
  });
}
