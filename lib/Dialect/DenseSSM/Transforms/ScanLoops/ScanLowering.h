//===- ScanLowering.h - the loop nests of a kernel-level scan ---*- C++ -*-===//
//
// The pieces --densessm-lower-scan-to-loops builds a densessm.scan from: the
// scan's buffers and sizes, the shared per-token computations (decay, input
// scale, the fused dense connection, the epilogue), and one emitter per
// loop-nest form, each in its own file:
//   ChannelBlockLoops.cpp   Mamba-1's form: 16 channels in registers
//   RegisterStateLoops.cpp  value size 1: one (b, h) state in a register
//   ValueChunkLoops.cpp     static value size: 16-wide value chunks
//   ScalarLoops.cpp         any sizes
//   TimeChunkedLoops.cpp    the parallel schedule chunked over time
//
//===----------------------------------------------------------------------===//
#ifndef DENSESSM_LIB_DIALECT_DENSESSM_TRANSFORMS_SCANLOOPS_SCANLOWERING_H
#define DENSESSM_LIB_DIALECT_DENSESSM_TRANSFORMS_SCANLOOPS_SCANLOWERING_H

#include "densessm/Dialect/DenseSSM/IR/DenseSSMOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/PatternMatch.h"

#include <optional>
#include <utility>

namespace mlir::densessm {

/// A read-only buffer view of a tensor operand, with a strided layout that
/// is dynamic but for a unit innermost stride (and the axis before a
/// trailing unit axis): compatible with the buffers bufferization assigns
/// (slices along the last axis included), and still contiguous along the
/// axis the vector loads read.
Value readBuffer(OpBuilder &b, Location loc, Value tensor);

/// A new buffer shaped like the tensor type `type`, with the dynamic sizes
/// taken from `sizes` (one index value per dimension).
Value allocBuffer(OpBuilder &b, Location loc, RankedTensorType type,
                  ArrayRef<Value> sizes);

/// One element of a buffer, widened to f32.
Value loadF32(OpBuilder &b, Location loc, Value buffer, ValueRange indices);

/// The schedule of the function `op` sits in, when it has one.
std::optional<Schedule> functionSchedule(Operation *op);

/// A sequential loop [0, upper) whose body receives the induction variable.
void forRange(OpBuilder &b, Location loc, Value upper,
              llvm::function_ref<void(OpBuilder &, Location, Value)> body);

/// The channel-block form's group: how many 16-channel blocks one parallel
/// iteration walks together, and the tokens per chunk of that walk.
constexpr int64_t kChannelBlockGroup = 4;
constexpr int64_t kChannelBlockChunk = 32;

/// What a channel block's time loop reads but never changes: the decay
/// rates in base 2 (one vector per key), the Δ biases and the D skips (null
/// when the scan has none).
struct ChannelBlockInvariants {
  SmallVector<Value> rates;
  Value biases, skips;
};

/// [B, L, H] views of the [B, L, H, 1] value, output and gate buffers.
struct ChannelViews {
  Value v, y, gate;
};

/// The buffers and sizes of one scan, and the emitters of its loop nests.
/// Every per-pair emitter runs inside a parallel loop over (batch, head) and
/// handles one (b, h) pair.
struct ScanLowering {
  ScanOp op;
  Value q, k, v, dt, A, dtBias, scale, skip, gate, initial, y, state;
  Value length, keyDim, valueDim, headsPerQ, headsPerK;
  Type yElement;
  bool elementwiseDecay, softplusOn, scalesInput;
  // The fused dense connection (MODELS.md §4), when present: the kept
  // tensors, the gate's hidden layer and second-layer weight, the norm
  // weight, and the per-token 1/rms computed by the statistics pre-pass.
  SmallVector<Value> denseKept;
  Value denseSelect, denseSelectWeight, denseNormWeight, denseRstd;
  // What the statistics pre-pass leaves in denseRstd: with 0 parts (the
  // CPU's), 1/rms per token, [B, L]; with n parts (the GPU's, whose decode
  // step spreads a token's values over n blocks), each token's sum of
  // squares in n parts, [B, L, n], which its readers add and finish with
  // denseEps.
  int64_t denseRstdParts = 0;
  float denseEps = 0.0f;

