//===- ValueChunkLoops.cpp - retention in value chunks --------------------===//
//
// The scan with a static value size (retention). The state of one (b, h)
// pair, [K, V] f32, is 590 KB at DenseRetNet-350M's head shape (K = 192,
// V = 768): every token reads and writes all of it, and at one token per
// pass the loop nest waits on that traffic, not on its arithmetic (perf: the
// state loads and stores took ~90% of the samples, at 0.6x the speed of a
// naive scalar loop).
//
// So each pass over the state advances a block of kTokensPerPass tokens:
// per key row, the loaded chunk of the row goes through the recurrence of
// every token of the block before it is stored back, which divides the
// state traffic by the block size. The outputs of the block's tokens stay in
// registers across the key loop, kVectorsPerChunk vectors per token, so a
// chunk of a row is several contiguous vectors (128 bytes at W = 16). Each
// state element still sees exactly the sequential order of operations
// (S_t = a_t S_{t-1} + k_t v_t, y_t += q_t S_t, token after token), so the
// numerics are those of the one-token loop. The tokens that do not fill a
// block run one at a time. At B = 1, H = 4, dk = 192, dv = 768 on the quiet
// 2-core machine: L = 512 45 ms -> 9.1 ms, L = 2048 184 ms -> 37.6 ms.
//
//===----------------------------------------------------------------------===//

#include "ScanLowering.h"

#include "../TensorBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::densessm;

namespace {
/// Tokens advanced per pass over the state, and W-wide vectors per token in
/// one chunk of the value axis: 4 × 2 outputs and 4 × 2 inputs in registers,
/// within AVX-512's 32 vector registers.
constexpr int64_t kTokensPerPass = 4;
constexpr int64_t kVectorsPerChunk = 2;
} // namespace

