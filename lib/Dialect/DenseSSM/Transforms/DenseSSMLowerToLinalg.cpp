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

/// An index operation on OpFoldResults, folded when both are constants.
OpFoldResult foldedIndex(OpBuilder &b, Location loc, OpFoldResult lhs,
                         OpFoldResult rhs,
                         llvm::function_ref<int64_t(int64_t, int64_t)> fold,
                         llvm::function_ref<Value(Value, Value)> build) {
  std::optional<int64_t> l = getConstantIntValue(lhs),
                         r = getConstantIntValue(rhs);
  if (l && r)
    return b.getIndexAttr(fold(*l, *r));
  return build(getValueOrCreateConstantIndexOp(b, loc, lhs),
               getValueOrCreateConstantIndexOp(b, loc, rhs));
}
OpFoldResult addIndex(OpBuilder &b, Location loc, OpFoldResult lhs,
                      OpFoldResult rhs) {
  return foldedIndex(
      b, loc, lhs, rhs, [](int64_t l, int64_t r) { return l + r; },
      [&](Value l, Value r) { return arith::AddIOp::create(b, loc, l, r); });
}
OpFoldResult subIndex(OpBuilder &b, Location loc, OpFoldResult lhs,
                      OpFoldResult rhs) {
  return foldedIndex(
      b, loc, lhs, rhs, [](int64_t l, int64_t r) { return l - r; },
      [&](Value l, Value r) { return arith::SubIOp::create(b, loc, l, r); });
}
OpFoldResult minIndex(OpBuilder &b, Location loc, OpFoldResult lhs,
                      OpFoldResult rhs) {
  return foldedIndex(
      b, loc, lhs, rhs, [](int64_t l, int64_t r) { return std::min(l, r); },
      [&](Value l, Value r) { return arith::MinSIOp::create(b, loc, l, r); });
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

/// Token-major [B, L, C] slices along the token axis.
struct TokenSlicer {
  OpBuilder &b;
  Location loc;
  OpFoldResult batch, channels;

  Value extract(Value tensor, OpFoldResult start, OpFoldResult count) const {
    return tensor::ExtractSliceOp::create(b, loc, tensor,
                                          offsets(start), sizes(count),
                                          strides());
  }
  Value insert(Value part, Value into, OpFoldResult start,
               OpFoldResult count) const {
    if (isConstantIntValue(count, 0))
      return into;
    return tensor::InsertSliceOp::create(b, loc, part, into, offsets(start),
                                         sizes(count), strides());
  }
  Value empty(OpFoldResult count, Type elementType) const {
    return tensor::EmptyOp::create(b, loc, sizes(count), elementType);
  }

private:
  SmallVector<OpFoldResult> offsets(OpFoldResult start) const {
    return {b.getIndexAttr(0), start, b.getIndexAttr(0)};
  }
  SmallVector<OpFoldResult> sizes(OpFoldResult count) const {
    return {batch, count, channels};
  }
  SmallVector<OpFoldResult> strides() const {
    return SmallVector<OpFoldResult>(3, b.getIndexAttr(1));
  }
};

/// Tap k's weights w[:, k] for every k, as the contiguous [C] rows of the
/// [K, C] transpose of the [C, K] weight (read along the channels, w[c, k]
/// would be a strided gather).
SmallVector<Value> tapWeightRows(OpBuilder &b, Location loc, Value weight) {
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, weight);
  std::swap(sizes[0], sizes[1]);
  Value tapMajor =
      linalg::TransposeOp::create(
          b, loc, weight,
          tensor::EmptyOp::create(b, loc, sizes, elementTypeOf(weight)),
          ArrayRef<int64_t>{1, 0})
          .getResult()[0];
  auto weightType = cast<RankedTensorType>(weight.getType());
  auto rowType = RankedTensorType::get({weightType.getDimSize(0)},
                                       weightType.getElementType());
  SmallVector<Value> rows;
  for (int64_t k = 0; k < weightType.getDimSize(1); ++k)
    rows.push_back(tensor::ExtractSliceOp::create(
        b, loc, rowType, tapMajor,
        ArrayRef<OpFoldResult>{b.getIndexAttr(k), b.getIndexAttr(0)},
        ArrayRef<OpFoldResult>{b.getIndexAttr(1), sizes[1]},
        ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1)}));
  return rows;
}

