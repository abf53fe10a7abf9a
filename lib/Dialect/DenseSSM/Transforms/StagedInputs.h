//===- StagedInputs.h - a GEMV block's row of x in shared memory -*- C++ -*-===//
//
// The GEMV kernel (--densessm-lower-projections-to-gpu-gemv) reads the
// weights in wide loads: lane l of a warp loads `width` consecutive weights
// w[o, i .. i + width) at once (16 bytes: one 128-bit load instruction),
// i = t·32·width + l·width. It then needs x[i + e] for e < width. Kept in
// shared memory in input order, the 32 lanes reading their e-th input would
// touch words `width` apart: a `width`-way bank conflict on every read. So
// a block that stages its row x[b, l, :] (a prologue computing it, or a
// plain copy) keeps input i = t·32·width + l·width + e at
//   t·32·width + e·32 + l,
// where those 32 lanes read 32 consecutive words. With width 1 that is i.
//
//===----------------------------------------------------------------------===//
#ifndef DENSESSM_LIB_DIALECT_DENSESSM_TRANSFORMS_STAGEDINPUTS_H
#define DENSESSM_LIB_DIALECT_DENSESSM_TRANSFORMS_STAGEDINPUTS_H

#include "GPUKernel/GPUKernel.h"

#include "mlir/Dialect/SCF/IR/SCF.h"

namespace mlir::densessm {

struct StagedInputs {
  /// Inputs a lane reads at once (a power of two; 1: input order).
  int64_t width = 1;

  /// The words a row of `inputs` takes: whole tiles of 32·width (the last
  /// tile's positions spread over all of it), or `inputs` in input order.
  int64_t size(int64_t inputs) const {
    if (width == 1)
      return inputs;
    int64_t tile = gpu_kernel::kWarpSize * width;
    return (inputs + tile - 1) / tile * tile;
  }

  /// Where input `i` is kept.
  Value position(OpBuilder &b, Location loc, Value i) const;

  /// Fills the block's first workgroup buffer with a row of `inputs`:
  /// each thread of the block (of `blockSize`) takes inputs thread,
  /// thread + blockSize, ..., stores `valueAt(i)` where input i is kept,
  /// then all meet at a barrier. Every thread must run it, before any warp
  /// leaves. Returns the buffer; the loop over the inputs goes to `loops`
  /// (the kernel unrolls it, so that its loads are in flight together).
  Value stage(OpBuilder &b, Location loc,
              const gpu_kernel::KernelContext &kernel, int64_t blockSize,
              Value inputs,
              llvm::function_ref<Value(OpBuilder &, Location, Value)> valueAt,
              SmallVectorImpl<scf::ForOp> &loops) const;
};

} // namespace mlir::densessm

#endif // DENSESSM_LIB_DIALECT_DENSESSM_TRANSFORMS_STAGEDINPUTS_H
