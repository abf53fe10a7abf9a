//===- RecurrentKernel.cpp - the recurrent step kernel --------------------===//
//
// The recurrent schedule (decode: one token per sequence): one thread per
// state column (b, h, j) — per (batch, channel) for Mamba, where V = 1 —
// with consecutive threads on consecutive value indices, then heads, so
// that the per-token operands (Δ, v, the gate, y) are read and written
// coalesced. Each thread reads its column S[b, h, :, j] (from the initial
// state for the first token), applies the step and the readout in one pass
// over the key index, and writes the new column to the final state.
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

void ScanKernels::emitRecurrent(OpBuilder &b, Location loc) const {
  const ScanLowering &s = scan;
  Value columns = arith::MulIOp::create(
      b, loc, arith::MulIOp::create(b, loc, batch, heads), s.valueDim);
  Value grid = ceilDiv(b, loc, columns, index(b, loc, recurrentBlockSize));
  launch(
      b, loc, grid, index(b, loc, 1), recurrentBlockSize, {},
      [&](OpBuilder &kb, Location kl, const KernelContext &kernel) {
        Value column = arith::AddIOp::create(
            kb, kl,
            arith::MulIOp::create(kb, kl, kernel.blockX,
                                  index(kb, kl, recurrentBlockSize)),
            kernel.thread);
        Value inRange = arith::CmpIOp::create(kb, kl, arith::CmpIPredicate::ult,
                                              column, columns);
        auto guard = scf::IfOp::create(kb, kl, inRange,
                                       /*withElseRegion=*/false);
        OpBuilder tb = guard.getThenBodyBuilder();
        Value j = arith::RemUIOp::create(tb, kl, column, s.valueDim);
        Value bh = arith::DivUIOp::create(tb, kl, column, s.valueDim);
        Value h = arith::RemUIOp::create(tb, kl, bh, heads);
        Value bi = arith::DivUIOp::create(tb, kl, bh, heads);
        Value gq, gk;
        std::tie(gq, gk) = s.groups(tb, kl, h);
        Value zeroF = ScanLowering::f32(tb, kl, 0.0f);

        // The state entering token t at key index i: the initial state
        // (or zeros) for the first token, the column written by the
        // previous token after it.
        auto initialAt = [&](OpBuilder &ib, Location il, Value i) -> Value {
          if (!s.initial)
            return zeroF;
          return memref::LoadOp::create(ib, il, s.initial,
                                        ValueRange{bi, h, i, j});
        };
        auto stateAt = [&](OpBuilder &ib, Location il, Value i) -> Value {
          return memref::LoadOp::create(ib, il, s.state,
                                        ValueRange{bi, h, i, j});
        };
        // One token: S_t[:, j] = a ⊙ S_{t-1}[:, j] + β k_t v_t[j] and
        // y_t[j] = q_t · S_t[:, j], in one loop over the key index.
        auto step = [&](OpBuilder &sb, Location sl, Value t,
                        llvm::function_ref<Value(OpBuilder &, Location, Value)>
                            previous) {
          Value delta, beta;
          std::tie(delta, beta) = s.tokenScalars(sb, sl, bi, t, h);
          SmallVector<Value> at{bi, t, h, j};
          Value value = s.inputValue(sb, sl, at);
          Value input =
              beta ? arith::MulFOp::create(sb, sl, beta, value).getResult()
                   : value;
          Value headDecay =
              s.elementwiseDecay ? Value() : s.decay(sb, sl, delta, h, {});
          auto keys = scf::ForOp::create(
              sb, sl, index(sb, sl, 0), s.keyDim, index(sb, sl, 1),
              ValueRange{zeroF},
              [&](OpBuilder &ib, Location il, Value i, ValueRange acc) {
                Value a = headDecay ? headDecay : s.decay(ib, il, delta, h, i);
                Value key = loadF32(ib, il, s.k, {bi, t, gk, i});
                Value next = math::FmaOp::create(
                    ib, il, a, previous(ib, il, i),
                    arith::MulFOp::create(ib, il, key, input));
                memref::StoreOp::create(ib, il, next, s.state,
                                        ValueRange{bi, h, i, j});
                Value query = loadF32(ib, il, s.q, {bi, t, gq, i});
                scf::YieldOp::create(ib, il,
                                     ValueRange{math::FmaOp::create(
                                         ib, il, query, next, acc[0])});
              });
          s.storeY(sb, sl, epilogue(sb, sl, keys.getResult(0), value, at), at);
        };

        // The first token reads the initial state; the others (none in a
        // recurrent function) read the column the previous one wrote. A
        // scan of unknown length may have no token: its final state is
        // then the initial state.
        std::optional<int64_t> staticLength = getConstantIntValue(s.length);
        auto allTokens = [&](OpBuilder &ab, Location al) {
          step(ab, al, index(ab, al, 0), initialAt);
          if (staticLength == 1)
            return;
          scf::ForOp::create(
              ab, al, index(ab, al, 1), s.length, index(ab, al, 1),
              ValueRange{},
              [&](OpBuilder &lb, Location ll, Value t, ValueRange) {
                step(lb, ll, t, stateAt);
                scf::YieldOp::create(lb, ll);
              });
        };
        if (staticLength && *staticLength >= 1) {
          allTokens(tb, kl);
          return;
        }
        Value any = arith::CmpIOp::create(tb, kl, arith::CmpIPredicate::ugt,
                                          s.length, index(tb, kl, 0));
        scf::IfOp::create(
            tb, kl, any,
            [&](OpBuilder &ab, Location al) {
              allTokens(ab, al);
              scf::YieldOp::create(ab, al);
            },
            [&](OpBuilder &eb, Location el) {
              forRange(
                  eb, el, s.keyDim, [&](OpBuilder &ib, Location il, Value i) {
                    memref::StoreOp::create(ib, il, initialAt(ib, il, i),
                                            s.state, ValueRange{bi, h, i, j});
                  });
              scf::YieldOp::create(eb, el);
            });
      });
}
