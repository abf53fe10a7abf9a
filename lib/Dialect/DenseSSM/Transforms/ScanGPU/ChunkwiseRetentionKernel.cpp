//===- ChunkwiseRetentionKernel.cpp - chunkwise form of a per-head scan ---===//
//
// The parallel schedule of a scan whose decay is one scalar per head and
// token (retention; A is [H]), for long sequences: the chunkwise form of
// retention (RetNet's "chunkwise recurrent" representation), in which the
// work inside a chunk is blocked matrix products rather than a scan.
//
// With a_t = exp(δ_t·A[h]) the per-head decay, β_t the input scale, and a
// chunk of n ≤ C tokens t0 .. t0+n-1 (local indices r, s < n), let
// G_r = Σ_{τ≤r} δ_{t0+τ}·A[h] (the chunk's cumulative log decay), so that
// Π_{s<τ≤r} a_τ = exp(G_r - G_s). Then, S the state entering the chunk,
//
//   scores  P[r, s] = q_r · k_s                         (s ≤ r)
//   mask    D[r, s] = exp(G_r - G_s) · β_s              (s ≤ r, else 0)
//   y_r           = exp(G_r) · (q_r S) + Σ_s (P ⊙ D)[r, s] · v_s
//   S'            = exp(G_{n-1}) · S + Σ_s k_sᵀ (exp(G_{n-1} - G_s) β_s v_s)
//
// — exactly the scan's recurrence S_t = a_t S_{t-1} + β_t k_tᵀ v_t,
// y_t = q_t S_t, unrolled over the chunk (then the skip and gate epilogue).
// A zero decay (log decay -inf: retention's first token at position 0)
// cuts the chunk into segments: G restarts after it, and decays across it
// are 0 (comparing segment indices), never exp(-inf - -inf).
//
// One block of T threads per (batch, head, value tile of BV columns); the
// grid is (H · ceil(V / BV), B). The chunks run in turn inside the block
// (the inter-chunk loop), the state tile carried in the final-state buffer
// (which starts as the initial state), as in ChunkedScanKernel.cpp. Per
// chunk, all in workgroup (shared) memory, every phase separated by
// barriers:
//
//   1. token scalars: δ·A[h] and β per token, and the value tile V_c
//      [C × BV] (the input values: dense-connected when a dense connection
//      is fused in);
//   2. G by a prefix sum over the chunk (and the segments of zero
//      decays); the score and output accumulators cleared;
//   3. the key-block loop, BK keys at a time: Q_c and K_c tiles [C × BK] and
//      the state tile S [BK × BV] loaded, then the scores P += Q Kᵀ (lower
//      triangle only) and the inter-chunk readout O += Q S accumulate;
//   4. the decay mask applied to the scores in place, and the per-token
//      weights exp(G_{n-1} - G_s)·β_s of the state update;
//   5. y = exp(G_r)·O + (P ⊙ D) V_c, the epilogue, the store;
//   6. the state update, key block by key block: K_c reloaded, then
//      S' = exp(G_{n-1}) S + K_cᵀ (w ⊙ V_c) written back.
//
// The matrix products are shared-memory FMA loops, each thread striding
// over the output elements it owns (no tensor cores: see
// docs/cuda-codegen.md). Every loop is bounded by the chunk's real token
// count and the tiles' real key and value sizes, so padding costs nothing
// and any K, V and L work. The workgroup memory is C² + 4C + 2C·(BK + 1) +
// BK·BV + 2C·BV floats (the q and k tiles' rows padded by one against bank
// conflicts): 44,544 bytes for C = 64, under the 48 KiB of static shared
// memory every chip has, which bounds C.
//
//===----------------------------------------------------------------------===//

#include "ScanGPU.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#include <limits>

using namespace mlir;
using namespace mlir::densessm;
using namespace mlir::densessm::gpu_scan;

