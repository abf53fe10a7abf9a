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
// One barrier per chunk and key: the aggregate arrays alternate between two
// halves from one key to the next (a half is written again only after the
// barrier that every reader of it has passed), and the last warp writes a
// key's outgoing carry one key later, after the next barrier, when every
// warp has read the old one (the last key's after a barrier that closes the
// chunk). Lanes past the last column compute on the last column and store
// nothing.
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

namespace {

/// A store of `value` at `indices` of `buffer` where `condition` holds.
void storeIf(OpBuilder &b, Location loc, Value condition, Value value,
             Value buffer, ValueRange indices) {
  auto guarded = scf::IfOp::create(b, loc, condition, /*withElseRegion=*/false);
  OpBuilder gb = guarded.getThenBodyBuilder();
  memref::StoreOp::create(gb, loc, value, buffer, indices);
}

} // namespace

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
        Value zeroF = ScanLowering::f32(kb, kl, 0.0f);
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
        Value gq, gk;
        std::tie(gq, gk) = s.groups(kb, kl, h);
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
        auto storeCarry = [&](OpBuilder &ab, Location al, Value condition,
                              Value value, Value i) {
          auto [buffer, at] = carryAt(ab, al, i);
          storeIf(ab, al, condition, value, buffer, at);
        };

        // The columns' carries before the first token (the initial state,
        // or zeros), the warps taking the key indices in turn.
        scf::ForOp::create(
            kb, kl, kernel.warp, s.keyDim, index(kb, kl, W), ValueRange{},
            [&](OpBuilder &ib, Location il, Value i, ValueRange) {
              storeCarry(ib, il, inColumns, initialState(ib, il, bi, h, i, j),
                         i);
              scf::YieldOp::create(ib, il);
            });
        gpu::BarrierOp::create(kb, kl);

        Value chunkLength = index(kb, kl, W * P);
        Value chunks = ceilDiv(kb, kl, s.length, chunkLength);
        Value writesCarry = arith::AndIOp::create(
            kb, kl, inColumns,
            arith::CmpIOp::create(kb, kl, arith::CmpIPredicate::eq, kernel.warp,
                                  index(kb, kl, W - 1)));
        Value laneSlot = arith::AddIOp::create(
            kb, kl,
            arith::MulIOp::create(kb, kl, kernel.warp,
                                  index(kb, kl, kWarpSize)),
            kernel.lane);

        // The carry loop: chunk after chunk, the state columns carried in
        // the final-state buffer.
        scf::ForOp::create(
            kb, kl, zero, chunks, one, ValueRange{},
            [&](OpBuilder &cb, Location cl, Value c, ValueRange) {
              Value first = arith::AddIOp::create(
                  cb, cl, arith::MulIOp::create(cb, cl, c, chunkLength),
                  arith::MulIOp::create(cb, cl, kernel.warp,
                                        index(cb, cl, P)));
              SmallVector<ChunkToken> tokens =
                  chunkTokens(cb, cl, bi, first, h, j, P);
              Value keysBefore = arith::MulIOp::create(cb, cl, c, s.keyDim);

              // The key loop; besides the readouts it carries the state the
              // last warp ended the previous key with, written one key late.
              SmallVector<Value> initial(P, zeroF);
              initial.push_back(zeroF);
              auto keyLoop = scf::ForOp::create(
                  cb, cl, zero, s.keyDim, one, initial,
                  [&](OpBuilder &ib, Location il, Value i, ValueRange carried) {
                    ValueRange acc = carried.take_front(P);
                    Value pending = carried.back();
                    Value aElement = decayRate(ib, il, h, i);
                    SmallVector<AffinePair> prefix =
                        tokenPrefixes(ib, il, tokens, bi, gk, i, aElement);
                    // This key's half of the aggregate arrays.
                    Value parity = arith::RemUIOp::create(
                        ib, il, arith::AddIOp::create(ib, il, keysBefore, i),
                        index(ib, il, 2));
                    Value base =
                        arith::MulIOp::create(ib, il, parity, index(ib, il, half));
                    Value mine = arith::AddIOp::create(ib, il, base, laneSlot);
                    memref::StoreOp::create(ib, il, prefix.back().a,
                                            aggregatesA, ValueRange{mine});
                    memref::StoreOp::create(ib, il, prefix.back().b,
                                            aggregatesB, ValueRange{mine});
                    gpu::BarrierOp::create(ib, il);
                    // Every warp has read the previous key's carry: it may
                    // change now.
                    Value previousKey = arith::CmpIOp::create(
                        ib, il, arith::CmpIPredicate::ugt, i, zero);
                    storeCarry(ib, il,
                               arith::AndIOp::create(ib, il, writesCarry,
                                                     previousKey),
                               pending, arith::SubIOp::create(ib, il, i, one));
                    // The state entering this warp's first token: the
                    // chunk's carry advanced by the warps before this one.
                    auto [carries, carryIndex] = carryAt(ib, il, i);
                    Value carry =
                        memref::LoadOp::create(ib, il, carries, carryIndex);
                    Value entering = applyWarpAggregates(
                        ib, il, aggregatesA, aggregatesB, kernel.warp, carry,
                        [&](OpBuilder &wb, Location wl, Value w) -> Value {
                          return arith::AddIOp::create(
                              wb, wl, base,
                              arith::AddIOp::create(
                                  wb, wl,
                                  arith::MulIOp::create(
                                      wb, wl, w, index(wb, wl, kWarpSize)),
                                  kernel.lane));
                        });
                    Value lastState;
                    SmallVector<Value> next =
                        readouts(ib, il, tokens, prefix, entering, acc, bi, gq,
                                 i, lastState);
                    next.push_back(lastState);
                    scf::YieldOp::create(ib, il, next);
                  });

              // The last key's carry, once every warp has read the old one.
              gpu::BarrierOp::create(cb, cl);
              Value anyKey = arith::CmpIOp::create(
                  cb, cl, arith::CmpIPredicate::ugt, s.keyDim, zero);
              storeCarry(cb, cl,
                         arith::AndIOp::create(cb, cl, writesCarry, anyKey),
                         keyLoop.getResults().back(),
                         arith::SubIOp::create(cb, cl, s.keyDim, one));

              storeTokens(cb, cl, tokens, keyLoop.getResults().take_front(P),
                          bi, h, j, inColumns);
              scf::YieldOp::create(cb, cl);
            });

        // The final state: the last warp wrote every carry it copies (or,
        // without tokens, the warps did before the first barrier).
        if (sharedCarries)
          scf::ForOp::create(
              kb, kl, zero, s.keyDim, one, ValueRange{},
              [&](OpBuilder &ib, Location il, Value i, ValueRange) {
                auto [carries, carryIndex] = carryAt(ib, il, i);
                Value carry =
                    memref::LoadOp::create(ib, il, carries, carryIndex);
                storeIf(ib, il, writesCarry, carry, s.state, {bi, h, i, j});
                scf::YieldOp::create(ib, il);
              });
      });
}