/// act(Σ_k w_k · s_k + bias) of one output, from a convolution body's
/// arguments: the K tap sources s_k, the K tap weights w_k, then the bias
/// (if the op has one); f32 arithmetic, the result in `elementType`.
Value convolvedValue(OpBuilder &b, Location loc, CausalConv1dOp op,
                     ValueRange args, Type elementType) {
  int64_t K = (args.size() - (op.getBias() ? 1 : 0)) / 2;
  Value sum;
  for (int64_t k = 0; k < K; ++k) {
    Value term = arith::MulFOp::create(b, loc, extendToF32(b, loc, args[k]),
                                       extendToF32(b, loc, args[K + k]));
    sum = sum ? arith::AddFOp::create(b, loc, sum, term).getResult() : term;
  }
  if (op.getBias())
    sum = arith::AddFOp::create(b, loc, sum, extendToF32(b, loc, args[2 * K]));
  if (op.getActivation() == Activation::silu)
    sum = silu(b, loc, sum);
  return truncateTo(b, loc, sum, elementType);
}

/// out[b, t, c] = act(Σ_k w[c, k] · source[b, t + k, c] + bias[c]) for the
/// `count` tokens of `out` (a slice of the result), `source` holding
/// count + K - 1 of them. One parallel pass: the K taps are K shifted views
/// of `source`, so the innermost loop runs along the contiguous channels
/// and vectorises (a reduction over the taps would put the 4-long tap loop
/// innermost). Tap k starts at min(k, len(source) - count), which is k
/// whenever count > 0 and keeps an empty slice in bounds otherwise.
Value convolveTaps(const TokenSlicer &slicer, CausalConv1dOp op,
                   ArrayRef<Value> tapWeights, Value source, Value out,
                   OpFoldResult count) {
  int64_t K = tapWeights.size();
  OpBuilder &b = slicer.b;
  Location loc = slicer.loc;
  OpFoldResult lastStart =
      subIndex(b, loc, tensor::getMixedSize(b, loc, source, 1), count);
  SmallVector<Value> inputs;
  SmallVector<AffineMap> maps;
  AffineMap identity = b.getMultiDimIdentityMap(3);
  for (int64_t k = 0; k < K; ++k) {
    inputs.push_back(slicer.extract(
        source, minIndex(b, loc, b.getIndexAttr(k), lastStart), count));
    maps.push_back(identity);
  }
  for (Value row : tapWeights) {
    inputs.push_back(row);
    maps.push_back(projection(b, 3, {2}));
  }
  if (Value bias = op.getBias()) {
    inputs.push_back(bias);
    maps.push_back(projection(b, 3, {2}));
  }
  maps.push_back(identity);
  Type elementType = elementTypeOf(out);
  auto generic = linalg::GenericOp::create(
      b, loc, out.getType(), inputs, ValueRange{out}, maps,
      SmallVector<utils::IteratorType>(3, utils::IteratorType::parallel),
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        linalg::YieldOp::create(nb, nl,
                                convolvedValue(nb, nl, op, args, elementType));
      });
  return generic.getResult(0);
}

/// causal_conv1d for K > 1 into `y`: the outputs and the final window.
std::pair<Value, Value> convolveWithWindow(const TokenSlicer &slicer,
                                           CausalConv1dOp op,
                                           ArrayRef<Value> tapWeights,
                                           Value y) {
  int64_t K = tapWeights.size();
  OpBuilder &b = slicer.b;
  Location loc = slicer.loc;
  Value x = op.getX();
  Type elementType = elementTypeOf(x);
  OpFoldResult length = tensor::getMixedSize(b, loc, x, 1);
  OpFoldResult zeroIndex = b.getIndexAttr(0);
  OpFoldResult history = b.getIndexAttr(K - 1);

  // The carried window, token-major: [B, K-1, C].
  Value front;
  if (Value window = op.getWindow()) {
    front = swapLastTwo(b, loc, window);
  } else {
    Value zero =
        arith::ConstantOp::create(b, loc, b.getZeroAttr(elementType));
    front = linalg::FillOp::create(b, loc, ValueRange{zero},
                                   ValueRange{slicer.empty(history,
                                                           elementType)})
                .getResult(0);
  }

  OpFoldResult head = minIndex(b, loc, length, history);
  OpFoldResult rest = subIndex(b, loc, length, head);
  // The first `head` outputs: the window, then x's first `head` tokens.
  if (!isConstantIntValue(head, 0)) {
    Value source = slicer.empty(addIndex(b, loc, history, head), elementType);
    source = slicer.insert(front, source, zeroIndex, history);
    source = slicer.insert(slicer.extract(x, zeroIndex, head), source,
                           history, head);
    Value part = convolveTaps(slicer, op, tapWeights, source,
                              slicer.extract(y, zeroIndex, head), head);
    y = slicer.insert(part, y, zeroIndex, head);
  }
  // The rest read x alone.
  if (!isConstantIntValue(rest, 0)) {
    Value part = convolveTaps(slicer, op, tapWeights, x,
                              slicer.extract(y, head, rest), rest);
    y = slicer.insert(part, y, head, rest);
  }

  // The final window: xp's last K-1 tokens, the window's last K-1-m then
  // x's last m, channel-major.
  Value last = slicer.empty(history, elementType);
  OpFoldResult fromWindow = subIndex(b, loc, history, head);
  if (!isConstantIntValue(fromWindow, 0))
    last = slicer.insert(slicer.extract(front, head, fromWindow), last,
                         zeroIndex, fromWindow);
  if (!isConstantIntValue(head, 0))
    last = slicer.insert(slicer.extract(x, rest, head), last, fromWindow,
                         head);
  return {y, swapLastTwo(b, loc, last)};
}

