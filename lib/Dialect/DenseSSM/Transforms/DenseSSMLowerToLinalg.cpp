//===- DenseSSMLowerToLinalg.cpp - --densessm-lower-to-linalg -------------===//
//
// Lowers the model-level ops that are not scans — rms_norm, rotary,
// embedding, causal_conv1d, dense_connect — to linalg ops on tensors
// (elementwise generics, reductions, transposes), computing in f32 and
// rounding to the activation type on the way out. Together with
// --densessm-lower-to-scan this leaves no model-level op behind.
//
//===----------------------------------------------------------------------===//

#include "densessm/Dialect/DenseSSM/IR/DenseSSMOps.h"
#include "densessm/Dialect/DenseSSM/Transforms/Passes.h"

#include "TensorBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::densessm {
#define GEN_PASS_DEF_DENSESSMLOWERTOLINALG
#include "densessm/Dialect/DenseSSM/Transforms/Passes.h.inc"
} // namespace mlir::densessm

using namespace mlir;
using namespace mlir::densessm;

namespace {

Type elementTypeOf(Value tensor) {
  return cast<RankedTensorType>(tensor.getType()).getElementType();
}

/// RMSNorm over the last axis (MODELS.md), computed in f32, rounded to
/// `resultType`'s element type.
Value rmsNorm(OpBuilder &b, Location loc, Value x, Value weight, float eps,
              Type elementType) {
  auto type = cast<RankedTensorType>(x.getType());
  unsigned rank = type.getRank();
  SmallVector<unsigned> leading;
  for (unsigned d = 0; d + 1 < rank; ++d)
    leading.push_back(d);
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, x);
  OpFoldResult channels = sizes.back();
  sizes.pop_back();
  AffineMap identity = b.getMultiDimIdentityMap(rank);
  Value sumSquares = buildReduction(
      b, loc, rank, {x}, {identity}, projection(b, rank, leading), sizes,
      [](OpBuilder &nb, Location nl, ValueRange args) {
        Value v = extendToF32(nb, nl, args[0]);
        return arith::MulFOp::create(nb, nl, v, v).getResult();
      });
  Value count = arith::UIToFPOp::create(
      b, loc, b.getF32Type(),
      arith::IndexCastUIOp::create(
          b, loc, b.getI64Type(),
          getValueOrCreateConstantIndexOp(b, loc, channels)));
  Value epsilon = f32Constant(b, loc, eps);
  return buildElementwise(
      b, loc, x, elementType, {x, sumSquares, weight},
      {identity, projection(b, rank, leading), projection(b, rank, {rank - 1})},
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        Value meanSquare = arith::DivFOp::create(nb, nl, args[1], count);
        Value inverse = math::RsqrtOp::create(
            nb, nl, arith::AddFOp::create(nb, nl, meanSquare, epsilon));
        Value scaled = arith::MulFOp::create(
            nb, nl, extendToF32(nb, nl, args[0]), inverse);
        Value out =
            arith::MulFOp::create(nb, nl, scaled, extendToF32(nb, nl, args[2]));
        return truncateTo(nb, nl, out, elementType);
      });
}

