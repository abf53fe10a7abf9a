//===- PointwiseOps.h - linalg ops on buffers, point by point ---*- C++ -*-===//
//
// The GEMV kernel (--densessm-lower-projections-to-gpu-gemv) folds the
// elementwise ops around a projection into itself: those that compute its
// input (ProjectionPrologue.h) and those that consume its output
// (ProjectionEpilogue.h). Both take a linalg.generic on buffers apart in
// the same way: which buffer an operand is a view of, whether an operand
// is read at the point or broadcast, whether the op can move past another,
// and its body emitted for one point of its domain. That is here.
//
//===----------------------------------------------------------------------===//
#ifndef DENSESSM_LIB_DIALECT_DENSESSM_TRANSFORMS_POINTWISEOPS_H
#define DENSESSM_LIB_DIALECT_DENSESSM_TRANSFORMS_POINTWISEOPS_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/Builders.h"

namespace mlir::densessm {

/// The buffer `value` is a view of (itself when it is no view).
Value bufferOf(Value value);

/// A fresh allocation: no other buffer of the function is a view of it
/// unless through its own views.
bool isAllocation(Value buffer);

/// Whether every result of `map` is a dimension or a constant (a read at
/// the point, or broadcast along some of its axes).
bool readsAtThePoint(AffineMap map);

/// Whether every op in `generic`'s body is free of memory effects.
bool hasPureBody(linalg::GenericOp generic);

/// Whether an op (the GEMV kernel, or an op it folds in) can move down
/// past `op`: it reads or writes none of `buffers` (allocations, index
/// arithmetic and views touch no memory; a fill writes its own buffer).
bool canMovePast(Operation *op, ArrayRef<Value> buffers);

/// Whether `op` touches no memory at all (allocations, views, index
/// arithmetic; not a fill, which canMovePast lets pass for other buffers):
/// what may lie between two ops that become one kernel.
bool touchesNoMemory(Operation *op);

/// Whether `op`, or an op nested in it, may write or free one of
/// `buffers` (or memory it cannot name). Ops with recursive effects
/// (scf.if, gpu.launch) do what their bodies do; a barrier writes nothing;
/// a call does what its callee's declaration says it writes
/// (RuntimeFunctions.h), else anything.
bool mayWriteAny(Operation *op, ArrayRef<Value> buffers);

/// Whether `op`, or an op nested in it (a linalg body's loads and stores
/// too), may write (or free) / read a value `watched` holds, or memory it
/// cannot name (`watched` is not asked then), as mayWriteAny decides; a
/// runtime function's call reads only its operands.
bool mayWrite(Operation *op, llvm::function_ref<bool(Value)> watched);
bool mayRead(Operation *op, llvm::function_ref<bool(Value)> watched);

/// The linalg.fill of `buffer` on buffers right before `op` (the model
/// builder's `y = 0; y += ...`), or null.
linalg::FillOp fillRightBefore(Operation *op, Value buffer);

/// An allocation that no other value of the function may be: every use,
/// through its views, names it (no select, call or region result, branch
/// operand or stored pointer may carry it elsewhere).
bool isUnaliasedAllocation(Value buffer);

/// Whether the buffers of `a` and `b` may overlap: in the same memory space
/// (a kernel's workgroup buffers are no global buffer), the same buffer, or
/// neither an unaliased allocation (function arguments, globals, selects
/// may be one another); two workgroup or private buffers only when they are
/// the same attribution.
bool mayAlias(Value a, Value b);

/// The point [b, l, t...] of element `i` of row (b, l), in a domain whose
/// row axis is split into `split` (i = t... in row-major order: o = h·D + d
/// for [b, l, h, d]), or [b, l, i] when `split` has at most one axis.
SmallVector<Value> rowPoint(OpBuilder &b, Location loc,
                            ArrayRef<int64_t> split, Value batch, Value token,
                            Value i);

/// Whether `a` and `b` may touch the same memory with one of them writing
/// it (mayWrite and mayRead of each against the other's accesses; memory
/// an op cannot name counts as any): whether they must keep their order.
bool mayConflict(Operation *a, Operation *b);

/// The indices of the linear index `linear` in a space of `sizes`, the
/// last fastest (as a loop nest runs).
SmallVector<Value> delinearize(OpBuilder &b, Location loc, Value linear,
                               ArrayRef<Value> sizes);

/// Emits `op`'s body (a linalg.generic's, or a named op's such as a
/// projection's linalg.contract) for `point` of its domain (one index per
/// loop): an operand whose block argument is used is `given(operand)`, or
/// when that is null, a scalar operand itself and a buffer's load at its
/// indexing map applied to the point; linalg.index is the point's index.
/// Returns the yielded value (stored nowhere).
Value emitBodyAt(OpBuilder &b, Location loc, linalg::LinalgOp op,
                 ArrayRef<Value> point,
                 llvm::function_ref<Value(OpOperand &)> given);

} // namespace mlir::densessm

#endif // DENSESSM_LIB_DIALECT_DENSESSM_TRANSFORMS_POINTWISEOPS_H
