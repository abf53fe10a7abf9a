//===- TensorBuilders.cpp - building blocks of the tensor lowerings -------===//

#include "TensorBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

using namespace mlir;

Value mlir::densessm::f32Constant(OpBuilder &b, Location loc, float value) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(value));
}

Value mlir::densessm::buildElementwise(OpBuilder &b, Location loc, Value domain,
                                       Type elementType, ArrayRef<Value> inputs,
                                       ArrayRef<AffineMap> inputMaps,
                                       ScalarBody body) {
  auto domainType = cast<RankedTensorType>(domain.getType());
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, domain);
  Value init = tensor::EmptyOp::create(b, loc, sizes, elementType);
  SmallVector<AffineMap> maps(inputMaps.begin(), inputMaps.end());
  maps.push_back(b.getMultiDimIdentityMap(domainType.getRank()));
  SmallVector<utils::IteratorType> iterators(domainType.getRank(),
                                             utils::IteratorType::parallel);
  auto generic = linalg::GenericOp::create(
      b, loc, init.getType(), inputs, ValueRange{init}, maps, iterators,
      [&](OpBuilder &nested, Location nestedLoc, ValueRange args) {
        Value out = body(nested, nestedLoc, args.drop_back());
        linalg::YieldOp::create(nested, nestedLoc, out);
      });
  return generic.getResult(0);
}

AffineMap mlir::densessm::projection(OpBuilder &b, unsigned rank,
                                     ArrayRef<unsigned> dims) {
  SmallVector<AffineExpr> exprs;
  for (unsigned d : dims)
    exprs.push_back(b.getAffineDimExpr(d));
  return AffineMap::get(rank, 0, exprs, b.getContext());
}

Value mlir::densessm::extendToF32(OpBuilder &b, Location loc, Value scalar) {
  if (scalar.getType().isF32())
    return scalar;
  return arith::ExtFOp::create(b, loc, b.getF32Type(), scalar);
}

Value mlir::densessm::truncateTo(OpBuilder &b, Location loc, Value scalar,
                                 Type type) {
  if (scalar.getType() == type)
    return scalar;
  return arith::TruncFOp::create(b, loc, type, scalar);
}

Value mlir::densessm::tensorToF32(OpBuilder &b, Location loc, Value tensor) {
  auto type = cast<RankedTensorType>(tensor.getType());
  if (type.getElementType().isF32())
    return tensor;
  return buildElementwise(b, loc, tensor, b.getF32Type(), {tensor},
                          {b.getMultiDimIdentityMap(type.getRank())},
                          [](OpBuilder &nb, Location nl, ValueRange args) {
                            return extendToF32(nb, nl, args[0]);
                          });
}

Value mlir::densessm::constantLike(OpBuilder &b, Location loc, Value like,
                                   float value) {
  if (auto vec = dyn_cast<VectorType>(like.getType()))
    return arith::ConstantOp::create(b, loc, vec,
                                     DenseElementsAttr::get(vec, value));
  return f32Constant(b, loc, value);
}

Value mlir::densessm::softplus(OpBuilder &b, Location loc, Value x) {
  Value large = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, x,
                                      constantLike(b, loc, x, 20.0f));
  Value log1p = math::Log1pOp::create(b, loc, math::ExpOp::create(b, loc, x));
  return arith::SelectOp::create(b, loc, large, x, log1p);
}

Value mlir::densessm::silu(OpBuilder &b, Location loc, Value x) {
  Value negExp = math::ExpOp::create(b, loc, arith::NegFOp::create(b, loc, x));
  return arith::DivFOp::create(
      b, loc, x,
      arith::AddFOp::create(b, loc, constantLike(b, loc, x, 1.0f), negExp));
}