struct LowerRMSNorm : OpRewritePattern<RMSNormOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(RMSNormOp op,
                                PatternRewriter &rewriter) const override {
    rewriter.replaceOp(op, rmsNorm(rewriter, op.getLoc(), op.getInput(),
                                   op.getWeight(), op.getEps().convertToFloat(),
                                   elementTypeOf(op.getInput())));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// rotary
//===----------------------------------------------------------------------===//

struct LowerRotary : OpRewritePattern<RotaryOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(RotaryOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    OpBuilder &b = rewriter;
    Value x = op.getX();
    Type elementType = elementTypeOf(x);
    // θ_i = base^(-i / (d/2 - 1)) = exp(-i · ln(base) / (d/2 - 1)).
    Value headDim = tensor::DimOp::create(b, loc, x, 3);
    Value halfMinusOne = arith::SubIOp::create(
        b, loc,
        arith::DivUIOp::create(b, loc, headDim,
                               arith::ConstantIndexOp::create(b, loc, 2)),
        arith::ConstantIndexOp::create(b, loc, 1));
    auto toF32 = [&](OpBuilder &nb, Location nl, Value index) {
      return arith::UIToFPOp::create(
          nb, nl, nb.getF32Type(),
          arith::IndexCastUIOp::create(nb, nl, nb.getI64Type(), index));
    };
    Value rate = arith::DivFOp::create(
        b, loc, f32Constant(b, loc, -std::log(op.getBase().convertToFloat())),
        toF32(b, loc, halfMinusOne));

    SmallVector<Value> inputs{x};
    SmallVector<AffineMap> maps{b.getMultiDimIdentityMap(4)};
    if (Value position = op.getPosition()) {
      inputs.push_back(position);
      maps.push_back(projection(b, 4, {0}));
    }
    Value rotated = buildElementwise(
        b, loc, x, elementType, inputs, maps,
        [&](OpBuilder &nb, Location nl, ValueRange args) {
          SmallVector<Value> at;
          for (int64_t d = 0; d < 4; ++d)
            at.push_back(linalg::IndexOp::create(nb, nl, d));
          Value channel = at[3];
          Value one = arith::ConstantIndexOp::create(nb, nl, 1);
          // The other element of the pair (2i, 2i+1).
          SmallVector<Value> partnerAt(at);
          partnerAt[3] = arith::XOrIOp::create(nb, nl, channel, one);
          Value partner = extendToF32(
              nb, nl, tensor::ExtractOp::create(nb, nl, x, partnerAt));
          Value pair = arith::ShRUIOp::create(nb, nl, channel, one);
          Value theta = math::ExpOp::create(
              nb, nl, arith::MulFOp::create(nb, nl, rate, toF32(nb, nl, pair)));
          Value t = arith::IndexCastOp::create(nb, nl, nb.getI64Type(), at[1]);
          if (args.size() > 1) {
            Value start = args[1];
            if (!start.getType().isInteger(64))
              start = arith::ExtSIOp::create(nb, nl, nb.getI64Type(), start);
            t = arith::AddIOp::create(nb, nl, t, start);
          }
          Value angle = arith::MulFOp::create(
              nb, nl, arith::SIToFPOp::create(nb, nl, nb.getF32Type(), t),
              theta);
          Value cos = math::CosOp::create(nb, nl, angle);
          Value sin = math::SinOp::create(nb, nl, angle);
          // Even channel: a cos - b sin; odd channel: b cos + a sin.
          Value isOdd =
              arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ne,
                                    arith::AndIOp::create(nb, nl, channel, one),
                                    arith::ConstantIndexOp::create(nb, nl, 0));
          Value signedSin = arith::SelectOp::create(
              nb, nl, isOdd, sin, arith::NegFOp::create(nb, nl, sin));
          Value out = math::FmaOp::create(
              nb, nl, extendToF32(nb, nl, args[0]), cos,
              arith::MulFOp::create(nb, nl, partner, signedSin));
          return truncateTo(nb, nl, out, elementType);
        });
    rewriter.replaceOp(op, rotated);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// embedding
//===----------------------------------------------------------------------===//

struct LowerEmbedding : OpRewritePattern<EmbeddingOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(EmbeddingOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    OpBuilder &b = rewriter;
    Value table = op.getTable();
    SmallVector<OpFoldResult> sizes =
        tensor::getMixedSizes(b, loc, op.getTokens());
    sizes.push_back(tensor::getMixedSize(b, loc, table, 1));
    Type elementType = elementTypeOf(table);
    Value domain = tensor::EmptyOp::create(b, loc, sizes, elementType);
    Value gathered = buildElementwise(
        b, loc, domain, elementType, {op.getTokens()},
        {projection(b, 3, {0, 1})},
        [&](OpBuilder &nb, Location nl, ValueRange args) {
          Value row =
              arith::IndexCastOp::create(nb, nl, nb.getIndexType(), args[0]);
          Value column = linalg::IndexOp::create(nb, nl, 2);
          return tensor::ExtractOp::create(nb, nl, table,
                                           ValueRange{row, column})
              .getResult();
        });
    rewriter.replaceOp(op, gathered);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// causal_conv1d
//===----------------------------------------------------------------------===//

/// a + b as an index, folded when both are constants.
OpFoldResult addIndex(OpBuilder &b, Location loc, OpFoldResult lhs,
                      OpFoldResult rhs) {
  std::optional<int64_t> l = getConstantIntValue(lhs),
                         r = getConstantIntValue(rhs);
  if (l && r)
    return b.getIndexAttr(*l + *r);
  return arith::AddIOp::create(b, loc,
                               getValueOrCreateConstantIndexOp(b, loc, lhs),
                               getValueOrCreateConstantIndexOp(b, loc, rhs))
      .getResult();
}
OpFoldResult addIndex(OpBuilder &b, Location loc, OpFoldResult lhs,
                      int64_t rhs) {
  return addIndex(b, loc, lhs, b.getIndexAttr(rhs));
}

/// [a, b, c] -> [a, c, b].
Value swapLastTwo(OpBuilder &b, Location loc, Value tensor) {
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, tensor);
  std::swap(sizes[1], sizes[2]);
  Value init = tensor::EmptyOp::create(b, loc, sizes, elementTypeOf(tensor));
  return linalg::TransposeOp::create(b, loc, tensor, init,
                                     ArrayRef<int64_t>{0, 2, 1})
      .getResult()[0];
}

struct LowerCausalConv1d : OpRewritePattern<CausalConv1dOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(CausalConv1dOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    OpBuilder &b = rewriter;
    Value x = op.getX();
    Type elementType = elementTypeOf(x);
    OpFoldResult batch = tensor::getMixedSize(b, loc, x, 0);
    OpFoldResult length = tensor::getMixedSize(b, loc, x, 1);
    OpFoldResult channels = tensor::getMixedSize(b, loc, x, 2);
    OpFoldResult history =
        addIndex(b, loc, tensor::getMixedSize(b, loc, op.getWeight(), 1), -1);

    // The input padded in front with the carried window (or zeros):
    // xp [B, K-1+L, C], token-major like x.
    Value front;
    if (Value window = op.getWindow()) {
      front = swapLastTwo(b, loc, window);
    } else {
      Value empty = tensor::EmptyOp::create(
          b, loc, ArrayRef<OpFoldResult>{batch, history, channels},
          elementType);
      Value zero =
          arith::ConstantOp::create(b, loc, b.getZeroAttr(elementType));
      front =
          linalg::FillOp::create(b, loc, ValueRange{zero}, ValueRange{empty})
              .getResult(0);
    }
    OpFoldResult paddedLength = addIndex(b, loc, length, history);
    Value padded = tensor::EmptyOp::create(
        b, loc, ArrayRef<OpFoldResult>{batch, paddedLength, channels},
        elementType);
    OpFoldResult zeroIndex = b.getIndexAttr(0), oneIndex = b.getIndexAttr(1);
    SmallVector<OpFoldResult> unitStrides(3, oneIndex);
    padded = tensor::InsertSliceOp::create(
        b, loc, front, padded, {zeroIndex, zeroIndex, zeroIndex},
        {batch, history, channels}, unitStrides);
    padded = tensor::InsertSliceOp::create(
        b, loc, x, padded, {zeroIndex, history, zeroIndex},
        {batch, length, channels}, unitStrides);

    // conv[b, t, c] = Σ_k w[c, k] · xp[b, t + k, c].
    MLIRContext *ctx = b.getContext();
    AffineExpr bd = getAffineDimExpr(0, ctx), t = getAffineDimExpr(1, ctx),
               c = getAffineDimExpr(2, ctx), k = getAffineDimExpr(3, ctx);
    Value conv = buildReduction(
        b, loc, 4, {padded, op.getWeight()},
        {AffineMap::get(4, 0, {bd, t + k, c}, ctx), projection(b, 4, {2, 3})},
        projection(b, 4, {0, 1, 2}), {batch, length, channels},
        [](OpBuilder &nb, Location nl, ValueRange args) {
          return arith::MulFOp::create(nb, nl, extendToF32(nb, nl, args[0]),
                                       extendToF32(nb, nl, args[1]))
              .getResult();
        });

    // y = act(conv + bias).
    SmallVector<Value> inputs{conv};
    SmallVector<AffineMap> maps{b.getMultiDimIdentityMap(3)};
    if (Value bias = op.getBias()) {
      inputs.push_back(bias);
      maps.push_back(projection(b, 3, {2}));
    }
    bool siluOn = op.getActivation() == Activation::silu;
    Value y = buildElementwise(
        b, loc, conv, elementType, inputs, maps,
        [&](OpBuilder &nb, Location nl, ValueRange args) {
          Value v = args[0];
          if (args.size() > 1)
            v = arith::AddFOp::create(nb, nl, v, extendToF32(nb, nl, args[1]));
          if (siluOn)
            v = silu(nb, nl, v);
          return truncateTo(nb, nl, v, elementType);
        });

    // The final window: the last K-1 padded inputs, channel-major (empty
    // for K = 1, where a slice at offset L would be out of bounds).
    Value finalWindow;
    if (isConstantIntValue(history, 0)) {
      finalWindow = tensor::EmptyOp::create(
          b, loc, ArrayRef<OpFoldResult>{batch, channels, history},
          elementType);
    } else {
      Value last = tensor::ExtractSliceOp::create(
          b, loc, padded, {zeroIndex, length, zeroIndex},
          {batch, history, channels}, unitStrides);
      finalWindow = swapLastTwo(b, loc, last);
    }
    if (finalWindow.getType() != op.getFinalWindow().getType())
      finalWindow = tensor::CastOp::create(
          b, loc, op.getFinalWindow().getType(), finalWindow);
    rewriter.replaceOp(op, {y, finalWindow});
    return success();
  }
};

