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
// initial state before the first), and the block's last thread, whose last
// token ends the chunk, writes the column's new value after a second
// barrier. Tokens past the end of the sequence take the identity pair
// (1, 0), so every lane of every warp runs every shuffle. Readouts
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
      b, loc, columnsPerBatch, batch, T, {warps, warps},
      [&](OpBuilder &kb, Location kl, const KernelContext &kernel) {
        Value warpA = kernel.workgroup[0], warpB = kernel.workgroup[1];
        Value zero = index(kb, kl, 0), one = index(kb, kl, 1);
        Value zeroF = ScanLowering::f32(kb, kl, 0.0f);
        Value bi = kernel.blockY;
        Value h = arith::DivUIOp::create(kb, kl, kernel.blockX, s.valueDim);
        Value j = arith::RemUIOp::create(kb, kl, kernel.blockX, s.valueDim);
        Value gq, gk;
        std::tie(gq, gk) = s.groups(kb, kl, h);
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

        Value chunkLength = index(kb, kl, T * P);
        Value chunks = ceilDiv(kb, kl, s.length, chunkLength);
        Value isLastThread =
            arith::CmpIOp::create(kb, kl, arith::CmpIPredicate::eq,
                                  kernel.thread, index(kb, kl, T - 1));
        Value isLastLane =
            arith::CmpIOp::create(kb, kl, arith::CmpIPredicate::eq, kernel.lane,
                                  index(kb, kl, kWarpSize - 1));

        // The carry loop: chunk after chunk, the state column carried in the
        // final-state buffer.
        scf::ForOp::create(
            kb, kl, zero, chunks, one, ValueRange{},
            [&](OpBuilder &cb, Location cl, Value c, ValueRange) {
              Value first = arith::AddIOp::create(
                  cb, cl, arith::MulIOp::create(cb, cl, c, chunkLength),
                  arith::MulIOp::create(cb, cl, kernel.thread,
                                        index(cb, cl, P)));
              // This thread's P tokens.
              SmallVector<ChunkToken> tokens =
                  chunkTokens(cb, cl, bi, first, h, j, P);

              // The key loop: one scan per state element (i, j); the
              // readouts accumulate across it, one per token.
              SmallVector<Value> initialAcc(P, zeroF);
              auto keys = scf::ForOp::create(
                  cb, cl, zero, s.keyDim, one, initialAcc,
                  [&](OpBuilder &ib, Location il, Value i, ValueRange acc) {
                    Value aElement = decayRate(ib, il, h, i);
                    // 1. Serially over the thread's tokens: prefix[p] is
                    //    the composition of pairs 0..p.
                    SmallVector<AffinePair> prefix =
                        tokenPrefixes(ib, il, tokens, bi, gk, i, aElement);
                    // 2. Across the warp, on the threads' aggregates.
                    AffinePair inclusive =
                        warpInclusiveScan(ib, il, prefix.back());
                    AffinePair exclusive = shiftUpOneLane(ib, il, inclusive);
                    // 3. Across warps: each warp's aggregate to shared memory.
                    auto publish = scf::IfOp::create(ib, il, isLastLane,
                                                     /*withElseRegion=*/false);
                    {
                      OpBuilder pb = publish.getThenBodyBuilder();
                      memref::StoreOp::create(pb, il, inclusive.a, warpA,
                                              ValueRange{kernel.warp});
                      memref::StoreOp::create(pb, il, inclusive.b, warpB,
                                              ValueRange{kernel.warp});
                    }
                    gpu::BarrierOp::create(ib, il);
                    // The state entering this thread's first token: the
                    // chunk's carry, advanced by the warps before this one,
                    // then by the lanes before this one.
                    Value carry = memref::LoadOp::create(
                        ib, il, s.state, ValueRange{bi, h, i, j});
                    Value earlier = applyWarpAggregates(
                        ib, il, warpA, warpB, kernel.warp, carry,
                        [](OpBuilder &, Location, Value w) { return w; });
                    Value entering =
                        apply(ib, il, exclusive, earlier);
                    Value lastState;
                    SmallVector<Value> next =
                        readouts(ib, il, tokens, prefix, entering, acc, bi, gq,
                                 i, lastState);
                    // Everyone has read the carry and the aggregates: the
                    // last thread, whose last token ends the chunk (tokens
                    // past the sequence are identities), writes the carry
                    // of the next chunk.
                    gpu::BarrierOp::create(ib, il);
                    auto carryOut = scf::IfOp::create(ib, il, isLastThread,
                                                      /*withElseRegion=*/false);
                    {
                      OpBuilder ob = carryOut.getThenBodyBuilder();
                      memref::StoreOp::create(ob, il, lastState, s.state,
                                              ValueRange{bi, h, i, j});
                    }
                    scf::YieldOp::create(ib, il, next);
                  });

              // The epilogue of each valid token.
              storeTokens(cb, cl, tokens, keys.getResults(), bi, h, j);
              scf::YieldOp::create(cb, cl);
            });
      });
}
