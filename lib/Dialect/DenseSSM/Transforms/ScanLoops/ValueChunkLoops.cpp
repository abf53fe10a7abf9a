//===- ValueChunkLoops.cpp - retention in value chunks --------------------===//
//
// The scan with a static value size (retention): per token and 16-wide
// value chunk, the key loop updates that chunk of each state row in place
// and accumulates the output chunk in a register.
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

void ScanLowering::emitValueChunks(OpBuilder &b, Location loc, Value bi,
                                   Value h, Value gq, Value gk,
                                   int64_t V) const {
  int64_t W = V;
  for (int64_t width : {16, 8, 4})
    if (V % width == 0) {
      W = width;
      break;
    }
  auto vec = VectorType::get({W}, b.getF32Type());
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  Value width = arith::ConstantIndexOp::create(b, loc, W);
  Value zeros =
      arith::ConstantOp::create(b, loc, vec, DenseElementsAttr::get(vec, 0.0f));
  auto forChunks =
      [&](OpBuilder &ob, Location ol,
          llvm::function_ref<void(OpBuilder &, Location, Value)> body) {
        scf::ForOp::create(
            ob, ol, zero, valueDim, width, ValueRange{},
            [&](OpBuilder &nb, Location nl, Value j, ValueRange) {
              body(nb, nl, j);
              scf::YieldOp::create(nb, nl);
            });
      };
  // S_{-1}: the initial state, or zeros.
  forRange(b, loc, keyDim, [&](OpBuilder &ib, Location il, Value i) {
    forChunks(ib, il, [&](OpBuilder &jb, Location jl, Value j) {
      Value s0 =
          initial ? readVector(jb, jl, initial, {bi, h, i, j}, vec) : zeros;
      writeVector(jb, jl, s0, state, {bi, h, i, j});
    });
  });
  forRange(b, loc, length, [&](OpBuilder &tb, Location tl, Value t) {
    Value dtv, beta;
    std::tie(dtv, beta) = tokenScalars(tb, tl, bi, t, h);
    Value headDecay =
        elementwiseDecay ? Value() : decay(tb, tl, dtv, h, Value());
    forChunks(tb, tl, [&](OpBuilder &cb, Location cl, Value j) {
      Value values = inputVector(cb, cl, {bi, t, h, j}, vec);
      auto rows = scf::ForOp::create(
          cb, cl, zero, keyDim, one, ValueRange{zeros},
          [&](OpBuilder &ib, Location il, Value i, ValueRange acc) {
            Value a = headDecay ? headDecay : decay(ib, il, dtv, h, i);
            Value key = loadF32(ib, il, k, {bi, t, gk, i});
            if (beta)
              key = arith::MulFOp::create(ib, il, key, beta);
            Value row = readVector(ib, il, state, {bi, h, i, j}, vec);
            Value update = arith::MulFOp::create(
                ib, il, vector::BroadcastOp::create(ib, il, vec, key), values);
            Value next = math::FmaOp::create(
                ib, il, vector::BroadcastOp::create(ib, il, vec, a), row,
                update);
            writeVector(ib, il, next, state, {bi, h, i, j});
            Value query = vector::BroadcastOp::create(
                ib, il, vec, loadF32(ib, il, q, {bi, t, gq, i}));
            scf::YieldOp::create(
                ib, il,
                ValueRange{math::FmaOp::create(ib, il, query, next, acc[0])});
          });
      Value out = rows.getResult(0);
      if (skip)
        out = math::FmaOp::create(cb, cl,
                                  vector::BroadcastOp::create(
                                      cb, cl, vec, loadF32(cb, cl, skip, {h})),
                                  values, out);
      if (gate)
        out = arith::MulFOp::create(
            cb, cl, out,
            silu(cb, cl, readVector(cb, cl, gate, {bi, t, h, j}, vec)));
      if (yElement != cb.getF32Type())
        out = arith::TruncFOp::create(cb, cl, VectorType::get({W}, yElement),
                                      out);
      vector::TransferWriteOp::create(cb, cl, out, y, ValueRange{bi, t, h, j},
                                      ArrayRef<bool>{true});
    });
  });
}
