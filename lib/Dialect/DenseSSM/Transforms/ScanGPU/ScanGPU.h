//===- ScanGPU.h - the GPU kernels of a kernel-level scan -------*- C++ -*-===//
//
// The pieces --densessm-lower-scan-to-gpu builds a densessm.scan from, one
// concept per file:
//   WarpPrimitives.cpp         gpu.shuffle scans of (a, b) pairs
//   RecurrentKernel.cpp        the recurrent step: one thread per state column
//   ChunkedScanKernel.cpp      the parallel schedule: chunked parallel scan
//   ChunkwiseRetentionKernel.cpp  the parallel schedule of a per-head decay
//                              over long sequences: retention's chunkwise
//                              form (blocked matrix products per chunk)
//   DenseStatisticsKernel.cpp  a fused dense connection's 1/rms per token
//   Epilogue.cpp               the readout's skip and SiLU gate
// The scan's buffers, sizes and per-token computations (decay, softplus'd
// Δ, input scale, the fused dense input) are ScanLowering's, shared with the
// CPU loop nests (ScanLoops/ScanLowering.h): the kernels read the same
// buffers with the same scalar code, inside gpu.launch bodies.
//
//===----------------------------------------------------------------------===//
#ifndef DENSESSM_LIB_DIALECT_DENSESSM_TRANSFORMS_SCANGPU_SCANGPU_H
#define DENSESSM_LIB_DIALECT_DENSESSM_TRANSFORMS_SCANGPU_SCANGPU_H

#include "../GPUKernel/GPUKernel.h"
#include "../ScanLoops/ScanLowering.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/Builders.h"

namespace mlir::densessm::gpu_scan {

// gpu.launch, the lane and warp of a thread, warp sums (GPUKernel.h).
using namespace gpu_kernel;

/// The chunkwise retention kernel's tiles: BK keys of q and k per key block,
/// BV value columns per block.
constexpr int64_t kChunkwiseKeyTile = 16;
constexpr int64_t kChunkwiseValueTile = 32;

/// The largest chunk the chunkwise kernel's static shared memory (48 KiB on
/// every chip) holds: C² + 4C + 2C·(BK + 1) + BK·BV + 2C·BV floats.
constexpr int64_t kChunkwiseMaxChunkSize = 64;

/// An element `s_t = a·s_{t-1} + b` of a diagonal linear recurrence. The
/// pairs compose associatively: `first` then `second` is
/// (a1·a2, a2·b1 + b2); the identity is (1, 0).
struct AffinePair {
  Value a, b;
};

AffinePair compose(OpBuilder &b, Location loc, AffinePair first,
                   AffinePair second);

/// The pair applied to a state: a·s + b.
Value apply(OpBuilder &b, Location loc, AffinePair pair, Value state);

/// Inclusive scan of one pair per lane across a warp: log2(32) = 5 steps,
/// each two `gpu.shuffle up` by 1, 2, 4, 8, 16 lanes; a lane whose source
/// lane is out of range keeps its value (the shuffle's valid flag). All 32
/// lanes must execute it.
AffinePair warpInclusiveScan(OpBuilder &b, Location loc, AffinePair pair);

/// The previous lane's value (`gpu.shuffle up` by 1): turns an inclusive
/// scan into an exclusive one; lane 0 gets the identity (1, 0).
AffinePair shiftUpOneLane(OpBuilder &b, Location loc, AffinePair pair);

/// The launch-independent parts of the kernels: the scan (its buffers and
/// sizes), its batch and head counts, and the block sizes.
struct ScanKernels {
  ScanLowering &scan;
  Value batch, heads;
  int64_t blockSize;          // threads per block, chunked scan
  int64_t tokensPerThread;    // tokens per thread, chunked scan
  int64_t recurrentBlockSize; // threads per block, recurrent + statistics
  int64_t chunkwiseChunkSize = kChunkwiseMaxChunkSize; // tokens per chunk,
                                                       // chunkwise kernel

  /// A fused dense connection's statistics: one kernel, one block per
  /// (batch, token), whose threads stride over the H·V connected values,
  /// sum their squares, and reduce them (warp shuffles, then shared memory)
  /// to one 1/rms per token in a new [B, L] buffer, `scan.denseRstd`.
  void emitDenseStatistics(OpBuilder &b, Location loc, float eps);

  /// The recurrent step: one thread per (b, h, j), reading its state column
  /// S[b, h, :, j] (from the initial state for the first token) and
  /// writing the new one, over the scan's tokens (one, in a recurrent
  /// function).
  void emitRecurrent(OpBuilder &b, Location loc) const;

  /// The parallel schedule: one block per (b, h, j) runs the chunked
  /// parallel scan over time (thread-serial, then warp shuffles, then
  /// shared memory across warps), the carry passing from chunk to chunk
  /// through the final-state buffer.
  void emitChunkedScan(OpBuilder &b, Location loc) const;

  /// The parallel schedule of a per-head decay (A is [H]: retention) in
  /// its chunkwise form: one block of `blockSize` threads per (b, h, tile of
  /// kChunkwiseValueTile value columns); per chunk of `chunkwiseChunkSize`
  /// tokens, the intra-chunk readout ((Q Kᵀ) ⊙ D) V and the inter-chunk
  /// readout (Q S) scaled by the decay, from Q/K/V/S tiles in shared memory,
  /// then the state update S' = decay·S + Kᵀ (w ⊙ V), the state carried
  /// from chunk to chunk in the final-state buffer.
  void emitChunkwiseRetention(OpBuilder &b, Location loc) const;

  /// (acc + skip[h]·v) · SiLU(gate[b, t, h, j]), where `value` is the input
  /// value the scan read at (b, t, h, j).
  Value epilogue(OpBuilder &b, Location loc, Value acc, Value value,
                 ValueRange at) const;
};

} // namespace mlir::densessm::gpu_scan

#endif // DENSESSM_LIB_DIALECT_DENSESSM_TRANSFORMS_SCANGPU_SCANGPU_H
