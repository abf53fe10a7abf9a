//===- ChunkedScanKernel.cpp - the chunked parallel scan over time --------===//
//
// The parallel schedule (prefill: whole sequences). One block per state
// column (b, h, j) — per (batch, channel) for Mamba — scans the column's
// recurrence over time in parallel: tokens are cut into chunks of
// T·P (T threads per block, P consecutive tokens per thread), and within a
// chunk, for each key index i, the pairs (a_t, b_t) of
// s_t = a_t·s_{t-1} + b_t — a_t = exp(δ_t·A[h, i]), b_t = β_t k_t[i] v_t[j] —
// are scanned in three levels:
//
//   1. serially over each thread's P tokens, in registers;
//   2. across the 32 lanes of each warp: five `gpu.shuffle up` steps on the
//      threads' aggregates, then one more shift to make the scan exclusive;
//   3. across the warps of the block: lane 31 of each warp writes the warp's
//      aggregate to two workgroup arrays, and after a barrier each thread
//      applies the aggregates of the warps before its own to the chunk's
//      carry (T/32 fused multiply-adds).
//
// The carry entering a chunk is the state column itself: the final-state
// buffer holds S[b, h, :, j] as of the end of the previous chunk (the
// initial state before the first). The exchange across warps takes one
// barrier per chunk and key (KeyExchange.cpp, shared with the column scan):
// the aggregate arrays alternate halves from key to key, and the block's
// last thread, whose last token ends the chunk (tokens past the end of the
// sequence take the identity pair (1, 0), so every lane of every warp runs
// every shuffle), writes each key's new carry one key late. Readouts
// y_t[j] = Σ_i q_t[i]·s_t[i, j] accumulate over i in registers, one per
// token, and the skip and gate epilogue follows the key loop.
//
//===----------------------------------------------------------------------===//

#include "ScanGPU.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace mlir::densessm;
using namespace mlir::densessm::gpu_scan;

void ScanKernels::emitChunkedScan(OpBuilder &b, Location loc) const {
  const ScanLowering &s = scan;
  const int64_t T = blockSize, P = tokensPerThread;
  const int64_t warps = T / kWarpSize;
  Value columnsPerBatch = arith::MulIOp::create(b, loc, heads, s.valueDim);
  launch(
      b, loc, columnsPerBatch, batch, T, {2 * warps, 2 * warps},
      [&](OpBuilder &kb, Location kl, const KernelContext &kernel) {
        Value warpA = kernel.workgroup[0], warpB = kernel.workgroup[1];
        Value bi = kernel.blockY;
        Value h = arith::DivUIOp::create(kb, kl, kernel.blockX, s.valueDim);
        Value j = arith::RemUIOp::create(kb, kl, kernel.blockX, s.valueDim);
        Value threads = index(kb, kl, T);

        // The column's state before the first token: the initial state, or
        // zeros, written by the block's threads in turn.
        scf::ForOp::create(
            kb, kl, kernel.thread, s.keyDim, threads, ValueRange{},
            [&](OpBuilder &ib, Location il, Value i, ValueRange) {
              memref::StoreOp::create(ib, il,
                                      initialState(ib, il, bi, h, i, j),
                                      s.state, ValueRange{bi, h, i, j});
              scf::YieldOp::create(ib, il);
            });
        gpu::BarrierOp::create(kb, kl);

        Value isLastThread =
            arith::CmpIOp::create(kb, kl, arith::CmpIPredicate::eq,
                                  kernel.thread, index(kb, kl, T - 1));
        Value isLastLane =
            arith::CmpIOp::create(kb, kl, arith::CmpIPredicate::eq, kernel.lane,
                                  index(kb, kl, kWarpSize - 1));
        // Lane 31 publishes its warp's aggregate, at slot `warp`; the
        // carries are the final state's.
        auto slotOfWarp = [](OpBuilder &, Location, Value w) { return w; };
        auto carryAt = [&](OpBuilder &, Location,
                           Value i) -> std::pair<Value, SmallVector<Value>> {
          return {s.state, {bi, h, i, j}};
        };
        KeyExchange exchange{warpA,       warpB,      warps,
                             kernel.warp, isLastLane, kernel.warp,
                             slotOfWarp,  isLastThread, carryAt};

        // The carry loop: chunk after chunk of T·P tokens, this thread's P
        // from c·T·P + thread·P.
        emitCarryLoop(
            kb, kl, bi, h, j,
            arith::MulIOp::create(kb, kl, kernel.thread, index(kb, kl, P)),
            T * P, P, exchange,
            [&](OpBuilder &ib, Location il, Value keysBefore, Value i,
                AffinePair aggregate, Value pending) {
              // Across the warp, on the threads' aggregates; then across
              // warps: the chunk's carry advanced by the warps before this
              // one, then by the lanes before this one.
              AffinePair inclusive = warpInclusiveScan(ib, il, aggregate);
              AffinePair exclusive = shiftUpOneLane(ib, il, inclusive);
              Value earlier = exchange.enter(ib, il, keysBefore, i, inclusive,
                                             pending);
              return apply(ib, il, exclusive, earlier);
            });
      });
}
