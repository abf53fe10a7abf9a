//===- RecurrentKernel.cpp - the recurrent step kernel --------------------===//
//
// The recurrent schedule (decode: one token per sequence). A block is 32
// state columns, one per lane, times W = recurrent-block-size / 32 warps
// that split the key index: warp w updates keys w, w + W, ... of its lane's
// column S[b, h, :, j] (from the initial state for the first token), and the
// warps' partial readouts q·S meet in shared memory, where warp 0 adds them,
// applies the epilogue and stores y.
//
// Why split the keys: one thread per column leaves a retention state of
// [H, dk, dv] = [4, 128, 512] (DenseRetNet-350M) to 2048 threads, 8 blocks
// on 8 of an H200's 132 SMs, each thread walking 128 keys in turn — and
// a folded rotary of q and k (step 3a) computed in each of those 128
// iterations. Split 8 ways, the same state is 64 blocks of 16 keys each.
//
// The columns of a block:
//   * retention (V not statically 1): 32 consecutive value indices j of
//     one (b, h), the grid (B·H, ceil(V / 32)). Every thread of the block
//     then reads the same q_t and k_t, so with a static K of at most
//     kRecurrentMaxStagedKeys the block first stages them in shared
//     memory, each element loaded (and its folded producers computed) once
//     per block instead of once per column;
//   * Mamba (V = 1): 32 consecutive (b, channel) columns, as the channels'
//     Δ, x, the gate and y lie in memory, the grid ceil(B·H / 32).
// Lanes past the last column compute on a clamped column (valid memory,
// reached barriers) and store nothing.
//
// A thread's keys go in passes (kRecurrentKeysInFlight): a pass loads the
// state, decay and q/k of all its keys before it computes one, so that a
// thread's 16 loads of DenseRetNet-350M's state are one memory round trip,
// not 16 (the loads cannot move past the stores of the key before).
//
//===----------------------------------------------------------------------===//

#include "ScanGPU.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#include <algorithm>

using namespace mlir;
using namespace mlir::densessm;
using namespace mlir::densessm::gpu_scan;

namespace {

/// The column a lane computes on and where it belongs.
struct RecurrentColumn {
  Value bi, h, j;   // the (clamped) column's batch, head and value index
  Value inRange;    // whether the lane's column exists: it stores
};

} // namespace

