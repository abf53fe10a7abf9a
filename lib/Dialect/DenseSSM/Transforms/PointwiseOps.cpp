//===- PointwiseOps.cpp - linalg ops on buffers, point by point -----------===//

#include "PointwiseOps.h"
#include "RuntimeFunctions.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

using namespace mlir;

Value densessm::bufferOf(Value value) {
  while (auto view = value.getDefiningOp<ViewLikeOpInterface>())
    value = view.getViewSource();
  return value;
}

bool densessm::isAllocation(Value buffer) {
  return buffer.getDefiningOp<memref::AllocOp>() != nullptr;
}

bool densessm::readsAtThePoint(AffineMap map) {
  return llvm::all_of(map.getResults(), [](AffineExpr result) {
    return isa<AffineDimExpr, AffineConstantExpr>(result);
  });
}

bool densessm::hasPureBody(linalg::GenericOp generic) {
  return llvm::all_of(generic.getBody()->without_terminator(),
                      [](Operation &op) { return isMemoryEffectFree(&op); });
}

bool densessm::canMovePast(Operation *op, ArrayRef<Value> buffers) {
  if (auto fill = dyn_cast<linalg::FillOp>(op))
    return fill.hasPureBufferSemantics() &&
           !llvm::is_contained(buffers,
                               bufferOf(fill.getDpsInitOperand(0)->get()));
  if (op->getNumRegions() != 0)
    return false;
  if (isMemoryEffectFree(op))
    return true;
  auto effects = dyn_cast<MemoryEffectOpInterface>(op);
  if (!effects)
    return false;
  SmallVector<MemoryEffects::EffectInstance> list;
  effects.getEffects(list);
  return llvm::all_of(list, [](const MemoryEffects::EffectInstance &effect) {
    return isa<MemoryEffects::Allocate>(effect.getEffect());
  });
}

bool densessm::mayWriteAny(Operation *op, ArrayRef<Value> buffers) {
  // A call of a runtime function that says what it writes (a projection on
  // cuBLAS) writes that.
  if (auto call = dyn_cast<func::CallOp>(op)) {
    std::optional<SmallVector<Value>> written = writtenOperands(call);
    return !written || llvm::any_of(*written, [&](Value value) {
      return llvm::is_contained(buffers, bufferOf(value));
    });
  }
  // A barrier orders the block's accesses and writes nothing (gpu.barrier
  // declares no memory effects, so it would count as unknown).
  if (isa<gpu::BarrierOp>(op))
    return false;
  auto effects = dyn_cast<MemoryEffectOpInterface>(op);
  if (!effects) {
    // Unknown ops may do anything; ops whose effects are those of their
    // regions' ops (scf.if, scf.for) are what those do.
    if (!op->hasTrait<OpTrait::HasRecursiveMemoryEffects>())
      return true;
    for (Region &region : op->getRegions())
      for (Operation &nested : region.getOps())
        if (mayWriteAny(&nested, buffers))
          return true;
    return false;
  }
  SmallVector<MemoryEffects::EffectInstance> list;
  effects.getEffects(list);
  return llvm::any_of(list, [&](const MemoryEffects::EffectInstance &effect) {
    if (!isa<MemoryEffects::Write, MemoryEffects::Free>(effect.getEffect()))
      return false;
    Value written = effect.getValue();
    return !written || llvm::is_contained(buffers, bufferOf(written));
  });
}

SmallVector<Value> densessm::rowPoint(OpBuilder &b, Location loc,
                                      ArrayRef<int64_t> split, Value batch,
                                      Value token, Value i) {
  SmallVector<Value> point = {batch, token};
  if (split.empty()) {
    point.push_back(i);
    return point;
  }
  SmallVector<Value> trailing(split.size());
  Value rest = i;
  for (size_t axis = split.size() - 1; axis > 0; --axis) {
    Value size = arith::ConstantIndexOp::create(b, loc, split[axis]);
    trailing[axis] = arith::RemUIOp::create(b, loc, rest, size);
    rest = arith::DivUIOp::create(b, loc, rest, size);
  }
  trailing[0] = rest;
  point.append(trailing);
  return point;
}

Value densessm::emitBodyAt(OpBuilder &b, Location loc,
                           linalg::GenericOp generic, ArrayRef<Value> point,
                           llvm::function_ref<Value(OpOperand &)> given) {
  auto indicesOf = [&](AffineMap map) {
    SmallVector<Value> indices;
    for (AffineExpr result : map.getResults()) {
      if (auto dim = dyn_cast<AffineDimExpr>(result))
        indices.push_back(point[dim.getPosition()]);
      else
        indices.push_back(arith::ConstantIndexOp::create(
            b, loc, cast<AffineConstantExpr>(result).getValue()));
    }
    return indices;
  };

  Block *body = generic.getBody();
  IRMapping mapping;
  for (OpOperand &operand : generic->getOpOperands()) {
    BlockArgument argument = body->getArgument(operand.getOperandNumber());
    if (argument.use_empty())
      continue;
    Value value = given(operand);
    if (!value)
      value = memref::LoadOp::create(
          b, loc, operand.get(),
          indicesOf(generic.getMatchingIndexingMap(&operand)));
    mapping.map(argument, value);
  }
  for (Operation &bodyOp : body->without_terminator()) {
    if (auto index = dyn_cast<linalg::IndexOp>(bodyOp))
      mapping.map(index.getResult(), point[index.getDim()]);
    else
      b.clone(bodyOp, mapping);
  }
  return mapping.lookupOrDefault(body->getTerminator()->getOperand(0));
}
