//===- DenseSSMLowerToScan.cpp - --densessm-lower-to-scan -----------------===//
//
// Lowers the model-level scans (selective_scan, retention) to the one
// kernel-level densessm.scan, so that everything below this pass handles a
// single scan. Mamba's Δ bias, softplus, D skip and z gate map onto the
// scan's fused operands; retention's per-(token, head) decay and input scale
// are computed by elementwise linalg.generic prologues on tensors.
//
//===----------------------------------------------------------------------===//

#include "densessm/Dialect/DenseSSM/IR/DenseSSMOps.h"
#include "densessm/Dialect/DenseSSM/Transforms/Passes.h"

#include "TensorBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::densessm {
#define GEN_PASS_DEF_DENSESSMLOWERTOSCAN
#include "densessm/Dialect/DenseSSM/Transforms/Passes.h.inc"
} // namespace mlir::densessm

using namespace mlir;
using namespace mlir::densessm;

namespace {

/// Sets an optional operand of a freshly built op when `value` is non-null.
void assignIfPresent(MutableOperandRange operand, Value value) {
  if (value)
    operand.assign(value);
}

/// Inserts a unit dimension into a rank-3 tensor, at position 2
/// ([a, b, c] -> [a, b, 1, c]) or 3 ([a, b, c] -> [a, b, c, 1]).
Value insertUnitDim(OpBuilder &b, Location loc, Value tensor,
                    unsigned position) {
  auto type = cast<RankedTensorType>(tensor.getType());
  assert(type.getRank() == 3 && (position == 2 || position == 3));
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, tensor);
  sizes.insert(sizes.begin() + position, b.getIndexAttr(1));
  SmallVector<int64_t> shape(type.getShape());
  shape.insert(shape.begin() + position, 1);
  auto resultType = RankedTensorType::get(shape, type.getElementType());
  SmallVector<ReassociationIndices> groups{{0}, {1}, {2, 3}};
  return tensor::ExpandShapeOp::create(b, loc, resultType, tensor, groups,
                                       sizes);
}

/// The inverse of insertUnitDim(tensor, 3): [a, b, c, 1] -> [a, b, c].
Value dropTrailingUnitDim(OpBuilder &b, Location loc, Value tensor) {
  SmallVector<ReassociationIndices> groups{{0}, {1}, {2, 3}};
  return tensor::CollapseShapeOp::create(b, loc, tensor, groups);
}

//===----------------------------------------------------------------------===//
// selective_scan
//===----------------------------------------------------------------------===//

struct LowerSelectiveScan : OpRewritePattern<SelectiveScanOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(SelectiveScanOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Type f32 = rewriter.getF32Type();
    Value u = op.getU();

    // B and C become grouped keys and queries, u the values (V = 1), z the
    // gate; the softplus'd Δ is both the decay rate and the input scale.
    auto grouped = [&](Value bc) {
      return cast<RankedTensorType>(bc.getType()).getRank() == 4
                 ? bc
                 : insertUnitDim(rewriter, loc, bc, 2);
    };
    Value q = grouped(op.getC()), k = grouped(op.getB());
    Value v = insertUnitDim(rewriter, loc, u, 3);
    Value gate, initial;
    if (Value z = op.getZ())
      gate = insertUnitDim(rewriter, loc, z, 3);
    if (Value s0 = op.getInitialState())
      initial = insertUnitDim(rewriter, loc, s0, 3);

    auto stateType = cast<RankedTensorType>(op.getFinalState().getType());
    SmallVector<int64_t> state4(stateType.getShape());
    state4.push_back(1);
    auto scan = ScanOp::create(
        rewriter, loc, v.getType(), RankedTensorType::get(state4, f32), q, k, v,
        op.getDelta(), tensorToF32(rewriter, loc, op.getA()));
    assignIfPresent(scan.getDtBiasMutable(), op.getDeltaBias());
    assignIfPresent(scan.getSkipMutable(), op.getD());
    assignIfPresent(scan.getGateMutable(), gate);
    assignIfPresent(scan.getInitialStateMutable(), initial);
    scan.setDtSoftplus(op.getDeltaSoftplus());
    scan.setDtScalesInput(true);
    rewriter.replaceOp(
        op, {dropTrailingUnitDim(rewriter, loc, scan.getY()),
             dropTrailingUnitDim(rewriter, loc, scan.getFinalState())});
    return success();
  }
};

//===----------------------------------------------------------------------===//
// retention
//===----------------------------------------------------------------------===//

/// c_p = Σ_{i≤p} γ^i = expm1((p+1)·log γ) / expm1(log γ), or p + 1 when
/// γ = 1. expm1 keeps the precision for γ close to 1.
Value decaySum(OpBuilder &b, Location loc, Value logGamma, Value p) {
  Value one = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(1.0f));
  Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0f));
  Value count = arith::AddFOp::create(b, loc, p, one);
  Value numerator = math::ExpM1Op::create(
      b, loc, arith::MulFOp::create(b, loc, count, logGamma));
  Value denominator = math::ExpM1Op::create(b, loc, logGamma);
  Value ratio = arith::DivFOp::create(b, loc, numerator, denominator);
  Value isOne =
      arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, logGamma, zero);
  return arith::SelectOp::create(b, loc, isOne, count, ratio);
}

