//===- ScalarLoops.cpp - the scan in scalar loops -------------------------===//
//
// The scan for sizes unknown at compile time: scalar loops over the key and
// value indices, the state in the final-state buffer.
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

void ScanLowering::emitScalar(OpBuilder &b, Location loc, Value bi, Value h,
                              Value gq, Value gk) const {
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  Value zeroF = f32(b, loc, 0.0f);
  // S_{-1}: the initial state, or zeros.
  forRange(b, loc, keyDim, [&](OpBuilder &ib, Location il, Value i) {
    forRange(ib, il, valueDim, [&](OpBuilder &jb, Location jl, Value j) {
      Value s0 = initial ? memref::LoadOp::create(jb, jl, initial,
                                                  ValueRange{bi, h, i, j})
                               .getResult()
                         : zeroF;
      memref::StoreOp::create(jb, jl, s0, state, ValueRange{bi, h, i, j});
    });
  });
  forRange(b, loc, length, [&](OpBuilder &tb, Location tl, Value t) {
    Value dtv, beta;
    std::tie(dtv, beta) = tokenScalars(tb, tl, bi, t, h);
    Value headDecay =
        elementwiseDecay ? Value() : decay(tb, tl, dtv, h, Value());
    // S_t = a ⊙ S_{t-1} + β k ⊗ v.
    forRange(tb, tl, keyDim, [&](OpBuilder &ib, Location il, Value i) {
      Value a = headDecay ? headDecay : decay(ib, il, dtv, h, i);
      Value key = loadF32(ib, il, k, {bi, t, gk, i});
      if (beta)
        key = arith::MulFOp::create(ib, il, key, beta);
      forRange(ib, il, valueDim, [&](OpBuilder &jb, Location jl, Value j) {
        SmallVector<Value> at{bi, h, i, j};
        Value previous = memref::LoadOp::create(jb, jl, state, at);
        Value input = arith::MulFOp::create(jb, jl, key,
                                            inputValue(jb, jl, {bi, t, h, j}));
        memref::StoreOp::create(
            jb, jl, math::FmaOp::create(jb, jl, a, previous, input), state, at);
      });
    });
    // y_t = q_t · S_t.
    forRange(tb, tl, valueDim, [&](OpBuilder &jb, Location jl, Value j) {
      auto sum = scf::ForOp::create(
          jb, jl, zero, keyDim, one, ValueRange{zeroF},
          [&](OpBuilder &ib, Location il, Value i, ValueRange acc) {
            Value s =
                memref::LoadOp::create(ib, il, state, ValueRange{bi, h, i, j});
            Value query = loadF32(ib, il, q, {bi, t, gq, i});
            scf::YieldOp::create(
                ib, il,
                ValueRange{math::FmaOp::create(ib, il, query, s, acc[0])});
          });
      storeY(jb, jl, epilogue(jb, jl, sum.getResult(0), {bi, t, h, j}),
             {bi, t, h, j});
    });
  });
}
