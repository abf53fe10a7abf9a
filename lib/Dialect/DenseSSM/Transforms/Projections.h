//===- Projections.h - what a model's linear layer looks like ---*- C++ -*-===//
//
// A projection is y[b, l, o] += Σ_i x[b, l, i] · w[o, i]: a linalg
// contraction with exactly these indexing maps, as the model builder emits
// every linear layer (weights in checkpoint layout, [out, in]). The passes
// that treat linear layers specially recognise them here, on tensors
// (--densessm-narrow-projection-weights) and on buffers
// (--densessm-lower-projections-to-gpu-gemv,
// --densessm-lower-projections-to-blas) alike.
//
//===----------------------------------------------------------------------===//
#ifndef DENSESSM_LIB_DIALECT_DENSESSM_TRANSFORMS_PROJECTIONS_H
#define DENSESSM_LIB_DIALECT_DENSESSM_TRANSFORMS_PROJECTIONS_H

#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/IR/BuiltinTypes.h"

namespace mlir::densessm {

/// True for a contraction with two inputs, one init and the indexing maps
/// of y[b, l, o] += x[b, l, i] * w[o, i]; the element types are the
/// caller's to check.
inline bool isProjection(linalg::LinalgOp op) {
  if (op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1 ||
      !linalg::isaContractionOpInterface(op))
    return false;
  MLIRContext *context = op->getContext();
  AffineExpr b, l, o, i;
  bindDims(context, b, l, o, i);
  SmallVector<AffineMap> expected = {
      AffineMap::get(4, 0, {b, l, i}, context),
      AffineMap::get(4, 0, {o, i}, context),
      AffineMap::get(4, 0, {b, l, o}, context)};
  return op.getIndexingMapsArray() == expected;
}

/// The operand number of the weight w[o, i] in a projection.
constexpr unsigned kProjectionWeightOperand = 1;

/// The element type of a shaped value.
inline Type elementOf(Value shaped) {
  return cast<ShapedType>(shaped.getType()).getElementType();
}

/// A projection on memrefs, x and y of f32, w of f32, bf16 or f16 (narrow
/// weights, widened as they are read: --densessm-narrow-projection-weights).
inline bool isBufferProjection(linalg::LinalgOp op) {
  if (!op.hasPureBufferSemantics() || !isProjection(op))
    return false;
  for (OpOperand &operand : op->getOpOperands()) {
    if (!isa<MemRefType>(operand.get().getType()))
      return false;
    Type element = elementOf(operand.get());
    bool weight = operand.getOperandNumber() == kProjectionWeightOperand;
    if (!element.isF32() && !(weight && (element.isBF16() || element.isF16())))
      return false;
  }
  return true;
}

} // namespace mlir::densessm

#endif // DENSESSM_LIB_DIALECT_DENSESSM_TRANSFORMS_PROJECTIONS_H