Value mlir::densessm::exp2Polynomial(OpBuilder &b, Location loc, Value x) {
  auto c = [&](float value) { return constantLike(b, loc, x, value); };
  // Clamp with compare + select (one vmaxps/vminps; NaN passes through).
  auto clamp = [&](Value v, arith::CmpFPredicate outside, float bound) {
    Value cond = arith::CmpFOp::create(b, loc, outside, v, c(bound));
    return arith::SelectOp::create(b, loc, cond, c(bound), v).getResult();
  };
  x = clamp(clamp(x, arith::CmpFPredicate::OLT, -126.0f),
            arith::CmpFPredicate::OGT, 127.0f);
  // Adding 1.5·2^23 + 127 rounds x to the nearest integer k and leaves
  // k + 127 (1 … 254, the biased exponent of 2^k) in the low mantissa bits.
  constexpr float shift = 12582912.0f + 127.0f;
  Value shifted = arith::AddFOp::create(b, loc, x, c(shift));
  Value k = arith::SubFOp::create(b, loc, shifted, c(shift));
  Value f = arith::SubFOp::create(b, loc, x, k); // in [-0.5, 0.5]
  // 2^f on [-0.5, 0.5]: relative-error minimax fit (Lawson iterations on a
  // 200001-point grid), highest degree first.
  static constexpr float coefficients[] = {
      1.3276446843519807e-3f, 9.675533510744572e-3f, 5.550713092088699e-2f,
      2.4022120237350464e-1f, 6.931469440460205e-1f, 1.0000001192092896f};
  Value p = c(coefficients[0]);
  for (float coefficient : ArrayRef(coefficients).drop_front())
    p = math::FmaOp::create(b, loc, p, f, c(coefficient));
  Type intType = b.getI32Type();
  if (auto vec = dyn_cast<VectorType>(x.getType()))
    intType = VectorType::get(vec.getShape(), intType);
  Value bits = arith::BitcastOp::create(b, loc, intType, shifted);
  Value exponent = arith::ShLIOp::create(
      b, loc, bits,
      arith::ConstantOp::create(b, loc, intType,
                                isa<VectorType>(intType)
                                    ? TypedAttr(DenseElementsAttr::get(
                                          cast<VectorType>(intType),
                                          b.getI32IntegerAttr(23)))
                                    : TypedAttr(b.getI32IntegerAttr(23))));
  Value scale = arith::BitcastOp::create(b, loc, x.getType(), exponent);
  return arith::MulFOp::create(b, loc, p, scale);
}

Value mlir::densessm::zeros(OpBuilder &b, Location loc,
                            ArrayRef<OpFoldResult> sizes) {
  Value empty = tensor::EmptyOp::create(b, loc, sizes, b.getF32Type());
  return linalg::FillOp::create(b, loc, ValueRange{f32Constant(b, loc, 0.0f)},
                                ValueRange{empty})
      .getResult(0);
}

Value mlir::densessm::buildReduction(OpBuilder &b, Location loc, unsigned rank,
                                     ArrayRef<Value> inputs,
                                     ArrayRef<AffineMap> inputMaps,
                                     AffineMap outputMap,
                                     ArrayRef<OpFoldResult> outputSizes,
                                     ScalarBody term) {
  Value init = zeros(b, loc, outputSizes);
  SmallVector<AffineMap> maps(inputMaps.begin(), inputMaps.end());
  maps.push_back(outputMap);
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  iterators.back() = utils::IteratorType::reduction;
  return linalg::GenericOp::create(
             b, loc, init.getType(), inputs, ValueRange{init}, maps, iterators,
             [&](OpBuilder &nb, Location nl, ValueRange args) {
               Value value = term(nb, nl, args.drop_back());
               linalg::YieldOp::create(nb, nl,
                                       ValueRange{arith::AddFOp::create(
                                           nb, nl, args.back(), value)});
             })
      .getResult(0);
}

Value mlir::densessm::linear(OpBuilder &b, Location loc, Value x, Value w) {
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, x);
  sizes.back() = tensor::getMixedSize(b, loc, w, 0);
  return buildReduction(b, loc, 4, {x, w},
                        {projection(b, 4, {0, 1, 3}), projection(b, 4, {2, 3})},
                        projection(b, 4, {0, 1, 2}), sizes,
                        [](OpBuilder &nb, Location nl, ValueRange args) {
                          return arith::MulFOp::create(
                                     nb, nl, extendToF32(nb, nl, args[0]),
                                     extendToF32(nb, nl, args[1]))
                              .getResult();
                        });
}

Value mlir::densessm::siluTensor(OpBuilder &b, Location loc, Value x) {
  return buildElementwise(b, loc, x, b.getF32Type(), {x},
                          {b.getMultiDimIdentityMap(3)},
                          [](OpBuilder &nb, Location nl, ValueRange args) {
                            return silu(nb, nl, args[0]);
                          });
}

LogicalResult
mlir::densessm::applyLoweringPatterns(Operation *op,
                                      RewritePatternSet &&patterns) {
  GreedyRewriteConfig config;
  config.setRegionSimplificationLevel(GreedySimplifyRegionLevel::Disabled);
  return applyPatternsGreedily(op, std::move(patterns), config);
}
