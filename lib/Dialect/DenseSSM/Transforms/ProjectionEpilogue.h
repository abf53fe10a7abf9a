//===- ProjectionEpilogue.h - elementwise ops folded into a GEMV -*- C++ -*-===//
//
// In a decode step a projection is often followed by an elementwise op on
// its output: a gate's activation (silu(x wᵀ)), the same split into heads,
// a scaling. On the GPU that op is a kernel launch of its own that re-reads
// y; but the GEMV kernel (--densessm-lower-projections-to-gpu-gemv)
// computes each y[b, l, o] in one lane, which can as well apply the op's
// body to it there, and to the ops that follow on its output. This file
// finds such a chain of ops and emits their bodies at one point.
//
// An op qualifies when it comes after the projection (or after the op
// before it in the epilogue, whose output it then reads as the first op
// reads y) with nothing between but operations that touch no buffer the
// projection or the epilogue so far uses (allocations, index arithmetic,
// views, fills of other buffers: they can move down past them), and when
//   - it is a linalg.generic on buffers, all loops parallel, one output;
//   - it reads y at the point it computes (identity map), through one or
//     more of its inputs, each either y itself or y with its output axis
//     split the same way (memref.expand_shape [[0], [1], [2, ...]]:
//     y[b, l, h·D + d] as [b, l, h, d]), so every point of its domain is
//     one lane's y;
//   - its other inputs are not a buffer the kernel writes (y, an earlier
//     op's output), and are read at dimensions or constants of the point
//     (broadcasts are fine);
//   - its output is written at the point (identity map) into a buffer none
//     of x, w, y or its inputs is a view of, so no lane reads what another
//     lane writes;
//   - its body has no memory effects.
//
//===----------------------------------------------------------------------===//
#ifndef DENSESSM_LIB_DIALECT_DENSESSM_TRANSFORMS_PROJECTIONEPILOGUE_H
#define DENSESSM_LIB_DIALECT_DENSESSM_TRANSFORMS_PROJECTIONEPILOGUE_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/Builders.h"

#include <optional>

namespace mlir::densessm {

struct ProjectionEpilogue {
  /// One elementwise op of the epilogue, reading the value before it (y,
  /// or the previous op's output) at the point.
  struct Stage {
    linalg::GenericOp op;
    /// Its input operands that read the value before it (one, or several
    /// views of it).
    SmallVector<unsigned> valueInputs;
    /// The sizes y's output axis is split into at this op's point (the
    /// trailing axes of its domain), or empty for [b, l, o].
    SmallVector<int64_t> outputSplit;
  };
  /// In program order: each reads the output of the one before.
  SmallVector<Stage> stages;

  /// The elementwise ops that qualify as the epilogue of `projection`
  /// (y[b, l, o] += x[b, l, i] · w[o, i] on buffers), if any.
  static std::optional<ProjectionEpilogue> after(linalg::LinalgOp projection);

  /// The last op (where the kernel goes).
  Operation *last() const { return stages.back().op; }

  /// Emits the ops' bodies for the point of y[b, l, o] = `value`: each
  /// loads its other inputs there, computes, and stores its output there.
  void emit(OpBuilder &b, Location loc, Value value, Value batch, Value token,
            Value output) const;
};

} // namespace mlir::densessm

#endif // DENSESSM_LIB_DIALECT_DENSESSM_TRANSFORMS_PROJECTIONEPILOGUE_H