  /// Reads the scan's operands into buffers, allocates its results and
  /// fills the sizes, `dim(tensor, axis)` giving each size (tensor.dim, or a
  /// constant where the type knows it). `batch` and `heads` receive those
  /// sizes. Shared by the CPU loop nests and the GPU kernels; each then
  /// emits its own dense-statistics pass when op.hasDenseInput().
  static ScanLowering
  prepare(OpBuilder &b, Location loc, ScanOp op,
          llvm::function_ref<Value(Value, int64_t)> dim, Value &batch,
          Value &heads);

  /// Replaces the scan by its result buffers y and state, once the loops or
  /// kernels that fill them are emitted (as tensors, through
  /// bufferization.to_tensor, so that one-shot bufferization composes).
  void replaceWithResults(RewriterBase &rewriter, Location loc) const;

  /// f_t[c] = v + SiLU(Σ_r W[c, r] · select_t[r]) · Σ_i kept_i at
  /// (b, t, h, j), c = h·V + j: the connected value before its norm.
  Value connected(OpBuilder &b, Location loc, ValueRange at) const;

  /// 1/rms of the connected values of token (b, t), from the statistics.
  Value denseRstdAt(OpBuilder &b, Location loc, Value bi, Value t) const;

  /// 1/sqrt(sum / (H·V) + eps): a token's 1/rms from the sum of the squares
  /// of its H·V connected values.
  Value rstdOfSumOfSquares(OpBuilder &b, Location loc, Value sum,
                           float eps) const;

  /// The value the recurrence reads at (b, t, h, j): v, or the normalised
  /// connected value when a dense connection is fused in.
  Value inputValue(OpBuilder &b, Location loc, ValueRange at) const;

  /// W input values from (b, t, h, j0) along the value axis, as a vector.
  Value inputVector(OpBuilder &b, Location loc, ValueRange at,
                    VectorType vec) const;

  /// The statistics pre-pass of a fused dense connection: one 1/rms per
  /// token over its H·V connected values, which are recomputed here and in
  /// the scan rather than stored.
  void emitDenseStatistics(OpBuilder &b, Location loc, Value batch, Value heads,
                           float eps);

  /// The decay of head h at one token for key index i (per-element decay)
  /// or for the whole head (i null).
  Value decay(OpBuilder &b, Location loc, Value dtv, Value h, Value i) const;

  /// The groups of q and of k that head h reads: h / (H / G).
  std::pair<Value, Value> groups(OpBuilder &b, Location loc, Value h) const;

  /// δ_t[h] = softplus?(dt + dt_bias) and the input scale β_t[h] of
  /// (b, t, h); β is null when it is 1.
  std::pair<Value, Value> tokenScalars(OpBuilder &b, Location loc, Value bi,
                                       Value t, Value h) const;

  /// The epilogue of one output element at (b, t, h, j): (acc + skip[h] ·
  /// v) · SiLU(gate).
  Value epilogue(OpBuilder &b, Location loc, Value acc, ValueRange at) const;

  /// Scalar loops: any sizes, the state in the final-state buffer.
  void emitScalar(OpBuilder &b, Location loc, Value bi, Value h, Value gq,
                  Value gk) const;

