//===- ChannelBlockLoops.cpp - Mamba-1 channel blocks in registers --------===//
//
// The scan of Mamba-1's form (value size 1, a static state size N, one group
// of B and C): 16 channels advance together, each of the N state columns a
// vector<16xf32> over channels carried in registers across time.
//
// A few blocks go together, chunk of tokens by chunk. Consecutive tokens of
// one block are a row (H·4 bytes, 6 KiB at Mamba-130M's width) apart, so
// each token of a block reads a new page of every operand: the hardware
// prefetchers, which stay within a page, fetch nothing, and every row is a
// TLB miss. Walking a group of blocks over the same chunk of rows shares
// those TLB entries, and each block prefetches its own rows one chunk ahead.
// The group's states wait in a small stack buffer between chunks. At
// L = 2048, D = 1536, N = 16 on the 2-core CI machine: 20.0 ms → 11.2 ms.
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

void ScanLowering::emitChannelBlocks(OpBuilder &b, Location loc, Value bi,
                                     Value h0, Value blocks, int64_t K,
                                     int64_t W,
                                     const ChannelViews &views) const {
  auto f32Type = b.getF32Type();
  auto vec = VectorType::get({W}, f32Type);
  auto index = [&](OpBuilder &cb, Location cl, int64_t i) -> Value {
    return arith::ConstantIndexOp::create(cb, cl, i);
  };
  Value zero = index(b, loc, 0);
  Value one = index(b, loc, 1);
  auto firstChannel = [&](OpBuilder &cb, Location cl, Value block) -> Value {
    return arith::AddIOp::create(
        cb, cl, h0, arith::MulIOp::create(cb, cl, block, index(cb, cl, W)));
  };

  auto scope = memref::AllocaScopeOp::create(b, loc, TypeRange{});
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&scope.getBodyRegion().emplaceBlock());
  // [block, key, channel]: each block's decay rates in base 2 (A·log2 e, so
  // the decay is exp2Polynomial(δ·rate)) and its state between chunks.
  auto groupType = MemRefType::get({kChannelBlockGroup, K, W}, f32Type);
  Value rates = memref::AllocaOp::create(b, loc, groupType);
  Value states = memref::AllocaOp::create(b, loc, groupType);
  // Every (block, key, channel) of the group, element by element (once per
  // scan, so their cost does not matter).
  auto forEachElement = [&](llvm::function_ref<void(OpBuilder &, Location,
                                                     Value, Value, Value, Value)>
                                body) {
    forRange(b, loc, blocks, [&](OpBuilder &jb, Location jl, Value j) {
      Value hj = firstChannel(jb, jl, j);
      forRange(jb, jl, index(jb, jl, K), [&](OpBuilder &nb, Location nl,
                                             Value n) {
        forRange(nb, nl, index(nb, nl, W),
                 [&](OpBuilder &cb, Location cl, Value c) {
                   body(cb, cl, j, n, c, arith::AddIOp::create(cb, cl, hj, c));
                 });
      });
    });
  };
  forEachElement([&](OpBuilder &eb, Location el, Value j, Value n, Value c,
                     Value hc) {
    Value rate = elementwiseDecay
                     ? memref::LoadOp::create(eb, el, A, ValueRange{hc, n})
                     : memref::LoadOp::create(eb, el, A, ValueRange{hc});
    rate = arith::MulFOp::create(eb, el, rate,
                                 f32(eb, el, 1.4426950408889634f));
    Value start =
        initial
            ? memref::LoadOp::create(eb, el, initial, ValueRange{bi, hc, n, zero})
            : f32(eb, el, 0.0f);
    memref::StoreOp::create(eb, el, rate, rates, ValueRange{j, n, c});
    memref::StoreOp::create(eb, el, start, states, ValueRange{j, n, c});
  });

  Value chunk = index(b, loc, kChannelBlockChunk);
  Value last = arith::SubIOp::create(b, loc, length, one);
  scf::ForOp::create(
      b, loc, zero, length, chunk, ValueRange{},
      [&](OpBuilder &cb, Location cl, Value t0, ValueRange) {
        Value t1 = arith::MinSIOp::create(
            cb, cl, arith::AddIOp::create(cb, cl, t0, chunk), length);
        forRange(cb, cl, blocks, [&](OpBuilder &gb, Location gl, Value j) {
          Value hj = firstChannel(gb, gl, j);
          // The block's loop-invariant operands, read once per chunk.
          ChannelBlockInvariants invariants;
          SmallVector<Value> columns;
          for (int64_t n = 0; n < K; ++n) {
            Value at[] = {j, index(gb, gl, n), zero};
            invariants.rates.push_back(
                vector::LoadOp::create(gb, gl, vec, rates, at));
            columns.push_back(vector::LoadOp::create(gb, gl, vec, states, at));
          }
          if (dtBias)
            invariants.biases = readVector(gb, gl, dtBias, {hj}, vec);
          if (skip)
            invariants.skips = readVector(gb, gl, skip, {hj}, vec);
          auto loop = scf::ForOp::create(
              gb, gl, t0, t1, one, columns,
              [&](OpBuilder &tb, Location tl, Value t, ValueRange carried) {
                // The same block's row one chunk ahead, which no hardware
                // prefetcher fetches (each row is on another page).
                Value ahead = arith::MinSIOp::create(
                    tb, tl, arith::AddIOp::create(tb, tl, t, chunk), last);
                for (Value buffer : {dt, views.v, scale, views.gate, views.y})
                  if (buffer)
                    memref::PrefetchOp::create(
                        tb, tl, buffer, ValueRange{bi, ahead, hj},
                        /*isWrite=*/buffer == views.y, /*localityHint=*/3,
                        /*isDataCache=*/true);
                scf::YieldOp::create(tb, tl,
                                     channelBlockStep(tb, tl, bi, t, hj, K, W,
                                                      views, invariants,
                                                      carried));
              });
          for (int64_t n = 0; n < K; ++n)
            vector::StoreOp::create(gb, gl, loop.getResult(n), states,
                                    ValueRange{j, index(gb, gl, n), zero});
        });
        scf::YieldOp::create(cb, cl);
      });

  forEachElement([&](OpBuilder &eb, Location el, Value j, Value n, Value c,
                     Value hc) {
    Value value = memref::LoadOp::create(eb, el, states, ValueRange{j, n, c});
    memref::StoreOp::create(eb, el, value, state, ValueRange{bi, hc, n, zero});
  });
  memref::AllocaScopeReturnOp::create(b, loc, ValueRange{});
}

