//===- ScanGPU.h - the GPU kernels of a kernel-level scan -------*- C++ -*-===//
//
// The pieces --densessm-lower-scan-to-gpu builds a densessm.scan from, one
// concept per file:
//   WarpPrimitives.cpp         gpu.shuffle scans of (a, b) pairs
//   RecurrentKernel.cpp        the recurrent step: a lane per state column,
//                              the warps of a block splitting its keys
//   ChunkTokens.cpp            what both parallel scans do per thread: its
//                              tokens of a chunk, their serial prefix pairs,
//                              readouts and stores
//   ChunkedScanKernel.cpp      the parallel schedule: chunked parallel scan,
//                              a block's threads along time
//   ColumnScanKernel.cpp       the parallel schedule of many columns: a
//                              warp's lanes along columns, warps along time
//   KeyExchange.cpp            what both meet in at each chunk and key: the
//                              warps' aggregates and the carry, one barrier
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

/// The most key indices for which the column scan keeps its carries (32
/// columns each) in shared memory rather than in the final-state buffer:
/// 16 KiB.
constexpr int64_t kColumnScanMaxSharedKeys = 128;

/// The most key indices for which the recurrent step stages q_t and k_t in
/// shared memory (8 KiB).
constexpr int64_t kRecurrentMaxStagedKeys = 1024;

/// How many of a thread's key indices one pass of the recurrent step's key
/// loop loads before it computes any: all of them up to this many when K is
/// static, this many when it is not. A thread's loads of its state column
/// cannot move past its stores to the final state (the two buffers may be
/// one), so a pass of one key was one memory round trip per key.
constexpr int64_t kRecurrentKeysInFlight = 16;
constexpr int64_t kRecurrentDynamicKeysInFlight = 4;

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

/// What a thread of a parallel scan knows about one of its tokens before the
/// key loop.
struct ChunkToken {
  Value t;     // the token index, clamped into the sequence for loads
  Value valid; // whether the unclamped index is inside the sequence
  Value delta; // softplus?(dt + dt_bias)
  Value value; // the input value v_t[j] (dense-connected if fused)
  Value input; // β_t·v_t[j]: the update is input · k_t[i]
  Value decay; // exp(δ_t·A[h]) for per-head decay, else null
};

/// `state` advanced by the aggregates of warps 0 .. warps-1, in order, read
/// from two workgroup arrays (their a and b) at `slot(w)`.
Value applyWarpAggregates(
    OpBuilder &b, Location loc, Value arrayA, Value arrayB, Value warps,
    Value state, llvm::function_ref<Value(OpBuilder &, Location, Value)> slot);

/// A store of `value` at `indices` of `buffer` where `condition` holds.
void storeIf(OpBuilder &b, Location loc, Value condition, Value value,
             Value buffer, ValueRange indices);

/// The block-wide step of a parallel scan at each chunk and key index i
/// (KeyExchange.cpp): the warps' aggregates through two workgroup arrays of
/// two halves each, and the chunk's carries, with one barrier per key.
struct KeyExchange {
  /// The aggregates' a and b: two halves of `halfSize` slots each.
  Value arrayA, arrayB;
  int64_t halfSize;
  /// This thread's slot within a half, and whether it stores there (null:
  /// every thread does).
  Value slot, publishes;
  /// This thread's warp, and the slot within a half of warp w's aggregate
  /// for this thread.
  Value warp;
  llvm::function_ref<Value(OpBuilder &, Location, Value)> slotOfWarp;
  /// Whether this thread writes the carries: its last token ends the chunk.
  Value writesCarry;
  /// Where the carry of key index i lives: a buffer and its indices.
  llvm::function_ref<std::pair<Value, SmallVector<Value>>(OpBuilder &,
                                                          Location, Value)>
      carryAt;

  /// Publishes `aggregate` in key number `keysBefore + i`'s half, waits at
  /// the barrier, writes `pending` (the state the carry writer ended key
  /// i - 1 with) as key i - 1's carry, and returns key i's carry advanced
  /// by the aggregates of the warps before this thread's.
  Value enter(OpBuilder &b, Location loc, Value keysBefore, Value i,
              AffinePair aggregate, Value pending) const;

  /// After the key loop: a barrier, then `pending` as the last key's carry.
  void closeChunk(OpBuilder &b, Location loc, Value keyDim,
                  Value pending) const;