void ScanLowering::emitValueChunks(OpBuilder &b, Location loc, Value bi,
                                   Value h, Value gq, Value gk,
                                   int64_t V) const {
  int64_t W = V;
  for (int64_t width : {16, 8, 4})
    if (V % width == 0) {
      W = width;
      break;
    }
  int64_t vectors = V % (W * kVectorsPerChunk) == 0 ? kVectorsPerChunk : 1;
  auto vec = VectorType::get({W}, b.getF32Type());
  auto index = [](OpBuilder &ib, Location il, int64_t i) -> Value {
    return arith::ConstantIndexOp::create(ib, il, i);
  };
  Value zero = index(b, loc, 0);
  Value one = index(b, loc, 1);
  Value zeros =
      arith::ConstantOp::create(b, loc, vec, DenseElementsAttr::get(vec, 0.0f));
  // Value offsets j of the chunks, each `span` wide.
  auto forChunks =
      [&](OpBuilder &ob, Location ol, int64_t span,
          llvm::function_ref<void(OpBuilder &, Location, Value)> body) {
        scf::ForOp::create(
            ob, ol, zero, valueDim, index(ob, ol, span), ValueRange{},
            [&](OpBuilder &nb, Location nl, Value j, ValueRange) {
              body(nb, nl, j);
              scf::YieldOp::create(nb, nl);
            });
      };
  // The c-th vector of the chunk at j.
  auto at = [&](OpBuilder &ib, Location il, Value j, int64_t c) -> Value {
    return c ? arith::AddIOp::create(ib, il, j, index(ib, il, c * W))
                   .getResult()
             : j;
  };
  // S_{-1}: the initial state, or zeros.
  forRange(b, loc, keyDim, [&](OpBuilder &ib, Location il, Value i) {
    forChunks(ib, il, W, [&](OpBuilder &jb, Location jl, Value j) {
      Value s0 =
          initial ? readVector(jb, jl, initial, {bi, h, i, j}, vec) : zeros;
      writeVector(jb, jl, s0, state, {bi, h, i, j});
    });
  });

  // Per (b, h) pair: the staging slots of one chunk (see below).
  Value staged = memref::AllocaOp::create(
      b, loc, MemRefType::get({kTokensPerPass * vectors}, vec));

  // One pass over the state for the `n` tokens from t0.
  auto emitTokens = [&](OpBuilder &tb, Location tl, Value t0, int64_t n) {
    SmallVector<Value> tokens, deltas, betas, headDecays;
    for (int64_t u = 0; u < n; ++u) {
      Value t = u ? arith::AddIOp::create(tb, tl, t0, index(tb, tl, u))
                        .getResult()
                  : t0;
      Value dtv, beta;
      std::tie(dtv, beta) = tokenScalars(tb, tl, bi, t, h);
      tokens.push_back(t);
      deltas.push_back(dtv);
      betas.push_back(beta);
      headDecays.push_back(elementwiseDecay ? Value()
                                            : decay(tb, tl, dtv, h, Value()));
    }
    forChunks(tb, tl, W * vectors, [&](OpBuilder &cb, Location cl, Value j) {
      // Slot u * vectors + c of `staged` holds token u's vector c of the
      // chunk. The inputs (with a fused dense connection, a long
      // computation) and the epilogue are emitted once, in loops over the
      // slots, not once per slot: unrolled, they made each retention loop
      // body ~16k lines of LLVM IR, and LLVM's optimiser took several times
      // longer on a model.
      auto forSlots = [&](OpBuilder &sb, Location sl,
                          llvm::function_ref<void(OpBuilder &, Location, Value,
                                                  Value, Value)>
                              body) {
        forRange(sb, sl, index(sb, sl, n), [&](OpBuilder &ub, Location ul,
                                                Value u) {
          forRange(ub, ul, index(ub, ul, vectors), [&](OpBuilder &vb,
                                                        Location vl, Value c) {
            Value slot = arith::AddIOp::create(
                vb, vl, arith::MulIOp::create(vb, vl, u, index(vb, vl, vectors)),
                c);
            Value t = arith::AddIOp::create(vb, vl, t0, u);
            Value jc = arith::AddIOp::create(
                vb, vl, j, arith::MulIOp::create(vb, vl, c, index(vb, vl, W)));
            body(vb, vl, slot, t, jc);
          });
        });
      };
      forSlots(cb, cl, [&](OpBuilder &vb, Location vl, Value slot, Value t,
                           Value jc) {
        memref::StoreOp::create(vb, vl, inputVector(vb, vl, {bi, t, h, jc}, vec),
                                staged, slot);
      });
      // values[u * vectors + c]: token u's input at the chunk's c-th vector.
      SmallVector<Value> values;
      for (int64_t slot = 0; slot < n * vectors; ++slot)
        values.push_back(
            memref::LoadOp::create(cb, cl, staged, index(cb, cl, slot)));
      auto rows = scf::ForOp::create(
          cb, cl, zero, keyDim, one, SmallVector<Value>(n * vectors, zeros),
          [&](OpBuilder &ib, Location il, Value i, ValueRange acc) {
            SmallVector<Value> row, outputs;
            for (int64_t c = 0; c < vectors; ++c)
              row.push_back(readVector(ib, il, state,
                                       {bi, h, i, at(ib, il, j, c)}, vec));
            for (int64_t u = 0; u < n; ++u) {
              Value a = headDecays[u] ? headDecays[u]
                                      : decay(ib, il, deltas[u], h, i);
              Value key = loadF32(ib, il, k, {bi, tokens[u], gk, i});
              if (betas[u])
                key = arith::MulFOp::create(ib, il, key, betas[u]);
              Value keys = vector::BroadcastOp::create(ib, il, vec, key);
              Value decays = vector::BroadcastOp::create(ib, il, vec, a);
              Value query = vector::BroadcastOp::create(
                  ib, il, vec, loadF32(ib, il, q, {bi, tokens[u], gq, i}));
              for (int64_t c = 0; c < vectors; ++c) {
                Value update = arith::MulFOp::create(
                    ib, il, keys, values[u * vectors + c]);
                row[c] = math::FmaOp::create(ib, il, decays, row[c], update);
                outputs.push_back(math::FmaOp::create(
                    ib, il, query, row[c], acc[u * vectors + c]));
              }
            }
            for (int64_t c = 0; c < vectors; ++c)
              writeVector(ib, il, row[c], state, {bi, h, i, at(ib, il, j, c)});
            scf::YieldOp::create(ib, il, outputs);
          });
      // The outputs replace the inputs in `staged` only where skip does not
      // read them: with a D skip, out = D·v + y needs each slot's input.
      Value skips = skip ? vector::BroadcastOp::create(
                               cb, cl, vec, loadF32(cb, cl, skip, {h}))
                         : Value();
      for (int64_t slot = 0; slot < n * vectors; ++slot) {
        Value out = rows.getResult(slot);
        if (skips)
          out = math::FmaOp::create(cb, cl, skips, values[slot], out);
        memref::StoreOp::create(cb, cl, out, staged, index(cb, cl, slot));
      }
      forSlots(cb, cl, [&](OpBuilder &vb, Location vl, Value slot, Value t,
                           Value jc) {
        Value out = memref::LoadOp::create(vb, vl, staged, slot);
        if (gate)
          out = arith::MulFOp::create(
              vb, vl, out,
              silu(vb, vl, readVector(vb, vl, gate, {bi, t, h, jc}, vec)));
        if (yElement != vb.getF32Type())
          out = arith::TruncFOp::create(vb, vl,
                                        VectorType::get({W}, yElement), out);
        vector::TransferWriteOp::create(vb, vl, out, y,
                                        ValueRange{bi, t, h, jc},
                                        ArrayRef<bool>{true});
      });
    });
  };

  // Whole blocks of tokens, then the rest one by one.
  Value block = index(b, loc, kTokensPerPass);
  Value blocked = arith::SubIOp::create(
      b, loc, length, arith::RemUIOp::create(b, loc, length, block));
  scf::ForOp::create(b, loc, zero, blocked, block, ValueRange{},
                     [&](OpBuilder &tb, Location tl, Value t0, ValueRange) {
                       emitTokens(tb, tl, t0, kTokensPerPass);
                       scf::YieldOp::create(tb, tl);
                     });
  scf::ForOp::create(b, loc, blocked, length, one, ValueRange{},
                     [&](OpBuilder &tb, Location tl, Value t, ValueRange) {
                       emitTokens(tb, tl, t, 1);
                       scf::YieldOp::create(tb, tl);
                     });
}
