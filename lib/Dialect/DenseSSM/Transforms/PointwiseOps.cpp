//===- PointwiseOps.cpp - linalg ops on buffers, point by point -----------===//

#include "PointwiseOps.h"
#include "ProjectionWeightPrefetch.h"
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

bool densessm::touchesNoMemory(Operation *op) {
  return !isa<linalg::FillOp>(op) && canMovePast(op, {});
}

namespace {

enum class Access { Read, Write };

/// Whether `op`, or an op nested in it (a linalg body's loads too), may
/// `access` a buffer `watched` holds (it gets the accessed value, or null
/// for memory the op cannot name); a write includes a free.
bool mayAccess(Operation *op, llvm::function_ref<bool(Value)> watched,
               Access access) {
  // A call of a runtime function that says what it writes (a projection on
  // cuBLAS) writes that, and reads only its operands.
  if (auto call = dyn_cast<func::CallOp>(op)) {
    std::optional<SmallVector<Value>> written = densessm::writtenOperands(call);
    if (!written)
      return true;
    return access == Access::Write ? llvm::any_of(*written, watched)
                                   : llvm::any_of(call.getOperands(), watched);
  }
  // A barrier orders the block's accesses and touches nothing (gpu.barrier
  // declares no memory effects, so it would count as unknown); nor does a
  // prefetch into a cache (inline assembly, which would count as all).
  if (isa<gpu::BarrierOp>(op) || densessm::isCachePrefetch(op))
    return false;
  auto nestedAccess = [&] {
    for (Region &region : op->getRegions())
      for (Operation &nested : region.getOps())
        if (mayAccess(&nested, watched, access))
          return true;
    return false;
  };
  auto effects = dyn_cast<MemoryEffectOpInterface>(op);
  if (!effects) {
    // Unknown ops may do anything; ops whose effects are those of their
    // regions' ops (scf.if, scf.for) are what those do.
    return !op->hasTrait<OpTrait::HasRecursiveMemoryEffects>() || nestedAccess();
  }
  SmallVector<MemoryEffects::EffectInstance> list;
  effects.getEffects(list);
  // An op's effects are those on its operands; its body (a linalg.generic
  // gathering through a captured buffer) may load or store others.
  return llvm::any_of(list,
                      [&](const MemoryEffects::EffectInstance &effect) {
                        bool matches =
                            access == Access::Write
                                ? isa<MemoryEffects::Write,
                                      MemoryEffects::Free>(effect.getEffect())
                                : isa<MemoryEffects::Read>(effect.getEffect());
                        return matches && (!effect.getValue() ||
                                           watched(effect.getValue()));
                      }) ||
         nestedAccess();
}

} // namespace

bool densessm::mayWriteAny(Operation *op, ArrayRef<Value> buffers) {
  return mayWrite(op, [&](Value value) {
    return llvm::is_contained(buffers, bufferOf(value));
  });
}

bool densessm::mayWrite(Operation *op,
                        llvm::function_ref<bool(Value)> watched) {
  return mayAccess(op, watched, Access::Write);
}

bool densessm::mayRead(Operation *op, llvm::function_ref<bool(Value)> watched) {
  return mayAccess(op, watched, Access::Read);
}

linalg::FillOp densessm::fillRightBefore(Operation *op, Value buffer) {
  auto fill = dyn_cast_or_null<linalg::FillOp>(op->getPrevNode());
  if (!fill || !fill.hasPureBufferSemantics() ||
      fill.getDpsInitOperand(0)->get() != buffer)
    return nullptr;
  return fill;
}

bool densessm::isUnaliasedAllocation(Value buffer) {
  if (!isAllocation(buffer))
    return false;
  // Every use, through views, names the buffer itself: none makes another
  // value that may be it (a select, a call's or region's result, a stored
  // pointer, a branch's operand).
  SmallVector<Value> values = {buffer};
  while (!values.empty()) {
    Value value = values.pop_back_val();
    for (OpOperand &use : value.getUses()) {
      Operation *user = use.getOwner();
      if (auto view = dyn_cast<ViewLikeOpInterface>(user);
          view && view.getViewSource() == value) {
        values.push_back(user->getResult(0));
        continue;
      }
      if (isa<func::ReturnOp>(user))
        continue;
      if (user->hasTrait<OpTrait::IsTerminator>() ||
          llvm::any_of(user->getResultTypes(),
                       [](Type type) { return isa<BaseMemRefType>(type); }) ||
          (isa<memref::StoreOp>(user) && use.getOperandNumber() == 0))
        return false;
    }
  }
  return true;
}

bool densessm::mayAlias(Value a, Value b) {
  a = bufferOf(a);
  b = bufferOf(b);
  // Memory of two spaces (a kernel's workgroup buffers, global memory) is
  // never the same, nor are two of a kernel's workgroup or private buffers
  // (each its own attribution), or two kernels'.
  auto spaceOf = [](Value buffer) -> Attribute {
    auto type = dyn_cast<BaseMemRefType>(buffer.getType());
    return type ? type.getMemorySpace() : Attribute();
  };
  if (spaceOf(a) != spaceOf(b))
    return false;
  if (auto space = dyn_cast_or_null<gpu::AddressSpaceAttr>(spaceOf(a));
      space && space.getValue() != gpu::AddressSpace::Global)
    return a == b;
  return a == b || (!isUnaliasedAllocation(a) && !isUnaliasedAllocation(b));
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

bool densessm::mayConflict(Operation *a, Operation *b) {
  auto accessedBy = [](Operation *op) {
    return [op](Value buffer) {
      auto aliases = [&](Value other) { return mayAlias(buffer, other); };
      return mayRead(op, aliases) || mayWrite(op, aliases);
    };
  };
  auto readBy = [](Operation *op) {
    return [op](Value buffer) {
      return mayRead(op, [&](Value other) { return mayAlias(buffer, other); });
    };
  };
  return mayWrite(a, accessedBy(b)) || mayWrite(b, readBy(a));
}

SmallVector<Value> densessm::delinearize(OpBuilder &b, Location loc,
                                         Value linear, ArrayRef<Value> sizes) {
  SmallVector<Value> indices(sizes.size());
  Value rest = linear;
  for (int64_t axis = sizes.size() - 1; axis > 0; --axis) {
    indices[axis] = arith::RemUIOp::create(b, loc, rest, sizes[axis]);
    rest = arith::DivUIOp::create(b, loc, rest, sizes[axis]);
  }
  if (!sizes.empty())
    indices[0] = rest;
  return indices;
}

Value densessm::emitBodyAt(OpBuilder &b, Location loc, linalg::LinalgOp op,
                           ArrayRef<Value> point,
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

  Block *body = op.getBlock();
  IRMapping mapping;
  for (OpOperand &operand : op->getOpOperands()) {
    BlockArgument argument = body->getArgument(operand.getOperandNumber());
    if (argument.use_empty())
      continue;
    Value value = given(operand);
    if (!value && !isa<MemRefType>(operand.get().getType()))
      value = operand.get(); // a scalar operand
    if (!value)
      value = memref::LoadOp::create(
          b, loc, operand.get(),
          indicesOf(op.getMatchingIndexingMap(&operand)));
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