//===----------------------------------------------------------------------===//
// dense_connect
//===----------------------------------------------------------------------===//

/// a ⊙ b of two [B, L, C] tensors, in f32.
Value multiply(OpBuilder &b, Location loc, Value lhs, Value rhs) {
  AffineMap identity = b.getMultiDimIdentityMap(3);
  return buildElementwise(
      b, loc, lhs, b.getF32Type(), {lhs, rhs}, {identity, identity},
      [](OpBuilder &nb, Location nl, ValueRange args) {
        return arith::MulFOp::create(nb, nl, extendToF32(nb, nl, args[0]),
                                     extendToF32(nb, nl, args[1]))
            .getResult();
      });
}

/// The sum of [B, L, C] tensors, in f32.
Value sum(OpBuilder &b, Location loc, ArrayRef<Value> terms) {
  SmallVector<AffineMap> maps(terms.size(), b.getMultiDimIdentityMap(3));
  return buildElementwise(b, loc, terms.front(), b.getF32Type(), terms, maps,
                          [](OpBuilder &nb, Location nl, ValueRange args) {
                            Value total = extendToF32(nb, nl, args[0]);
                            for (Value v : args.drop_front())
                              total = arith::AddFOp::create(
                                  nb, nl, total, extendToF32(nb, nl, v));
                            return total;
                          });
}

