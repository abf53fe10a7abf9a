//===- ColumnScanKernel.cpp - the parallel scan across columns ------------===//
//
// The parallel schedule when there are many state columns (b, h, j): Mamba's
// prefill over batch × d_inner channels, retention's over batch × heads ×
// value columns. The chunked scan (ChunkedScanKernel.cpp) gives each column
// a block whose threads split the time axis; its loads of Δ, v and the gate
// are then strided by the column count (one 32-byte sector per 4-byte
// value), and each block re-reads q and k, which all channels share, once
// per key index and token, one sector at a time. Here the lanes of a warp
// are 32 consecutive columns instead, so every per-token load and store of
// a warp is one contiguous row (or one broadcast, for q and k of one
// group), and only the warps of a block split time:
//
//   block   (b, columns 32·x … 32·x + 31), `blockSize / 32` warps W;
//   chunk   W·P consecutive tokens (P = column-tokens-per-thread), warp w
//           holding tokens w·P … w·P + P - 1 of it for its lane's column.
//
// Per chunk and key index i, each thread composes its P pairs
// (a_t, b_t) = (exp(δ_t·A[h, i]), β_t k_t[i] v_t[j]) serially
// (ChunkTokens.cpp) and publishes the aggregate to shared memory; after one
// barrier it takes the chunk's carry — the state S[b, h, i, j] at the end of
// the previous chunk — applies the aggregates of the warps before its own,
// and has the state entering its first token, hence its readouts
// q_t[i]·s_t. No shuffles: the lanes are independent columns.
//
// The carries live in shared memory, K x 32 floats, when the key size K is
// static and at most kColumnScanMaxSharedKeys: every warp reads one per chunk
// and key, and in the final-state buffer [B, H, K, V] the 32 columns of a
// warp are K·V floats apart, 32 sectors a read. The last warp copies them to
// the final state at the end. Otherwise they stay in the final-state buffer.
//
// One barrier per chunk and key (KeyExchange.cpp, shared with the chunked
// scan: alternating halves of the aggregate arrays, the carry written one
// key late by the last warp, whose last token ends the chunk, the last
// key's after a barrier that closes the chunk). Lanes past the last column
// compute on the last column and store nothing.
//
//===----------------------------------------------------------------------===//

#include "ScanGPU.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"

using namespace mlir;
using namespace mlir::densessm;
using namespace mlir::densessm::gpu_scan;

void ScanKernels::emitColumnScan(OpBuilder &b, Location loc) const {
  const ScanLowering &s = scan;
  const int64_t T = blockSize, P = columnTokensPerThread;
  const int64_t W = T / kWarpSize;
  // Two halves of one aggregate per (warp, lane).
  const int64_t half = W * kWarpSize;
  SmallVector<int64_t> workgroupSizes{2 * half, 2 * half};
  std::optional<int64_t> keys = getConstantIntValue(s.keyDim);
  bool sharedCarries = keys && *keys > 0 && *keys <= kColumnScanMaxSharedKeys;
  if (sharedCarries)
    workgroupSizes.push_back(*keys * kWarpSize);
  Value columns = arith::MulIOp::create(b, loc, heads, s.valueDim);
  Value columnBlocks = ceilDiv(b, loc, columns, index(b, loc, kWarpSize));
  launch(
      b, loc, columnBlocks, batch, T, workgroupSizes,
      [&](OpBuilder &kb, Location kl, const KernelContext &kernel) {
        Value aggregatesA = kernel.workgroup[0];
        Value aggregatesB = kernel.workgroup[1];
        Value zero = index(kb, kl, 0), one = index(kb, kl, 1);
        Value bi = kernel.blockY;
        Value column = arith::AddIOp::create(
            kb, kl,
            arith::MulIOp::create(kb, kl, kernel.blockX,
                                  index(kb, kl, kWarpSize)),
            kernel.lane);
        Value inColumns = arith::CmpIOp::create(
            kb, kl, arith::CmpIPredicate::ult, column, columns);
        Value clamped = arith::MinUIOp::create(
            kb, kl, column, arith::SubIOp::create(kb, kl, columns, one));
        Value h = arith::DivUIOp::create(kb, kl, clamped, s.valueDim);
        Value j = arith::RemUIOp::create(kb, kl, clamped, s.valueDim);
        // Where the carry of key index i is kept: slot i·32 + lane of the
        // shared array, or the final state itself.
        auto carryAt = [&](OpBuilder &ab, Location al,
                           Value i) -> std::pair<Value, SmallVector<Value>> {
          if (!sharedCarries)
            return {s.state, {bi, h, i, j}};
          Value slot = arith::AddIOp::create(
              ab, al,
              arith::MulIOp::create(ab, al, i, index(ab, al, kWarpSize)),
              kernel.lane);
          return {kernel.workgroup[2], {slot}};
        };
        Value writesCarry = arith::AndIOp::create(
            kb, kl, inColumns,
            arith::CmpIOp::create(kb, kl, arith::CmpIPredicate::eq, kernel.warp,
                                  index(kb, kl, W - 1)));
        // Every thread publishes its aggregate, at slot warp·32 + lane.
        auto slotOfWarp = [&](OpBuilder &ab, Location al, Value w) -> Value {
          return arith::AddIOp::create(
              ab, al, arith::MulIOp::create(ab, al, w, index(ab, al, kWarpSize)),
              kernel.lane);
        };
        KeyExchange exchange{aggregatesA,
                             aggregatesB,
                             half,
                             slotOfWarp(kb, kl, kernel.warp),
                             /*publishes=*/Value(),
                             kernel.warp,
                             slotOfWarp,
                             writesCarry,
                             carryAt};

        // The columns' carries before the first token (the initial state,
        // or zeros), the warps taking the key indices in turn.
        scf::ForOp::create(
            kb, kl, kernel.warp, s.keyDim, index(kb, kl, W), ValueRange{},
            [&](OpBuilder &ib, Location il, Value i, ValueRange) {
              exchange.storeCarry(ib, il, inColumns,
                                  initialState(ib, il, bi, h, i, j), i);
              scf::YieldOp::create(ib, il);
            });
        gpu::BarrierOp::create(kb, kl);

        // The carry loop: chunk after chunk of W·P tokens, this warp's P
        // from c·W·P + warp·P.
        emitCarryLoop(
            kb, kl, bi, h, j,
            arith::MulIOp::create(kb, kl, kernel.warp, index(kb, kl, P)),
            W * P, P, exchange,
            [&](OpBuilder &ib, Location il, Value keysBefore, Value i,
                AffinePair aggregate, Value pending) {
              // The chunk's carry advanced by the warps before this one.
              return exchange.enter(ib, il, keysBefore, i, aggregate, pending);
            },
            inColumns);

        // The final state: the last warp wrote every carry it copies (or,
        // without tokens, the warps did before the first barrier).
        if (sharedCarries)
          scf::ForOp::create(
              kb, kl, zero, s.keyDim, one, ValueRange{},
              [&](OpBuilder &ib, Location il, Value i, ValueRange) {
                storeIf(ib, il, writesCarry, exchange.loadCarry(ib, il, i),
                        s.state, {bi, h, i, j});
                scf::YieldOp::create(ib, il);
              });
      });
}
