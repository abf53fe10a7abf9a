//===- ProjectionWeightPrefetch.h - a GEMV block's weights into L2 -*- C++ -*-===//
//
// A decode step's GEMV kernel streams its weights, which no kernel writes,
// and reads its input row, which the kernel before it wrote. Launched with
// programmatic dependent launch (sm_90+: --densessm-wait-for-preceding-
// kernels), its blocks may start while that kernel still runs and wait
// (griddepcontrol.wait) only before their first memory access. What they
// do before it overlaps the other kernel's end: here, asking L2 for the
// block's weight rows (PTX prefetch.L2, one 128-byte line per thread and
// step, straight-line code so that the wait goes after it), so that the
// weight loads after the wait find them there instead of in HBM (the PTX
// instruction as inline assembly, which the wait placement recognises:
// --densessm-wait-for-preceding-kernels). Without the early launch the
// prefetches come right before the loads (a few instructions; what they
// cost or gain then is unmeasured). A GEMV that step 4b
// (--densessm-fuse-sibling-kernels) runs in one launch with another kernel
// has its prefetches inside that kernel's branch, after the wait.
//
//===----------------------------------------------------------------------===//
#ifndef DENSESSM_LIB_DIALECT_DENSESSM_TRANSFORMS_PROJECTIONWEIGHTPREFETCH_H
#define DENSESSM_LIB_DIALECT_DENSESSM_TRANSFORMS_PROJECTIONWEIGHTPREFETCH_H

#include "GPUKernel/GPUKernel.h"

namespace mlir::densessm {

/// The weights of one projection of a GEMV kernel: `w` (identity layout,
/// static rows), its output count, and the first block of the grid's x
/// axis that computes it (null: 0).
struct PrefetchedWeights {
  Value w, outputs, firstBlock;
};

/// Has L2 fetch the rows of the weights that block `kernel.blockX` reads:
/// `outputsPerBlock` rows of the member whose blocks it is in (the last
/// whose first block it is not before), fewer at the end of the weights;
/// each of the `blockSize` threads prefetches every `blockSize`-th line of
/// them, at most `kMaxPrefetchesPerThread` (the rest come as the loads
/// do). Only ops without memory effects and the prefetches, no branches.
void prefetchBlockWeights(OpBuilder &b, Location loc,
                          const gpu_kernel::KernelContext &kernel,
                          ArrayRef<PrefetchedWeights> members,
                          int64_t outputsPerBlock, int64_t blockSize);

/// The most lines one thread prefetches.
constexpr int64_t kMaxPrefetchesPerThread = 8;

/// The PTX of one prefetch (an `llvm.inline_asm` with the generic address
/// as its operand): the line that holds it into L2.
constexpr llvm::StringLiteral kPrefetchL2 = "prefetch.L2 [$0];";

/// Whether `op` only brings memory into a cache (PTX `prefetch`, as the
/// NVVM op or inline): it reads and writes nothing a kernel or the host
/// could observe (the caches are coherent), so it neither orders nor
/// conflicts with any access, and may come before a kernel's wait for the
/// kernels before it. (Inline assembly with side effects would otherwise
/// count as touching all memory.)
bool isCachePrefetch(Operation *op);

} // namespace mlir::densessm

#endif // DENSESSM_LIB_DIALECT_DENSESSM_TRANSFORMS_PROJECTIONWEIGHTPREFETCH_H
