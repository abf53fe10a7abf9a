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
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace mlir::densessm;
using namespace mlir::densessm::gpu_scan;

namespace {

/// What a thread knows about one of its tokens before the key loop.
struct Token {
  Value t;     // the token index, clamped into the sequence for loads
  Value valid; // whether the unclamped index is inside the sequence
  Value delta; // softplus?(dt + dt_bias)
  Value value; // the input value v_t[j] (dense-connected if fused)
  Value input; // β_t·v_t[j]: the update is input · k_t[i]
  Value decay; // exp(δ_t·A[h]) for per-head decay, else null
};

} // namespace

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
        Value oneF = ScanLowering::f32(kb, kl, 1.0f);
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
              Value s0 = s.initial
                             ? memref::LoadOp::create(ib, il, s.initial,
                                                      ValueRange{bi, h, i, j})
                                   .getResult()
                             : zeroF;
              memref::StoreOp::create(ib, il, s0, s.state,
                                      ValueRange{bi, h, i, j});
              scf::YieldOp::create(ib, il);
            });
        gpu::BarrierOp::create(kb, kl);

        Value chunkLength = index(kb, kl, T * P);
        Value chunks = ceilDiv(kb, kl, s.length, chunkLength);
        Value last = arith::SubIOp::create(kb, kl, s.length, one);
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
              SmallVector<Token> tokens;
              for (int64_t p = 0; p < P; ++p) {
                Token token;
                Value t =
                    arith::AddIOp::create(cb, cl, first, index(cb, cl, p));
                token.valid = arith::CmpIOp::create(
                    cb, cl, arith::CmpIPredicate::ult, t, s.length);
                token.t = arith::MinUIOp::create(cb, cl, t, last);
                Value beta;
                std::tie(token.delta, beta) =
                    s.tokenScalars(cb, cl, bi, token.t, h);
                token.value = s.inputValue(cb, cl, {bi, token.t, h, j});
                token.input =
                    beta ? arith::MulFOp::create(cb, cl, beta, token.value)
                               .getResult()
                         : token.value;
                if (!s.elementwiseDecay)
                  token.decay = s.decay(cb, cl, token.delta, h, {});
                tokens.push_back(token);
              }

              // The key loop: one scan per state element (i, j); the
              // readouts accumulate across it, one per token.
              SmallVector<Value> initialAcc(P, zeroF);
              auto keys = scf::ForOp::create(
                  cb, cl, zero, s.keyDim, one, initialAcc,
                  [&](OpBuilder &ib, Location il, Value i, ValueRange acc) {
                    Value aElement = s.elementwiseDecay
                                         ? memref::LoadOp::create(
                                               ib, il, s.A, ValueRange{h, i})
                                               .getResult()
                                         : Value();
                    // 1. Serially over the thread's tokens: prefix[p] is
                    //    the composition of pairs 0..p.
                    SmallVector<AffinePair> prefix;
                    for (const Token &token : tokens) {
                      Value a = token.decay
                                    ? token.decay
                                    : math::ExpOp::create(
                                          ib, il,
                                          arith::MulFOp::create(
                                              ib, il, token.delta, aElement))
                                          .getResult();
                      Value key = loadF32(ib, il, s.k, {bi, token.t, gk, i});
                      Value bt =
                          arith::MulFOp::create(ib, il, token.input, key);
                      AffinePair pair{
                          arith::SelectOp::create(ib, il, token.valid, a, oneF),
                          arith::SelectOp::create(ib, il, token.valid, bt,
                                                  zeroF)};
                      prefix.push_back(
                          prefix.empty()
                              ? pair
                              : compose(ib, il, prefix.back(), pair));
                    }
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
                    auto earlier = scf::ForOp::create(
                        ib, il, zero, kernel.warp, one, ValueRange{carry},
                        [&](OpBuilder &wb, Location wl, Value w,
                            ValueRange state) {
                          AffinePair aggregate{
                              memref::LoadOp::create(wb, wl, warpA,
                                                     ValueRange{w}),
                              memref::LoadOp::create(wb, wl, warpB,
                                                     ValueRange{w})};
                          scf::YieldOp::create(
                              wb, wl,
                              ValueRange{apply(wb, wl, aggregate, state[0])});
                        });
                    Value entering =
                        apply(ib, il, exclusive, earlier.getResult(0));
                    SmallVector<Value> next;
                    Value lastState;
                    for (auto [p, token] : llvm::enumerate(tokens)) {
                      Value state = apply(ib, il, prefix[p], entering);
                      Value query = loadF32(ib, il, s.q, {bi, token.t, gq, i});
                      next.push_back(
                          math::FmaOp::create(ib, il, query, state, acc[p]));
                      lastState = state;
                    }
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
              for (auto [p, token] : llvm::enumerate(tokens)) {
                auto store = scf::IfOp::create(cb, cl, token.valid,
                                               /*withElseRegion=*/false);
                OpBuilder sb = store.getThenBodyBuilder();
                SmallVector<Value> at{bi, token.t, h, j};
                s.storeY(sb, cl,
                         epilogue(sb, cl, keys.getResult(p), token.value, at),
                         at);
              }
              scf::YieldOp::create(cb, cl);
            });
      });
}
