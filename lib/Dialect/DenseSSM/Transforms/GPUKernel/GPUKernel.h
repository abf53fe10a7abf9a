//===- GPUKernel.h - building gpu.launch kernels ----------------*- C++ -*-===//
//
// What every hand-built kernel of the densessm passes starts from, whether
// it scans (ScanGPU/) or multiplies (the projections' GEMV):
//   Launch.cpp    gpu.launch over a 2-D grid of 1-D blocks, the thread's
//                 lane and warp, f32 workgroup buffers, strided loops
//   WarpSum.cpp   a warp-wide sum with gpu.shuffle xor
//   BlockSum.cpp  a block-wide sum: warp sums through shared memory
//
//===----------------------------------------------------------------------===//
#ifndef DENSESSM_LIB_DIALECT_DENSESSM_TRANSFORMS_GPUKERNEL_GPUKERNEL_H
#define DENSESSM_LIB_DIALECT_DENSESSM_TRANSFORMS_GPUKERNEL_GPUKERNEL_H

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/Builders.h"

namespace mlir::densessm::gpu_kernel {

/// Threads per warp on every NVIDIA GPU; the shuffles assume it.
constexpr int64_t kWarpSize = 32;

/// An index constant.
Value index(OpBuilder &b, Location loc, int64_t value);

/// ceil(n / d) for index values.
Value ceilDiv(OpBuilder &b, Location loc, Value n, Value d);

/// What a kernel body sees: its builder position, the block indices along
/// x and y, the thread index along x, its lane and warp, and the workgroup
/// (shared memory) buffers it asked for.
struct KernelContext {
  Value blockX, blockY, thread, lane, warp;
  SmallVector<Value> workgroup;
};

/// What `launch`'s body sees, its lane and warp computed at `b`'s
/// insertion point (inside the body): for a kernel built here, and for code
/// a pass adds to a kernel that exists.
KernelContext kernelContext(OpBuilder &b, Location loc, gpu::LaunchOp launch);

/// A gpu.launch over a (gridX, gridY, 1) grid of 1-D blocks of `threads`
/// threads, with f32 workgroup buffers of the given static sizes. `body`
/// fills the kernel; the terminator is added here.
gpu::LaunchOp
launch(OpBuilder &b, Location loc, Value gridX, Value gridY, int64_t threads,
       ArrayRef<int64_t> workgroupSizes,
       llvm::function_ref<void(OpBuilder &, Location, const KernelContext &)>
           body);

/// A loop from `first` to `upper` by `stride` whose body receives the
/// induction variable (a thread's share of a block's work: from its thread
/// or warp index, by the block's threads or warps).
void forStrided(OpBuilder &b, Location loc, Value first, Value upper,
                Value stride,
                llvm::function_ref<void(OpBuilder &, Location, Value)> body);

/// The sum of an f32 over a warp, in every lane: 5 `gpu.shuffle xor`
/// butterfly steps. All 32 lanes must execute it.
Value warpSum(OpBuilder &b, Location loc, Value value);

/// The sum of an f32 over a block of `warps` warps, in every thread: each
/// warp's sum (warpSum), lane 0's to `partials[warp]` (an f32 workgroup
/// buffer of `warps` elements), a barrier, then every thread adds the
/// partials. All threads must execute it; a second sum into the same
/// `partials` needs a barrier between. One warp needs no `partials` (null).
Value blockSum(OpBuilder &b, Location loc, const KernelContext &kernel,
               Value partials, int64_t warps, Value value);

} // namespace mlir::densessm::gpu_kernel

#endif // DENSESSM_LIB_DIALECT_DENSESSM_TRANSFORMS_GPUKERNEL_GPUKERNEL_H