void ScanKernels::emitRecurrent(OpBuilder &b, Location loc) const {
  const ScanLowering &s = scan;
  std::optional<int64_t> staticValues = getConstantIntValue(s.valueDim);
  std::optional<int64_t> staticKeys = getConstantIntValue(s.keyDim);
  const bool headTiles = staticValues != 1;
  const int64_t warps =
      staticKeys ? std::clamp<int64_t>(*staticKeys, 1,
                                       recurrentBlockSize / kWarpSize)
                 : recurrentBlockSize / kWarpSize;
  const bool stageQK =
      headTiles && staticKeys && *staticKeys <= kRecurrentMaxStagedKeys;
  const int64_t threads = warps * kWarpSize;
  // Keys per pass of the key loop (kRecurrentKeysInFlight), and whether
  // every key of every pass exists: K a multiple of W, each warp's K / W
  // keys a multiple of the pass.
  const int64_t keysInFlight =
      staticKeys ? std::clamp<int64_t>(llvm::divideCeil(*staticKeys, warps),
                                       1, kRecurrentKeysInFlight)
                 : kRecurrentDynamicKeysInFlight;
  const bool everyKeyExists = staticKeys && *staticKeys % warps == 0 &&
                              (*staticKeys / warps) % keysInFlight == 0;

  // Shared memory: the warps' partial readouts (when there are several),
  // then the staged q_t and k_t.
  SmallVector<int64_t> workgroupSizes;
  if (warps > 1)
    workgroupSizes.push_back(warps * kWarpSize);
  if (stageQK) {
    workgroupSizes.push_back(*staticKeys);
    workgroupSizes.push_back(*staticKeys);
  }

  Value warpSize = index(b, loc, kWarpSize);
  Value bh = arith::MulIOp::create(b, loc, batch, heads);
  // B·H along x, whose grid size has no 65535 limit.
  Value gridX = headTiles ? bh : ceilDiv(b, loc, bh, warpSize);
  Value gridY =
      headTiles ? ceilDiv(b, loc, s.valueDim, warpSize) : index(b, loc, 1);
  launch(
      b, loc, gridX, gridY, threads, workgroupSizes,
      [&](OpBuilder &kb, Location kl, const KernelContext &kernel) {
        Value partials = warps > 1 ? kernel.workgroup[0] : Value();
        Value stagedQ = stageQK ? kernel.workgroup[warps > 1 ? 1 : 0] : Value();
        Value stagedK = stageQK ? kernel.workgroup[warps > 1 ? 2 : 1] : Value();

        // This lane's column, clamped into range for its loads.
        Value first = arith::MulIOp::create(
            kb, kl, headTiles ? kernel.blockY : kernel.blockX, warpSize);
        Value lastColumn =
            arith::SubIOp::create(kb, kl, headTiles ? s.valueDim : bh,
                                  index(kb, kl, 1));
        Value column = arith::AddIOp::create(kb, kl, first, kernel.lane);
        RecurrentColumn c;
        c.inRange = arith::CmpIOp::create(kb, kl, arith::CmpIPredicate::ule,
                                          column, lastColumn);
        Value clamped = arith::MinUIOp::create(kb, kl, column, lastColumn);
        Value tileRow = headTiles ? kernel.blockX : clamped;
        c.j = headTiles ? clamped : index(kb, kl, 0);
        c.h = arith::RemUIOp::create(kb, kl, tileRow, heads);
        c.bi = arith::DivUIOp::create(kb, kl, tileRow, heads);
        Value gq, gk;
        std::tie(gq, gk) = s.groups(kb, kl, c.h);
        Value zeroF = ScanLowering::f32(kb, kl, 0.0f);
        Value warpCount = index(kb, kl, warps);
        auto forMyKeys =
            [&](OpBuilder &fb, Location fl,
                llvm::function_ref<void(OpBuilder &, Location, Value)> body) {
              forStrided(fb, fl, kernel.warp, s.keyDim, warpCount, body);
            };
        auto storeIfInRange = [&](OpBuilder &sb, Location sl, Value value,
                                  Value buffer, ValueRange indices) {
          storeIf(sb, sl, c.inRange, value, buffer, indices);
        };

        // The state entering token t at key index i: the initial state
        // (or zeros) for the first token, the column written by the
        // previous token after it.
        auto initialAt = [&](OpBuilder &ib, Location il, Value i) -> Value {
          if (!s.initial)
            return zeroF;
          return memref::LoadOp::create(ib, il, s.initial,
                                        ValueRange{c.bi, c.h, i, c.j});
        };
        auto stateAt = [&](OpBuilder &ib, Location il, Value i) -> Value {
          return memref::LoadOp::create(ib, il, s.state,
                                        ValueRange{c.bi, c.h, i, c.j});
        };
        // q_t[i] and k_t[i]: from shared memory once staged.
        auto query = [&](OpBuilder &ib, Location il, Value t, Value i) {
          return stageQK ? memref::LoadOp::create(ib, il, stagedQ, i)
                               .getResult()
                         : loadF32(ib, il, s.q, {c.bi, t, gq, i});
        };
        auto key = [&](OpBuilder &ib, Location il, Value t, Value i) {
          return stageQK ? memref::LoadOp::create(ib, il, stagedK, i)
                               .getResult()
                         : loadF32(ib, il, s.k, {c.bi, t, gk, i});
        };

        // One token: S_t[:, j] = a ⊙ S_{t-1}[:, j] + β k_t v_t[j] over this
        // warp's keys, and y_t[j] = q_t · S_t[:, j] from every warp's part.
        auto step = [&](OpBuilder &sb, Location sl, Value t,
                        llvm::function_ref<Value(OpBuilder &, Location, Value)>
                            previous) {
          if (stageQK) {
            forStrided(sb, sl, kernel.thread, s.keyDim,
                       index(sb, sl, threads),
                       [&](OpBuilder &ib, Location il, Value i) {
                         memref::StoreOp::create(
                             ib, il, loadF32(ib, il, s.q, {c.bi, t, gq, i}),
                             stagedQ, i);
                         memref::StoreOp::create(
                             ib, il, loadF32(ib, il, s.k, {c.bi, t, gk, i}),
                             stagedK, i);
                       });
            gpu::BarrierOp::create(sb, sl);
          }
          Value delta, beta;
          std::tie(delta, beta) = s.tokenScalars(sb, sl, c.bi, t, c.h);
          SmallVector<Value> at{c.bi, t, c.h, c.j};
          Value value = s.inputValue(sb, sl, at);
          Value input =
              beta ? arith::MulFOp::create(sb, sl, beta, value).getResult()
                   : value;
          Value headDecay =
              s.elementwiseDecay ? Value() : s.decay(sb, sl, delta, c.h, {});
          // A pass of the key loop takes `keysInFlight` of this warp's
          // keys, i, i + W, ...: it loads all their operands, then
          // computes, stores and adds each. The pass's first key exists
          // (the loop's condition); a later one past K is computed on the
          // last key, neither stored nor added.
          Value lastKey =
              everyKeyExists
                  ? Value()
                  : arith::SubIOp::create(sb, sl, s.keyDim, index(sb, sl, 1));
          auto keys = scf::ForOp::create(
              sb, sl, kernel.warp, s.keyDim,
              index(sb, sl, warps * keysInFlight), ValueRange{zeroF},
              [&](OpBuilder &ib, Location il, Value firstKey, ValueRange acc) {
                struct KeyOperands {
                  Value i, exists, previous, decay, key, query;
                };
                SmallVector<KeyOperands> pass;
                for (int64_t u = 0; u < keysInFlight; ++u) {
                  KeyOperands k;
                  k.i = u == 0 ? firstKey
                               : arith::AddIOp::create(
                                     ib, il, firstKey,
                                     index(ib, il, u * warps))
                                     .getResult();
                  if (u > 0 && !everyKeyExists) {
                    k.exists = arith::CmpIOp::create(
                        ib, il, arith::CmpIPredicate::ult, k.i, s.keyDim);
                    k.i = arith::MinUIOp::create(ib, il, k.i, lastKey);
                  }
                  k.previous = previous(ib, il, k.i);
                  k.decay =
                      headDecay ? headDecay : s.decay(ib, il, delta, c.h, k.i);
                  k.key = key(ib, il, t, k.i);
                  k.query = query(ib, il, t, k.i);
                  pass.push_back(k);
                }
                Value readout = acc[0];
                for (const KeyOperands &k : pass) {
                  Value next = math::FmaOp::create(
                      ib, il, k.decay, k.previous,
                      arith::MulFOp::create(ib, il, k.key, input));
                  Value stores =
                      k.exists ? arith::AndIOp::create(ib, il, c.inRange,
                                                       k.exists)
                                     .getResult()
                               : c.inRange;
                  storeIf(ib, il, stores, next, s.state,
                          ValueRange{c.bi, c.h, k.i, c.j});
                  Value added =
                      math::FmaOp::create(ib, il, k.query, next, readout);
                  readout = k.exists ? arith::SelectOp::create(
                                           ib, il, k.exists, added, readout)
                                           .getResult()
                                     : added;
                }
                scf::YieldOp::create(ib, il, ValueRange{readout});
              });
          Value readout = keys.getResult(0);
          Value reads = c.inRange;
          if (warps > 1) {
            Value slot = arith::AddIOp::create(
                sb, sl, arith::MulIOp::create(sb, sl, kernel.warp, warpSize),
                kernel.lane);
            memref::StoreOp::create(sb, sl, readout, partials, slot);
            gpu::BarrierOp::create(sb, sl);
            reads = arith::AndIOp::create(
                sb, sl, reads,
                arith::CmpIOp::create(sb, sl, arith::CmpIPredicate::eq,
                                      kernel.warp, index(sb, sl, 0)));
          }
          auto readsOut =
              scf::IfOp::create(sb, sl, reads, /*withElseRegion=*/false);
          OpBuilder rb = readsOut.getThenBodyBuilder();
          if (warps > 1) {
            auto sum = scf::ForOp::create(
                rb, sl, index(rb, sl, 0), warpCount, index(rb, sl, 1),
                ValueRange{zeroF},
                [&](OpBuilder &ib, Location il, Value w, ValueRange acc) {
                  Value part = memref::LoadOp::create(
                      ib, il, partials,
                      ValueRange{arith::AddIOp::create(
                          ib, il, arith::MulIOp::create(ib, il, w, warpSize),
                          kernel.lane)});
                  scf::YieldOp::create(
                      ib, il,
                      ValueRange{arith::AddFOp::create(ib, il, acc[0], part)});
                });
            readout = sum.getResult(0);
          }
          s.storeY(rb, sl, epilogue(rb, sl, readout, value, at), at);
        };

        // The first token reads the initial state; the others (none in a
        // recurrent function) read the column the previous one wrote. A
        // token must not overwrite the staged q and k, or the partials,
        // before every thread is done with the previous token's: with both
        // (several warps, staged), the partials' barrier orders the one and
        // the staging barrier the other; with one of them, a barrier
        // between tokens does. A scan of unknown length may have no token:
        // its final state is then the initial state.
        const bool barrierBetweenTokens = stageQK ? warps == 1 : warps > 1;
        std::optional<int64_t> staticLength = getConstantIntValue(s.length);
        auto allTokens = [&](OpBuilder &ab, Location al) {
          step(ab, al, index(ab, al, 0), initialAt);
          if (staticLength == 1)
            return;
          forStrided(ab, al, index(ab, al, 1), s.length, index(ab, al, 1),
                     [&](OpBuilder &lb, Location ll, Value t) {
                       if (barrierBetweenTokens)
                         gpu::BarrierOp::create(lb, ll);
                       step(lb, ll, t, stateAt);
                     });
        };
        if (staticLength && *staticLength >= 1) {
          allTokens(kb, kl);
          return;
        }
        Value any = arith::CmpIOp::create(kb, kl, arith::CmpIPredicate::ugt,
                                          s.length, index(kb, kl, 0));
        scf::IfOp::create(
            kb, kl, any,
            [&](OpBuilder &ab, Location al) {
              allTokens(ab, al);
              scf::YieldOp::create(ab, al);
            },
            [&](OpBuilder &eb, Location el) {
              forMyKeys(eb, el, [&](OpBuilder &ib, Location il, Value i) {
                storeIfInRange(ib, il, initialAt(ib, il, i), s.state,
                               ValueRange{c.bi, c.h, i, c.j});
              });
              scf::YieldOp::create(eb, el);
            });
      });
}
