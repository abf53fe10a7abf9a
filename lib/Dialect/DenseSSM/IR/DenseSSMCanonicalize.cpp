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

/// An accessor of an optional operand, e.g. &SelectiveScanOp::getDMutable.
template <typename OpTy>
using OptionalOperandGetter = MutableOperandRange (OpTy::*)();

/// Clears each given optional operand that is a zero splat. Succeeds when it
/// changed the op (and only then tells the rewriter, so that the greedy
/// driver does not revisit an op it did not change). Each range is fetched
/// anew after the previous one was cleared, since clearing shifts the
/// operand segments that follow.
template <typename OpTy>
static LogicalResult
dropZeroOperands(PatternRewriter &rewriter, OpTy op,
                 llvm::ArrayRef<OptionalOperandGetter<OpTy>> getters) {
  auto isZeroOperand = [&](OptionalOperandGetter<OpTy> getter) {
    MutableOperandRange range = (op.*getter)();
    return range.size() == 1 && isZeroSplat(range[0].get());
  };
  if (llvm::none_of(getters, isZeroOperand))
    return failure();
  rewriter.modifyOpInPlace(op, [&] {
    for (OptionalOperandGetter<OpTy> getter : getters)
      if (isZeroOperand(getter))
        (op.*getter)().clear();
  });
  return success();
}

void SelectiveScanOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                                  MLIRContext *) {
  results.add(+[](SelectiveScanOp op, PatternRewriter &rewriter) {
    return dropZeroOperands<SelectiveScanOp>(
        rewriter, op,
        {&SelectiveScanOp::getInitialStateMutable,
         &SelectiveScanOp::getDMutable, &SelectiveScanOp::getDeltaBiasMutable});
  });
}

void RetentionOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                              MLIRContext *) {
  results.add(+[](RetentionOp op, PatternRewriter &rewriter) {
    return dropZeroOperands<RetentionOp>(rewriter, op,
                                         {&RetentionOp::getInitialStateMutable,
                                          &RetentionOp::getPositionMutable});
  });
}

void CausalConv1dOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                                 MLIRContext *) {
  results.add(+[](CausalConv1dOp op, PatternRewriter &rewriter) {
    return dropZeroOperands<CausalConv1dOp>(
        rewriter, op,
        {&CausalConv1dOp::getWindowMutable, &CausalConv1dOp::getBiasMutable});
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