/// causal_conv1d of one token (a decode step: L = 1 statically) with a
/// carried window, K > 1: two parallel passes that read the channel-major
/// window and the [C, K] weight where they are, instead of the transposes,
/// copies and slices of the general case (each a kernel launch of its own
/// on a GPU, for a few hundred bytes):
///   y[b, 0, c]     = act(Σ_{k<K-1} w[c, k] · window[b, c, k]
///                        + w[c, K-1] · x[b, 0, c] + bias[c])
///   final[b, c, j] = window[b, c, j + 1] for j < K - 2, x[b, 0, c] last.
std::pair<Value, Value> convolveOneToken(OpBuilder &b, Location loc,
                                         CausalConv1dOp op, int64_t K) {
  Value x = op.getX(), window = op.getWindow(), weight = op.getWeight();
  Type elementType = elementTypeOf(x);
  MLIRContext *context = b.getContext();
  AffineExpr d0, d1, d2;
  bindDims(context, d0, d1, d2);
  auto map = [&](ArrayRef<AffineExpr> results) {
    return AffineMap::get(3, 0, results, context);
  };
  auto constant = [&](int64_t value) {
    return getAffineConstantExpr(value, context);
  };
  OpFoldResult batch = tensor::getMixedSize(b, loc, x, 0);
  OpFoldResult channels = tensor::getMixedSize(b, loc, x, 2);
  AffineMap identity = b.getMultiDimIdentityMap(3);

  // y over (b, t = 0, c): the taps in the general case's order.
  SmallVector<Value> inputs;
  SmallVector<AffineMap> maps;
  for (int64_t k = 0; k + 1 < K; ++k) {
    inputs.push_back(window);
    maps.push_back(map({d0, d2, constant(k)}));
  }
  inputs.push_back(x);
  maps.push_back(identity);
  for (int64_t k = 0; k < K; ++k) {
    inputs.push_back(weight);
    maps.push_back(map({d2, constant(k)}));
  }
  if (Value bias = op.getBias()) {
    inputs.push_back(bias);
    maps.push_back(map({d2}));
  }
  maps.push_back(identity);
  Value yInit = tensor::EmptyOp::create(
      b, loc, ArrayRef<OpFoldResult>{batch, b.getIndexAttr(1), channels},
      elementType);
  Value y =
      linalg::GenericOp::create(
          b, loc, yInit.getType(), inputs, ValueRange{yInit}, maps,
          SmallVector<utils::IteratorType>(3, utils::IteratorType::parallel),
          [&](OpBuilder &nb, Location nl, ValueRange args) {
            linalg::YieldOp::create(
                nb, nl, convolvedValue(nb, nl, op, args, elementType));
          })
          .getResult(0);

  // The window shifted by one token, x last: over (b, c, j), reading the
  // window at j + 1 (clamped in bounds where x is taken).
  Value finalInit = tensor::EmptyOp::create(
      b, loc,
      ArrayRef<OpFoldResult>{batch, channels, b.getIndexAttr(K - 1)},
      elementType);
  Value finalWindow =
      linalg::GenericOp::create(
          b, loc, finalInit.getType(), ValueRange{x}, ValueRange{finalInit},
          {map({d0, constant(0), d1}), identity},
          SmallVector<utils::IteratorType>(3, utils::IteratorType::parallel),
          [&](OpBuilder &nb, Location nl, ValueRange args) {
            Value bi = linalg::IndexOp::create(nb, nl, 0);
            Value c = linalg::IndexOp::create(nb, nl, 1);
            Value j = linalg::IndexOp::create(nb, nl, 2);
            Value last = arith::ConstantIndexOp::create(nb, nl, K - 2);
            Value next = arith::MinUIOp::create(
                nb, nl,
                arith::AddIOp::create(
                    nb, nl, j, arith::ConstantIndexOp::create(nb, nl, 1)),
                last);
            Value shifted = tensor::ExtractOp::create(
                nb, nl, window, ValueRange{bi, c, next});
            Value isLast = arith::CmpIOp::create(
                nb, nl, arith::CmpIPredicate::eq, j, last);
            linalg::YieldOp::create(
                nb, nl,
                ValueRange{arith::SelectOp::create(nb, nl, isLast, args[0],
                                                   shifted)});
          })
          .getResult(0);
  return {y, finalWindow};
}

