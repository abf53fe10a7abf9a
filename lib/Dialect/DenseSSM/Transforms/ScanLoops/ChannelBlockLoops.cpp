//===- ChannelBlockLoops.cpp - Mamba-1 channel blocks in registers --------===//
//
// The scan of Mamba-1's form (value size 1, a static state size N, one group
// of B and C): 16 channels advance together, each of the N state columns a
// vector<16xf32> over channels carried in registers across time.
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

void ScanLowering::emitChannelBlock(OpBuilder &b, Location loc, Value bi,
                                    Value h0, int64_t K, int64_t W,
                                    const ChannelViews &views) const {
  auto vec = VectorType::get({W}, b.getF32Type());
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  auto channel = [&](OpBuilder &cb, Location cl, int64_t c) {
    return arith::AddIOp::create(cb, cl, h0,
                                 arith::ConstantIndexOp::create(cb, cl, c));
  };
  auto index = [&](OpBuilder &cb, Location cl, int64_t i) -> Value {
    return arith::ConstantIndexOp::create(cb, cl, i);
  };
  // Per key: the decay rates of the W channels (loop-invariant) and the
  // initial state column, gathered element by element once.
  SmallVector<Value> rates, columns;
  for (int64_t n = 0; n < K; ++n) {
    SmallVector<Value> rate, column;
    for (int64_t c = 0; c < W; ++c) {
      Value hc = channel(b, loc, c);
      rate.push_back(
          elementwiseDecay
              ? memref::LoadOp::create(b, loc, A,
                                       ValueRange{hc, index(b, loc, n)})
                    .getResult()
              : memref::LoadOp::create(b, loc, A, ValueRange{hc}).getResult());
      column.push_back(initial ? memref::LoadOp::create(
                                     b, loc, initial,
                                     ValueRange{bi, hc, index(b, loc, n), zero})
                                     .getResult()
                               : f32(b, loc, 0.0f));
    }
    rates.push_back(vector::FromElementsOp::create(b, loc, vec, rate));
    columns.push_back(vector::FromElementsOp::create(b, loc, vec, column));
  }
  Value biases = dtBias ? readVector(b, loc, dtBias, {h0}, vec) : Value();
  Value skips = skip ? readVector(b, loc, skip, {h0}, vec) : Value();
  auto loop = scf::ForOp::create(
      b, loc, zero, length, one, columns,
      [&](OpBuilder &tb, Location tl, Value t, ValueRange carried) {
        Value delta = readVector(tb, tl, dt, {bi, t, h0}, vec);
        if (biases)
          delta = arith::AddFOp::create(tb, tl, delta, biases);
        if (softplusOn)
          delta = softplus(tb, tl, delta);
        Value values = readVector(tb, tl, views.v, {bi, t, h0}, vec);
        Value input = values;
        if (scale)
          input = arith::MulFOp::create(
              tb, tl, input, readVector(tb, tl, scale, {bi, t, h0}, vec));
        if (scalesInput)
          input = arith::MulFOp::create(tb, tl, input, delta);
        Value keys = readVector(tb, tl, k, {bi, t, zero, zero},
                                VectorType::get({K}, tb.getF32Type()));
        Value queries = readVector(tb, tl, q, {bi, t, zero, zero},
                                   VectorType::get({K}, tb.getF32Type()));
        Value out = arith::ConstantOp::create(
            tb, tl, vec, DenseElementsAttr::get(vec, 0.0f));
        SmallVector<Value> next;
        for (int64_t n = 0; n < K; ++n) {
          Value a = math::ExpOp::create(
              tb, tl, arith::MulFOp::create(tb, tl, delta, rates[n]));
          Value key = vector::BroadcastOp::create(
              tb, tl, vec, vector::ExtractOp::create(tb, tl, keys, n));
          Value s = math::FmaOp::create(
              tb, tl, a, carried[n], arith::MulFOp::create(tb, tl, key, input));
          Value query = vector::BroadcastOp::create(
              tb, tl, vec, vector::ExtractOp::create(tb, tl, queries, n));
          out = math::FmaOp::create(tb, tl, query, s, out);
          next.push_back(s);
        }
        if (skips)
          out = math::FmaOp::create(tb, tl, skips, values, out);
        if (views.gate)
          out = arith::MulFOp::create(
              tb, tl, out,
              silu(tb, tl, readVector(tb, tl, views.gate, {bi, t, h0}, vec)));
        if (yElement != tb.getF32Type())
          out = arith::TruncFOp::create(tb, tl, VectorType::get({W}, yElement),
                                        out);
        writeVector(tb, tl, out, views.y, {bi, t, h0});
        scf::YieldOp::create(tb, tl, next);
      });
  for (int64_t n = 0; n < K; ++n)
    for (int64_t c = 0; c < W; ++c)
      memref::StoreOp::create(
          b, loc, vector::ExtractOp::create(b, loc, loop.getResult(n), c),
          state, ValueRange{bi, channel(b, loc, c), index(b, loc, n), zero});
}