  /// The parallel schedule chunked over time (any sizes, scalar loops):
  /// tokens are cut into chunks of `chunk`, and three parallel phases
  /// replace the sequential time loop —
  ///   1. per (b, h, chunk): the scan of the chunk from a zero state, its
  ///      readouts (before the epilogue), its final state and the product of
  ///      its decays;
  ///   2. per (b, h): the carries, sequentially over chunks:
  ///      carry_c = decays_c ⊙ carry_{c-1} + local_c, from the initial state;
  ///   3. per (b, h, chunk): each readout corrected by the carry entering its
  ///      chunk, q_t · (Π_{τ≤t} a_τ ⊙ carry), then the epilogue.
  void emitTimeChunked(OpBuilder &b, Location loc, Value batch, Value heads,
                       int64_t chunk);

  /// V = 1 with a static key size K (Mamba: K = N): the whole state of a
  /// (b, h) pair is one vector<K x f32>, carried in registers across time;
  /// the decay, the input and the readout are K-wide vector operations.
  void emitRegisterState(OpBuilder &b, Location loc, Value bi, Value h,
                         Value gq, Value gk, int64_t K) const;

  /// V = 1, one group of q and k, and the per-token operands viewable as
  /// [B, L, H] (Mamba-1): W independent channels advance together, each of
  /// the K state columns a vector<W x f32> over channels, carried in
  /// registers across time. Decays, inputs and the readout are vertical
  /// W-wide operations; q_t and k_t are scalars broadcast per key. This
  /// emits `blocks` (≤ kChannelBlockGroup) such blocks from channel h0 on,
  /// walked chunk of kChannelBlockChunk tokens by chunk (see
  /// ChannelBlockLoops.cpp for why). `views` are the [B, L, H] views of v, y
  /// and the gate (if any).
  void emitChannelBlocks(OpBuilder &b, Location loc, Value bi, Value h0,
                         Value blocks, int64_t K, int64_t W,
                         const ChannelViews &views) const;

  /// One token of one channel block at h0: reads the token's operands,
  /// advances the K state columns `carried` with the block's `invariants`,
  /// writes y and returns the new columns.
  SmallVector<Value> channelBlockStep(OpBuilder &b, Location loc, Value bi,
                                      Value t, Value h0, int64_t K, int64_t W,
                                      const ChannelViews &views,
                                      const ChannelBlockInvariants &invariants,
                                      ValueRange carried) const;

  /// A static value size V (retention: V = dv): the value axis is cut in
  /// chunks of W-wide vectors (W = 16, 8 or 4, the largest that divides V,
  /// else V); for each block of tokens and each chunk, the key loop takes
  /// the chunk of every state row through the block's tokens in turn and
  /// accumulates their outputs in registers (see ValueChunkLoops.cpp).
  void emitValueChunks(OpBuilder &b, Location loc, Value bi, Value h, Value gq,
                       Value gk, int64_t V) const;

  /// For the channel-block form: the [B, L, H] views of v, y and the gate
  /// when the scan is Mamba-1-shaped (V = 1, a static K, one group of q and
  /// of k) and the views are contiguous along H; none otherwise.
  std::optional<ChannelViews> channelViews(OpBuilder &b, Location loc,
                                           int64_t K, int64_t V) const;

  static Value f32(OpBuilder &b, Location loc, float value);

  /// Reads a vector along the last axis and widens it to f32.
  static Value readVector(OpBuilder &b, Location loc, Value buffer,
                          ValueRange indices, VectorType vec);

  static void writeVector(OpBuilder &b, Location loc, Value vector,
                          Value buffer, ValueRange indices);

  /// The key column S[b, h, :, 0] of a [B, H, K, 1] state as a vector,
  /// element by element (once per (b, h), so its cost does not matter).
  static Value readKeyColumn(OpBuilder &b, Location loc, Value buffer, Value bi,
                             Value h, int64_t K);

  static void writeKeyColumn(OpBuilder &b, Location loc, Value vector,
                             Value buffer, Value bi, Value h, int64_t K);

  void storeY(OpBuilder &b, Location loc, Value out, ValueRange at) const;
};

} // namespace mlir::densessm

#endif // DENSESSM_LIB_DIALECT_DENSESSM_TRANSFORMS_SCANLOOPS_SCANLOWERING_H