  void storeCarry(OpBuilder &b, Location loc, Value condition, Value value,
                  Value i) const;
  Value loadCarry(OpBuilder &b, Location loc, Value i) const;
};

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
  int64_t columnTokensPerThread = 4; // tokens per thread, column scan

  /// A fused dense connection's statistics: one kernel, `parts` blocks per
  /// (batch, token), whose threads stride over their interleaved slice of
  /// the H·V connected values, sum their squares, and reduce them (warp
  /// shuffles, then shared memory) to one sum per block in a new
  /// [B, L, parts] buffer, `scan.denseRstd`, which the scan's readers add
  /// and finish (ScanLowering::denseRstdAt).
  void emitDenseStatistics(OpBuilder &b, Location loc, float eps,
                           int64_t parts);

  /// The statistics' parts per token for a scan: enough blocks that each
  /// thread has one connected value, for a static H·V of a recurrent step
  /// (at most 32); one otherwise, the tokens giving blocks enough.
  int64_t denseStatisticsParts(bool recurrent) const;

  /// The recurrent step: a block per 32 state columns (b, h, j), a lane
  /// each, its `recurrentBlockSize / 32` warps splitting the key index:
  /// each thread reads its keys of S[b, h, :, j] (from the initial state
  /// for the first token) and writes them back updated, the warps' partial
  /// readouts meet in shared memory, over the scan's tokens (one, in a
  /// recurrent function). Retention's blocks stage q_t and k_t in shared
  /// memory.
  void emitRecurrent(OpBuilder &b, Location loc) const;

  /// The parallel schedule: one block per (b, h, j) runs the chunked
  /// parallel scan over time (thread-serial, then warp shuffles, then
  /// shared memory across warps), the carry passing from chunk to chunk
  /// through the final-state buffer.
  void emitChunkedScan(OpBuilder &b, Location loc) const;

  /// The parallel schedule of many state columns (B·H·V at least
  /// `column-scan-min-columns`): one block per (b, 32 consecutive columns
  /// h·V + j), lane = column, and its `blockSize / 32` warps along time:
  /// chunks of warps × `columnTokensPerThread` tokens, each warp scanning
  /// its tokens serially per lane, then the warps' aggregates composed
  /// through shared memory (one barrier per chunk and key). Activations are
  /// read and y written coalesced across the lanes, and q_t, k_t are one
  /// broadcast load per warp when the lanes share a group.
  void emitColumnScan(OpBuilder &b, Location loc) const;

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

  // What a thread of either parallel scan does with its tokens of a chunk
  // (ChunkTokens.cpp).

  /// S0[b, h, i, j]: the initial state's element, or 0 without one.
  Value initialState(OpBuilder &b, Location loc, Value bi, Value h, Value i,
                     Value j) const;

  /// A[h, i] for a per-element decay; null for a per-head one (each token
  /// then has its decay, ChunkToken::decay).
  Value decayRate(OpBuilder &b, Location loc, Value h, Value i) const;

  /// The `count` consecutive tokens from `first` of column (bi, h, j):
  /// clamped indices, validity, δ, the input value and β·value, and the
  /// per-head decay.
  SmallVector<ChunkToken> chunkTokens(OpBuilder &b, Location loc, Value bi,
                                      Value first, Value h, Value j,
                                      int64_t count) const;

  /// For key index i: each token's pair (a_t, b_t), the identity (1, 0) past
  /// the sequence, composed serially: prefix[p] is pairs 0..p. `aElement`
  /// is A[h, i] for a per-element decay, else null.
  SmallVector<AffinePair> tokenPrefixes(OpBuilder &b, Location loc,
                                        ArrayRef<ChunkToken> tokens, Value bi,
                                        Value gk, Value i,
                                        Value aElement) const;

  /// The readouts acc[p] + q_t[i]·s_t, where s_t is prefix[p] applied to
  /// the state `entering` the thread's first token; `lastState` receives
  /// the state after its last token.
  SmallVector<Value> readouts(OpBuilder &b, Location loc,
                              ArrayRef<ChunkToken> tokens,
                              ArrayRef<AffinePair> prefix, Value entering,
                              ValueRange acc, Value bi, Value gq, Value i,
                              Value &lastState) const;

  /// The state entering a thread's first token at key index i, from its
  /// tokens' `aggregate` and the carry writer's `pending` state of key
  /// i - 1: the kernel's block-wide step (a KeyExchange, and for the
  /// chunked scan the warp's shuffles first).
  using EnterKey = llvm::function_ref<Value(
      OpBuilder &, Location, Value keysBefore, Value i, AffinePair aggregate,
      Value pending)>;

  /// The carry loop of both parallel scans, over chunks of `chunkLength`
  /// tokens of column (bi, h, j): this thread's `count` tokens from
  /// c·chunkLength + `offset`; per key index their serial prefixes,
  /// `enter`, their readouts; after the key loop the chunk's last carry
  /// (`exchange.closeChunk`) and y for each valid token (where `alsoIf`
  /// holds, when given).
  void emitCarryLoop(OpBuilder &b, Location loc, Value bi, Value h, Value j,
                     Value offset, int64_t chunkLength, int64_t count,
                     const KeyExchange &exchange, EnterKey enter,
                     Value alsoIf = {}) const;

  /// The epilogue and store of y for each valid token (and, when
  /// `alsoIf` is given, only where it holds).
  void storeTokens(OpBuilder &b, Location loc, ArrayRef<ChunkToken> tokens,
                   ValueRange acc, Value bi, Value h, Value j,
                   Value alsoIf = {}) const;
};

} // namespace mlir::densessm::gpu_scan

#endif // DENSESSM_LIB_DIALECT_DENSESSM_TRANSFORMS_SCANGPU_SCANGPU_H