SmallVector<Value> ScanLowering::channelBlockStep(
    OpBuilder &b, Location loc, Value bi, Value t, Value h0, int64_t K,
    int64_t W, const ChannelViews &views,
    const ChannelBlockInvariants &invariants, ValueRange carried) const {
  auto vec = VectorType::get({W}, b.getF32Type());
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value delta = readVector(b, loc, dt, {bi, t, h0}, vec);
  if (invariants.biases)
    delta = arith::AddFOp::create(b, loc, delta, invariants.biases);
  if (softplusOn)
    delta = softplus(b, loc, delta);
  Value values = readVector(b, loc, views.v, {bi, t, h0}, vec);
  Value input = values;
  if (scale)
    input = arith::MulFOp::create(b, loc, input,
                                  readVector(b, loc, scale, {bi, t, h0}, vec));
  if (scalesInput)
    input = arith::MulFOp::create(b, loc, input, delta);
  Value keys = readVector(b, loc, k, {bi, t, zero, zero},
                          VectorType::get({K}, b.getF32Type()));
  Value queries = readVector(b, loc, q, {bi, t, zero, zero},
                             VectorType::get({K}, b.getF32Type()));
  Value out =
      arith::ConstantOp::create(b, loc, vec, DenseElementsAttr::get(vec, 0.0f));
  SmallVector<Value> next;
  for (int64_t n = 0; n < K; ++n) {
    Value a = exp2Polynomial(b, loc,
                             arith::MulFOp::create(b, loc, delta,
                                                   invariants.rates[n]));
    Value key = vector::BroadcastOp::create(
        b, loc, vec, vector::ExtractOp::create(b, loc, keys, n));
    Value s = math::FmaOp::create(b, loc, a, carried[n],
                                  arith::MulFOp::create(b, loc, key, input));
    Value query = vector::BroadcastOp::create(
        b, loc, vec, vector::ExtractOp::create(b, loc, queries, n));
    out = math::FmaOp::create(b, loc, query, s, out);
    next.push_back(s);
  }
  if (invariants.skips)
    out = math::FmaOp::create(b, loc, invariants.skips, values, out);
  if (views.gate)
    out = arith::MulFOp::create(
        b, loc, out,
        silu(b, loc, readVector(b, loc, views.gate, {bi, t, h0}, vec)));
  if (yElement != b.getF32Type())
    out = arith::TruncFOp::create(b, loc, VectorType::get({W}, yElement), out);
  writeVector(b, loc, out, views.y, {bi, t, h0});
  return next;
}