/// y[b, t, c] = act(Σ_k w[c, k] · xp[b, t + k, c] + bias[c]) where xp is x
/// preceded by the carried window (zeros without one), and the final window
/// is xp's last K-1 tokens, channel-major. xp is never built: the first
/// m = min(L, K-1) outputs read a small [B, K-1+m, C] copy of the window
/// and x's first m tokens, the others read x in place; each part is one
/// parallel pass writing its slice of y. A decode step's single token with
/// a carried window takes convolveOneToken's two passes instead.
struct LowerCausalConv1d : OpRewritePattern<CausalConv1dOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(CausalConv1dOp op,
                                PatternRewriter &rewriter) const override {
    int64_t K = cast<RankedTensorType>(op.getWeight().getType()).getDimSize(1);
    if (ShapedType::isDynamic(K))
      return rewriter.notifyMatchFailure(op, "dynamic kernel width");
    Location loc = op.getLoc();
    OpBuilder &b = rewriter;
    Value x = op.getX();
    TokenSlicer slicer{b, loc, tensor::getMixedSize(b, loc, x, 0),
                       tensor::getMixedSize(b, loc, x, 2)};
    OpFoldResult length = tensor::getMixedSize(b, loc, x, 1);
    Value y, finalWindow;
    if (K > 1 && op.getWindow() && isConstantIntValue(length, 1))
      std::tie(y, finalWindow) = convolveOneToken(b, loc, op, K);
    else
      std::tie(y, finalWindow) = convolve(slicer, op, K, length);
    if (y.getType() != op.getY().getType())
      y = tensor::CastOp::create(b, loc, op.getY().getType(), y);
    if (finalWindow.getType() != op.getFinalWindow().getType())
      finalWindow = tensor::CastOp::create(
          b, loc, op.getFinalWindow().getType(), finalWindow);
    rewriter.replaceOp(op, {y, finalWindow});
    return success();
  }

  /// Any number of tokens: the taps read a token-major copy of the window
  /// and x.
  static std::pair<Value, Value> convolve(const TokenSlicer &slicer,
                                          CausalConv1dOp op, int64_t K,
                                          OpFoldResult length) {
    OpBuilder &b = slicer.b;
    Location loc = slicer.loc;
    Value x = op.getX();
    Type elementType = elementTypeOf(x);
    Value y = slicer.empty(length, elementType);
    SmallVector<Value> tapWeights = tapWeightRows(b, loc, op.getWeight());
    Value finalWindow;
    if (K == 1) {
      // No window: y = act(w · x + bias), and the final window is empty.
      y = convolveTaps(slicer, op, tapWeights, x, y, length);
      finalWindow = tensor::EmptyOp::create(
          b, loc,
          ArrayRef<OpFoldResult>{slicer.batch, slicer.channels,
                                 b.getIndexAttr(0)},
          elementType);
    } else {
      std::tie(y, finalWindow) = convolveWithWindow(slicer, op, tapWeights, y);
    }
    return {y, finalWindow};
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
      return signalPassFailure();
    getOperation()->walk([&](CausalConv1dOp op) {
      op.emitOpError("has a dynamic kernel width: the lowering unrolls the "
                     "taps and needs the weight's dim 1 static");
      signalPassFailure();
    });
  }
};

} // namespace