struct LowerDenseConnect : OpRewritePattern<DenseConnectOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(DenseConnectOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    OpBuilder &b = rewriter;
    Value current = op.getCurrent();
    Type elementType = elementTypeOf(current);

    // sel = SiLU(fc2 · SiLU(fc1 · x)).
    Value selection;
    if (op.getGateInput()) {
      Value hidden = siluTensor(
          b, loc, linear(b, loc, op.getGateInput(), op.getGateFc1()));
      selection = siluTensor(b, loc, linear(b, loc, hidden, op.getGateFc2()));
    }
    // g_i = Proj_i(kept_i) ⊙ sel.
    SmallVector<Value> gated;
    for (auto [i, kept] : llvm::enumerate(op.getKept())) {
      Value g = op.getProjection() == Projection::linear
                    ? linear(b, loc, kept, op.getProjWeights()[i])
                    : kept;
      if (selection)
        g = multiply(b, loc, g, selection);
      gated.push_back(g);
    }

    Value fused;
    if (op.getFusion() == Fusion::add) {
      SmallVector<Value> terms{current};
      terms.append(gated);
      fused = sum(b, loc, terms);
    } else {
      // fuse_weight · [c; g_1; …; g_m], one column block per part.
      Value weight = op.getFuseWeight();
      OpFoldResult channels = tensor::getMixedSize(b, loc, current, 2);
      Value channelsValue = getValueOrCreateConstantIndexOp(b, loc, channels);
      SmallVector<Value> parts{current};
      parts.append(gated);
      SmallVector<Value> terms;
      for (auto [i, part] : llvm::enumerate(parts)) {
        Value offset = arith::MulIOp::create(
            b, loc, channelsValue, arith::ConstantIndexOp::create(b, loc, i));
        Value block = tensor::ExtractSliceOp::create(
            b, loc, weight, {b.getIndexAttr(0), offset}, {channels, channels},
            {b.getIndexAttr(1), b.getIndexAttr(1)});
        terms.push_back(linear(b, loc, part, block));
      }
      fused = sum(b, loc, terms);
    }

    Value result;
    if (op.getNorm() == Norm::rms) {
      result = rmsNorm(b, loc, fused, op.getNormWeight(),
                       op.getEps().convertToFloat(), elementType);
    } else {
      result = buildElementwise(
          b, loc, fused, elementType, {fused}, {b.getMultiDimIdentityMap(3)},
          [&](OpBuilder &nb, Location nl, ValueRange args) {
            return truncateTo(nb, nl, args[0], elementType);
          });
    }
    if (result.getType() != op.getType())
      result = tensor::CastOp::create(b, loc, op.getType(), result);
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct LowerToLinalgPass
    : densessm::impl::DenseSSMLowerToLinalgBase<LowerToLinalgPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<LowerRMSNorm, LowerRotary, LowerEmbedding, LowerCausalConv1d,
                 LowerDenseConnect>(&getContext());
    if (failed(applyLoweringPatterns(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