/// The absolute position p = position[b] + t of the token at index (b, t, ·)
/// of a [B, L, h] domain, as f32; `position` is that sequence's start (an i32
/// or i64 scalar) or null for 0.
Value absolutePosition(OpBuilder &b, Location loc, Value position) {
  Value t = arith::IndexCastOp::create(b, loc, b.getI64Type(),
                                       linalg::IndexOp::create(b, loc, 1));
  if (position) {
    if (!position.getType().isInteger(64))
      position = arith::ExtSIOp::create(b, loc, b.getI64Type(), position);
    t = arith::AddIOp::create(b, loc, t, position);
  }
  return arith::SIToFPOp::create(b, loc, b.getF32Type(), t);
}

struct LowerRetention : OpRewritePattern<RetentionOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(RetentionOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Type f32 = rewriter.getF32Type();
    bool authors = op.getNormalization() == RetentionNormalization::authors;

    // The per-(batch, token, head) domain [B, L, h]: q without its last axis.
    auto qType = cast<RankedTensorType>(op.getQ().getType());
    SmallVector<OpFoldResult> sizes =
        tensor::getMixedSizes(rewriter, loc, op.getQ());
    sizes.pop_back();
    Value domain =
        tensor::EmptyOp::create(rewriter, loc, sizes, qType.getElementType());

    SmallVector<Value> inputs{op.getDecay()};
    SmallVector<AffineMap> maps{projection(rewriter, 3, {2})};
    if (Value position = op.getPosition()) {
      inputs.push_back(position);
      maps.push_back(projection(rewriter, 3, {0}));
    }
    auto positionOf = [](OpBuilder &b, Location l, ValueRange args) {
      return absolutePosition(b, l, args.size() > 1 ? args[1] : Value());
    };

    // input_scale s = 1/sqrt(c_p) (authors only), computed once; the decay
    // γ·sqrt(c_{p-1}/c_p) follows from it, since c_p = γ·c_{p-1} + 1 gives
    // γ²·c_{p-1}/c_p = γ·(1 - 1/c_p) = γ·(1 - s²).
    Value scale;
    if (authors)
      scale = buildElementwise(
          rewriter, loc, domain, f32, inputs, maps,
          [&](OpBuilder &b, Location l, ValueRange args) {
            Value logGamma = math::LogOp::create(b, l, args[0]);
            return math::RsqrtOp::create(
                       b, l, decaySum(b, l, logGamma, positionOf(b, l, args)))
                .getResult();
          });
    // dt = ½(log γ + log(1 - s²)) (authors) or log γ (none).
    SmallVector<Value> dtInputs{op.getDecay()};
    SmallVector<AffineMap> dtMaps{maps.front()};
    if (scale) {
      dtInputs.push_back(scale);
      dtMaps.push_back(rewriter.getMultiDimIdentityMap(3));
    }
    Value dt = buildElementwise(
        rewriter, loc, domain, f32, dtInputs, dtMaps,
        [&](OpBuilder &b, Location l, ValueRange args) {
          Value logGamma = math::LogOp::create(b, l, args[0]);
          if (!authors)
            return logGamma;
          Value s = args[1];
          Value keep = math::Log1pOp::create(
              b, l,
              arith::NegFOp::create(b, l, arith::MulFOp::create(b, l, s, s)));
          return arith::MulFOp::create(
                     b, l, f32Constant(b, l, 0.5f),
                     arith::AddFOp::create(b, l, logGamma, keep))
              .getResult();
        });

    // The decay is per head: A = 1 and dt carries log(decay).
    Value ones =
        linalg::FillOp::create(
            rewriter, loc,
            ValueRange{arith::ConstantOp::create(
                rewriter, loc, rewriter.getF32FloatAttr(1.0f))},
            ValueRange{tensor::EmptyOp::create(
                rewriter, loc,
                tensor::getMixedSizes(rewriter, loc, op.getDecay()), f32)})
            .getResult(0);

    auto scan = ScanOp::create(rewriter, loc, op.getO().getType(),
                               op.getFinalState().getType(), op.getQ(),
                               op.getK(), op.getV(), dt, ones);
    assignIfPresent(scan.getInputScaleMutable(), scale);
    assignIfPresent(scan.getInitialStateMutable(), op.getInitialState());
    rewriter.replaceOp(op, scan.getResults());
    return success();
  }
};

struct LowerToScanPass
    : densessm::impl::DenseSSMLowerToScanBase<LowerToScanPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<LowerSelectiveScan, LowerRetention>(&getContext());
    if (failed(applyLoweringPatterns(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
