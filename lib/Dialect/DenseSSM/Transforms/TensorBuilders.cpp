//===- TensorBuilders.cpp - building blocks of the tensor lowerings -------===//

#include "TensorBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

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
