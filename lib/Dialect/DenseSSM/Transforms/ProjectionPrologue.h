//===- ProjectionPrologue.h - a projection's input in its GEMV --*- C++ -*-===//
//
// In a decode step the input of a projection is often computed by an
// elementwise op right before it: a norm's scaling (RMSNorm: x = v ·
// rsqrt(mean(v²) + ε) · g, whose mean is a reduction of its own), a gate
// (x = v · silu(z)). On the GPU each is a kernel launch, and a norm two
// (its sum, then its scaling), that writes x only for the projections to
// read it back. The GEMV kernel (--densessm-lower-projections-to-gpu-gemv)
// can compute x itself: every block computes the row x[b, l, :] it needs
// into shared memory (the statistic first, summed over the block), then
// its warps read x from there. The op (and the statistic) are then not
// needed where every projection that reads x takes its GEMV side: they go
// away, or (dynamic rows) run only where the projections take cuBLAS's.
//
// x qualifies when
//   - it is a fresh allocation of static input size (at most
//     kMaxStagedInputs, shared memory), or a view collapsing the trailing
//     axes of one, y[b, l, g..., d] (i = (g..., d) in row-major order: a
//     group norm's output, heads and head size, flattened for the output
//     projection), written by one op and read only by the projections,
//     each of which the pass lowers to a GEMV;
//   - that op is a linalg.generic on buffers over y's axes, all loops
//     parallel, y written at the point (and not read), its other inputs
//     read at the point or broadcast, its body free of memory effects;
//   - nothing between it and the last of the projections' kernels writes
//     what it reads (the kernels compute x where they are).
// One of its inputs may be a statistic s[b, l, g...] per row and group,
// read broadcast along d, that only a fill (of any value) and one
// reduction write, and that the op reads through that operand alone:
//   s = c; s[b, l, g...] = s[b, l, g...] + f(…[b, l, g..., d]) for every d
// (a linalg.generic, parallel but for its last loop, over the same axes,
// yielding an addf of its output and a value that does not read it; f's
// inputs read at the point or broadcast). The block then sums f over each
// group itself (an RMSNorm over the row is the case of no g: one group).
//
//===----------------------------------------------------------------------===//
#ifndef DENSESSM_LIB_DIALECT_DENSESSM_TRANSFORMS_PROJECTIONPROLOGUE_H
#define DENSESSM_LIB_DIALECT_DENSESSM_TRANSFORMS_PROJECTIONPROLOGUE_H

#include "GPUKernel/GPUKernel.h"
#include "StagedInputs.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/Builders.h"

#include <algorithm>
#include <optional>

namespace mlir::densessm {

struct ProjectionPrologue {
  /// The most inputs a block stages in shared memory (32 KiB of f32).
  static constexpr int64_t kMaxStagedInputs = 8192;

  /// The op writing x[b, l, i] (through a collapsing view: y[b, l, g..., d]).
  linalg::GenericOp input;
  /// The statistic it reads, if any: its fill, its reduction, and the
  /// operand of `input` that reads it.
  linalg::FillOp statisticInit;
  linalg::GenericOp statistic;
  unsigned statisticOperand = 0;
  /// x's input axis (i), static, and the axes it flattens (g..., d).
  int64_t inputs = 0;
  SmallVector<int64_t> inputShape;

  /// The prologue of projections that read `x`, whose kernels the pass
  /// places at or before `lastKernel` (in x's block), if x qualifies.
  static std::optional<ProjectionPrologue>
  of(Value x, ArrayRef<linalg::LinalgOp> projections, Operation *lastKernel);

  /// The shared memory the kernel needs: the staged row (laid out as
  /// `layout` says), and with a statistic a partial sum per segment.
  SmallVector<int64_t> workgroupSizes(int64_t warps,
                                      const StagedInputs &layout) const {
    if (!statistic)
      return {layout.size(inputs)};
    return {layout.size(inputs), groups() * segmentsPerGroup(warps)};
  }

  /// The statistic's groups, and the elements each sums (d's size).
  int64_t groupSize() const { return inputShape.back(); }
  int64_t groups() const { return inputs / groupSize(); }
  /// Each group is summed in segments, one warp's work each, as many as
  /// keep the block's warps busy when groups are few (an RMSNorm's one).
  int64_t segmentsPerGroup(int64_t warps) const {
    return std::max<int64_t>(1, warps / groups());
  }

  /// Emits, for every thread of a block of `blockSize` threads (before
  /// any warp leaves), x[batch, token, :] into the first workgroup buffer,
  /// laid out as `layout` says, and returns that buffer. Its loops over the
  /// row's inputs go to `loops` (the kernel unrolls them, so that their
  /// loads are in flight together).
  Value emit(OpBuilder &b, Location loc,
             const gpu_kernel::KernelContext &kernel, int64_t blockSize,
             Value batch, Value token, const StagedInputs &layout,
             SmallVectorImpl<scf::ForOp> &loops) const;

  /// Its ops (fill, reduction, op), in program order.
  SmallVector<Operation *> ops() const;
};

} // namespace mlir::densessm

#endif // DENSESSM_LIB_DIALECT_DENSESSM_TRANSFORMS_PROJECTIONPROLOGUE_H