namespace {

/// Index arithmetic inside a kernel body.
struct IndexMath {
  OpBuilder &b;
  Location loc;
  Value add(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  Value sub(Value x, Value y) { return arith::SubIOp::create(b, loc, x, y); }
  Value mul(Value x, Value y) { return arith::MulIOp::create(b, loc, x, y); }
  Value div(Value x, Value y) { return arith::DivUIOp::create(b, loc, x, y); }
  Value rem(Value x, Value y) { return arith::RemUIOp::create(b, loc, x, y); }
  Value min(Value x, Value y) { return arith::MinUIOp::create(b, loc, x, y); }
  Value c(int64_t value) { return index(b, loc, value); }
  /// x·stride + y: an element of a row-major workgroup tile.
  Value at(Value x, int64_t stride, Value y) {
    return add(mul(x, c(stride)), y);
  }
};

Value loadTile(OpBuilder &b, Location loc, Value tile, Value at) {
  return memref::LoadOp::create(b, loc, tile, ValueRange{at});
}

void storeTile(OpBuilder &b, Location loc, Value value, Value tile, Value at) {
  memref::StoreOp::create(b, loc, value, tile, ValueRange{at});
}

/// for (e = thread; e < count; e += threads): the elements a thread owns
/// when the block's threads share `count` of them.
void forOwned(OpBuilder &b, Location loc, Value thread, int64_t threads,
              Value count,
              llvm::function_ref<void(OpBuilder &, Location, Value)> body) {
  forStrided(b, loc, thread, count, index(b, loc, threads), body);
}

/// init + the terms `accumulate(x, acc)` adds for x in [lower, count), in one
/// f32 register.
Value sumOver(
    OpBuilder &b, Location loc, Value lower, Value count, Value init,
    llvm::function_ref<Value(OpBuilder &, Location, Value, Value)> accumulate) {
  auto loop = scf::ForOp::create(
      b, loc, lower, count, index(b, loc, 1), ValueRange{init},
      [&](OpBuilder &lb, Location ll, Value x, ValueRange acc) {
        scf::YieldOp::create(lb, ll, ValueRange{accumulate(lb, ll, x, acc[0])});
      });
  return loop.getResult(0);
}

/// A row-major tile element's index for term x of a dot product.
using TileIndex = llvm::function_ref<Value(IndexMath &, Value)>;

/// init + Σ_{x in [lower, count)} a[aAt(x)] · b[bAt(x)]: a dot product along
/// one axis of two workgroup tiles (a row of Q with a row of K, a row of Q
/// with a column of S, a row of the scores with a column of V).
Value tileDot(OpBuilder &b, Location loc, Value lower, Value count, Value init,
              Value a, TileIndex aAt, Value bTile, TileIndex bAt) {
  return sumOver(b, loc, lower, count, init,
                 [&](OpBuilder &xb, Location xl, Value x, Value acc) {
                   IndexMath xm{xb, xl};
                   return math::FmaOp::create(
                       xb, xl, loadTile(xb, xl, a, aAt(xm, x)),
                       loadTile(xb, xl, bTile, bAt(xm, x)), acc);
                 });
}

} // namespace

void ScanKernels::emitChunkwiseRetention(OpBuilder &b, Location loc) const {
  const ScanLowering &s = scan;
  const int64_t T = blockSize, C = chunkwiseChunkSize;
  const int64_t BK = kChunkwiseKeyTile, BV = kChunkwiseValueTile;
  // The q and k tiles' row stride: one float of padding, so that threads
  // reading k_s[kk] for consecutive s (the scores) hit different banks
  // instead of every other one of 16.
  const int64_t RS = BK + 1;
  Value valueTiles = ceilDiv(b, loc, s.valueDim, index(b, loc, BV));
  Value gridX = arith::MulIOp::create(b, loc, heads, valueTiles);
  // Workgroup buffers, in this order.
  enum Tile {
    LogDecay,
    Cumulative,
    Segment,
    Beta,
    Qs,
    Ks,
    Ss,
    Vs,
    Scores,
    Out
  };
  launch(
      b, loc, gridX, batch, T,
      {C, C, C, C, C * RS, C * RS, BK * BV, C * BV, C * C, C * BV},
      [&](OpBuilder &kb, Location kl, const KernelContext &kernel) {
        IndexMath m{kb, kl};
        auto tile = [&](Tile which) { return kernel.workgroup[which]; };
        Value zero = m.c(0), one = m.c(1);
        Value zeroF = ScanLowering::f32(kb, kl, 0.0f);
        Value oneF = ScanLowering::f32(kb, kl, 1.0f);
        Value minusInfinity =
            ScanLowering::f32(kb, kl, -std::numeric_limits<float>::infinity());
        // The decay from token s to token r ≥ s of the chunk,
        // Π_{s<τ≤r} a_τ: exp(G_r - G_s) within one segment, 0 across a
        // zero decay.
        auto decayBetween = [&](OpBuilder &xb, Location xl, Value r,
                                Value sIdx) -> Value {
          Value same =
              arith::CmpFOp::create(xb, xl, arith::CmpFPredicate::OEQ,
                                    loadTile(xb, xl, tile(Segment), r),
                                    loadTile(xb, xl, tile(Segment), sIdx));
          Value decay = math::ExpOp::create(
              xb, xl,
              arith::SubFOp::create(xb, xl,
                                    loadTile(xb, xl, tile(Cumulative), r),
                                    loadTile(xb, xl, tile(Cumulative), sIdx)));
          return arith::SelectOp::create(xb, xl, same, decay, zeroF);
        };
        // The decay from the chunk's start to token r, Π_{τ≤r} a_τ: what
        // the state entering the chunk is multiplied by.
        auto decayFromStart = [&](OpBuilder &xb, Location xl,
                                  Value r) -> Value {
          Value unbroken =
              arith::CmpFOp::create(xb, xl, arith::CmpFPredicate::OEQ,
                                    loadTile(xb, xl, tile(Segment), r), zeroF);
          Value decay = math::ExpOp::create(
              xb, xl, loadTile(xb, xl, tile(Cumulative), r));
          return arith::SelectOp::create(xb, xl, unbroken, decay, zeroF);
        };
        Value bi = kernel.blockY;
        Value h = m.div(kernel.blockX, valueTiles);
        Value j0 = m.mul(m.rem(kernel.blockX, valueTiles), m.c(BV));
        // This block's value columns j0 .. j0 + bv - 1.
        Value bv = m.min(m.c(BV), m.sub(s.valueDim, j0));
        Value gq, gk;
        std::tie(gq, gk) = s.groups(kb, kl, h);
        Value decayRate = loadF32(kb, kl, s.A, {h});
        Value thread = kernel.thread;

        // The state tile before the first token: the initial state, or
        // zeros. The final-state buffer carries it from chunk to chunk.
        forOwned(kb, kl, thread, T, m.mul(s.keyDim, bv),
                 [&](OpBuilder &eb, Location el, Value e) {
                   IndexMath em{eb, el};
                   Value i = em.div(e, bv), j = em.add(j0, em.rem(e, bv));
                   Value s0 =
                       s.initial
                           ? memref::LoadOp::create(eb, el, s.initial,
                                                    ValueRange{bi, h, i, j})
                                 .getResult()
                           : zeroF;
                   memref::StoreOp::create(eb, el, s0, s.state,
                                           ValueRange{bi, h, i, j});
                 });
        gpu::BarrierOp::create(kb, kl);

        Value chunks = ceilDiv(kb, kl, s.length, m.c(C));
        // The inter-chunk loop: chunk after chunk, the state carried.
        scf::ForOp::create(
            kb, kl, zero, chunks, one, ValueRange{},
            [&](OpBuilder &cb, Location cl, Value c, ValueRange) {
              IndexMath cm{cb, cl};
              Value t0 = cm.mul(c, cm.c(C));
              // The chunk's tokens: n = min(C, L - t0).
              Value n = cm.min(cm.c(C), cm.sub(s.length, t0));

              // 1. Token scalars and the value tile.
              forOwned(cb, cl, thread, T, n,
                       [&](OpBuilder &eb, Location el, Value r) {
                         Value delta, beta;
                         std::tie(delta, beta) = s.tokenScalars(
                             eb, el, bi, IndexMath{eb, el}.add(t0, r), h);
                         storeTile(
                             eb, el,
                             arith::MulFOp::create(eb, el, delta, decayRate),
                             tile(LogDecay), r);
                         storeTile(eb, el, beta ? beta : oneF, tile(Beta), r);
                       });
              forOwned(cb, cl, thread, T, cm.mul(n, bv),
                       [&](OpBuilder &eb, Location el, Value e) {
                         IndexMath em{eb, el};
                         Value r = em.div(e, bv), jj = em.rem(e, bv);
                         Value value = s.inputValue(
                             eb, el, {bi, em.add(t0, r), h, em.add(j0, jj)});
                         storeTile(eb, el, value, tile(Vs), em.at(r, BV, jj));
                       });
              gpu::BarrierOp::create(cb, cl);

              // 2. G_r = Σ_{τ≤r} δ_τ·A[h], restarted after each zero
              //    decay (a log decay of -inf, as retention's first token
              //    at position 0 has: c_{-1} = 0), whose segment — the
              //    zero decay's index + 1, 0 for none, exact in f32 —
              //    goes along; the accumulators cleared.
              forOwned(
                  cb, cl, thread, T, n,
                  [&](OpBuilder &eb, Location el, Value r) {
                    auto prefix = scf::ForOp::create(
                        eb, el, zero, IndexMath{eb, el}.add(r, one), one,
                        ValueRange{zeroF, zeroF},
                        [&](OpBuilder &lb, Location ll, Value tau,
                            ValueRange acc) {
                          Value logDecay =
                              loadTile(lb, ll, tile(LogDecay), tau);
                          Value isZeroDecay = arith::CmpFOp::create(
                              lb, ll, arith::CmpFPredicate::OEQ, logDecay,
                              minusInfinity);
                          Value sum =
                              arith::AddFOp::create(lb, ll, acc[0], logDecay);
                          Value start = arith::UIToFPOp::create(
                              lb, ll, lb.getF32Type(),
                              arith::IndexCastUIOp::create(
                                  lb, ll, lb.getI32Type(),
                                  IndexMath{lb, ll}.add(tau, one)));
                          scf::YieldOp::create(
                              lb, ll,
                              ValueRange{
                                  arith::SelectOp::create(lb, ll, isZeroDecay,
                                                          zeroF, sum),
                                  arith::SelectOp::create(lb, ll, isZeroDecay,
                                                          start, acc[1])});
                        });
                    storeTile(eb, el, prefix.getResult(0), tile(Cumulative), r);
                    storeTile(eb, el, prefix.getResult(1), tile(Segment), r);
                  });
              forOwned(cb, cl, thread, T, cm.mul(n, m.c(C)),
                       [&](OpBuilder &eb, Location el, Value e) {
                         storeTile(eb, el, zeroF, tile(Scores), e);
                       });
              forOwned(cb, cl, thread, T, cm.mul(n, m.c(BV)),
                       [&](OpBuilder &eb, Location el, Value e) {
                         storeTile(eb, el, zeroF, tile(Out), e);
                       });
              gpu::BarrierOp::create(cb, cl);

              // Loads the chunk's rows of q or k, keys k0 .. k0 + kb - 1,
              // into a [C × BK] tile.
              auto loadRows = [&](OpBuilder &ob, Location ol, Value source,
                                  Value group, Value k0, Value kbSize,
                                  Value into) {
                IndexMath om{ob, ol};
                forOwned(ob, ol, thread, T, om.mul(n, kbSize),
                         [&](OpBuilder &eb, Location el, Value e) {
                           IndexMath em{eb, el};
                           Value r = em.div(e, kbSize), kk = em.rem(e, kbSize);
                           Value x = loadF32(
                               eb, el, source,
                               {bi, em.add(t0, r), group, em.add(k0, kk)});
                           storeTile(eb, el, x, into, em.at(r, RS, kk));
                         });
              };

              // 3. The key-block loop: scores P += Q Kᵀ (s ≤ r) and the
              //    inter-chunk readout O += Q S, BK keys at a time.
              scf::ForOp::create(
                  cb, cl, zero, s.keyDim, cm.c(BK), ValueRange{},
                  [&](OpBuilder &ib, Location il, Value k0, ValueRange) {
                    IndexMath im{ib, il};
                    Value kbSize = im.min(im.c(BK), im.sub(s.keyDim, k0));
                    loadRows(ib, il, s.q, gq, k0, kbSize, tile(Qs));
                    loadRows(ib, il, s.k, gk, k0, kbSize, tile(Ks));
                    forOwned(ib, il, thread, T, im.mul(kbSize, bv),
                             [&](OpBuilder &eb, Location el, Value e) {
                               IndexMath em{eb, el};
                               Value kk = em.div(e, bv), jj = em.rem(e, bv);
                               Value x = memref::LoadOp::create(
                                   eb, el, s.state,
                                   ValueRange{bi, h, em.add(k0, kk),
                                              em.add(j0, jj)});
                               storeTile(eb, el, x, tile(Ss),
                                         em.at(kk, BV, jj));
                             });
                    gpu::BarrierOp::create(ib, il);
                    forOwned(ib, il, thread, T, im.mul(n, n),
                             [&](OpBuilder &eb, Location el, Value e) {
                               IndexMath em{eb, el};
                               Value r = em.div(e, n), sIdx = em.rem(e, n);
                               Value causal = arith::CmpIOp::create(
                                   eb, el, arith::CmpIPredicate::ule, sIdx, r);
                               auto lower =
                                   scf::IfOp::create(eb, el, causal, false);
                               OpBuilder lb = lower.getThenBodyBuilder();
                               IndexMath lm{lb, el};
                               Value at = lm.at(r, C, sIdx);
                               Value score = tileDot(
                                   lb, el, zero, kbSize,
                                   loadTile(lb, el, tile(Scores), at), tile(Qs),
                                   [&](IndexMath &xm, Value kk) {
                                     return xm.at(r, RS, kk);
                                   },
                                   tile(Ks), [&](IndexMath &xm, Value kk) {
                                     return xm.at(sIdx, RS, kk);
                                   });
                               storeTile(lb, el, score, tile(Scores), at);
                             });
                    forOwned(ib, il, thread, T, im.mul(n, bv),
                             [&](OpBuilder &eb, Location el, Value e) {
                               IndexMath em{eb, el};
                               Value r = em.div(e, bv), jj = em.rem(e, bv);
                               Value at = em.at(r, BV, jj);
                               Value out = tileDot(
                                   eb, el, zero, kbSize,
                                   loadTile(eb, el, tile(Out), at), tile(Qs),
                                   [&](IndexMath &xm, Value kk) {
                                     return xm.at(r, RS, kk);
                                   },
                                   tile(Ss), [&](IndexMath &xm, Value kk) {
                                     return xm.at(kk, BV, jj);
                                   });
                               storeTile(eb, el, out, tile(Out), at);
                             });
                    // The tiles are reloaded by the next key block.
                    gpu::BarrierOp::create(ib, il);
                    scf::YieldOp::create(ib, il);
                  });

              // 4. The decay mask D[r, s] = exp(G_r - G_s)·β_s on the
              //    scores (s ≤ r; the rest stayed zero), and the state
              //    update's per-token weights exp(G_{n-1} - G_s)·β_s, in
              //    place of the log decays (no longer read).
              Value lastToken = cm.sub(n, one);
              forOwned(cb, cl, thread, T, cm.mul(n, n),
                       [&](OpBuilder &eb, Location el, Value e) {
                         IndexMath em{eb, el};
                         Value r = em.div(e, n), sIdx = em.rem(e, n);
                         Value causal = arith::CmpIOp::create(
                             eb, el, arith::CmpIPredicate::ule, sIdx, r);
                         auto lower = scf::IfOp::create(eb, el, causal, false);
                         OpBuilder lb = lower.getThenBodyBuilder();
                         Value at = IndexMath{lb, el}.at(r, C, sIdx);
                         Value mask = arith::MulFOp::create(
                             lb, el, decayBetween(lb, el, r, sIdx),
                             loadTile(lb, el, tile(Beta), sIdx));
                         storeTile(lb, el,
                                   arith::MulFOp::create(
                                       lb, el,
                                       loadTile(lb, el, tile(Scores), at),
                                       mask),
                                   tile(Scores), at);
                       });
              forOwned(cb, cl, thread, T, n,
                       [&](OpBuilder &eb, Location el, Value sIdx) {
                         Value decay = decayBetween(eb, el, lastToken, sIdx);
                         storeTile(eb, el,
                                   arith::MulFOp::create(
                                       eb, el, decay,
                                       loadTile(eb, el, tile(Beta), sIdx)),
                                   tile(LogDecay), sIdx);
                       });
              gpu::BarrierOp::create(cb, cl);

              // 5. y_r = exp(G_r)·(Q S)[r] + Σ_{s≤r} (P ⊙ D)[r, s]·V[s],
              //    then the epilogue.
              forOwned(
                  cb, cl, thread, T, cm.mul(n, bv),
                  [&](OpBuilder &eb, Location el, Value e) {
                    IndexMath em{eb, el};
                    Value r = em.div(e, bv), jj = em.rem(e, bv);
                    Value inter = arith::MulFOp::create(
                        eb, el, loadTile(eb, el, tile(Out), em.at(r, BV, jj)),
                        decayFromStart(eb, el, r));
                    Value acc = tileDot(
                        eb, el, zero, em.add(r, one), inter, tile(Scores),
                        [&](IndexMath &xm, Value sIdx) {
                          return xm.at(r, C, sIdx);
                        },
                        tile(Vs), [&](IndexMath &xm, Value sIdx) {
                          return xm.at(sIdx, BV, jj);
                        });
                    SmallVector<Value> at{bi, em.add(t0, r), h, em.add(j0, jj)};
                    Value value = loadTile(eb, el, tile(Vs), em.at(r, BV, jj));
                    s.storeY(eb, el, epilogue(eb, el, acc, value, at), at);
                  });

              // 6. S' = exp(G_{n-1})·S + K_cᵀ (w ⊙ V_c), key block by key
              //    block; each state element is read and written by the
              //    thread that owns it.
              Value chunkDecay = decayFromStart(cb, cl, lastToken);
              scf::ForOp::create(
                  cb, cl, zero, s.keyDim, cm.c(BK), ValueRange{},
                  [&](OpBuilder &ib, Location il, Value k0, ValueRange) {
                    IndexMath im{ib, il};
                    Value kbSize = im.min(im.c(BK), im.sub(s.keyDim, k0));
                    loadRows(ib, il, s.k, gk, k0, kbSize, tile(Ks));
                    gpu::BarrierOp::create(ib, il);
                    forOwned(ib, il, thread, T, im.mul(kbSize, bv),
                             [&](OpBuilder &eb, Location el, Value e) {
                               IndexMath em{eb, el};
                               Value kk = em.div(e, bv), jj = em.rem(e, bv);
                               SmallVector<Value> at{bi, h, em.add(k0, kk),
                                                     em.add(j0, jj)};
                               Value carried = arith::MulFOp::create(
                                   eb, el, chunkDecay,
                                   memref::LoadOp::create(eb, el, s.state, at));
                               Value next = sumOver(
                                   eb, el, zero, n, carried,
                                   [&](OpBuilder &xb, Location xl, Value sIdx,
                                       Value acc) {
                                     IndexMath xm{xb, xl};
                                     Value weighted = arith::MulFOp::create(
                                         xb, xl,
                                         loadTile(xb, xl, tile(LogDecay), sIdx),
                                         loadTile(xb, xl, tile(Vs),
                                                  xm.at(sIdx, BV, jj)));
                                     return math::FmaOp::create(
                                         xb, xl,
                                         loadTile(xb, xl, tile(Ks),
                                                  xm.at(sIdx, RS, kk)),
                                         weighted, acc);
                                   });
                               memref::StoreOp::create(eb, el, next, s.state,
                                                       at);
                             });
                    // K_c is reloaded by the next key block, and the next
                    // chunk overwrites every tile.
                    gpu::BarrierOp::create(ib, il);
                    scf::YieldOp::create(ib, il);
                  });
              scf::YieldOp::create(cb, cl);
            });
      });
}
