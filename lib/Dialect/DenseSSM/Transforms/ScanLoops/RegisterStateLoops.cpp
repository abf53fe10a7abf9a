//===- RegisterStateLoops.cpp - one (b, h) state in a register ------------===//
//
// The scan with value size 1 and a static key size K: the state of one
// (batch, head) pair is a vector<Kxf32> carried in registers across time,
// read out with a tree reduction.
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

void ScanLowering::emitRegisterState(OpBuilder &b, Location loc, Value bi,
                                     Value h, Value gq, Value gk,
                                     int64_t K) const {
  auto vec = VectorType::get({K}, b.getF32Type());
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  Value s0 = initial ? readKeyColumn(b, loc, initial, bi, h, K)
                     : Value(arith::ConstantOp::create(
                           b, loc, vec, DenseElementsAttr::get(vec, 0.0f)));
  // The decay rates of this head, loaded once.
  Value rates =
      elementwiseDecay ? readVector(b, loc, A, {h, zero}, vec) : Value();
  auto loop = scf::ForOp::create(
      b, loc, zero, length, one, ValueRange{s0},
      [&](OpBuilder &tb, Location tl, Value t, ValueRange carried) {
        Value dtv, beta;
        std::tie(dtv, beta) = tokenScalars(tb, tl, bi, t, h);
        Value a =
            elementwiseDecay
                ? Value(math::ExpOp::create(
                      tb, tl,
                      arith::MulFOp::create(
                          tb, tl, vector::BroadcastOp::create(tb, tl, vec, dtv),
                          rates)))
                : Value(vector::BroadcastOp::create(
                      tb, tl, vec, decay(tb, tl, dtv, h, Value())));
        Value input = inputValue(tb, tl, {bi, t, h, zero});
        if (beta)
          input = arith::MulFOp::create(tb, tl, input, beta);
        Value key = readVector(tb, tl, k, {bi, t, gk, zero}, vec);
        Value update = arith::MulFOp::create(
            tb, tl, key, vector::BroadcastOp::create(tb, tl, vec, input));
        Value next = math::FmaOp::create(tb, tl, a, carried[0], update);
        Value query = readVector(tb, tl, q, {bi, t, gq, zero}, vec);
        // The readout sums K products in any order (a tree, not a chain
        // of K dependent adds); within f32 rounding of the ordered sum.
        Value out = vector::ReductionOp::create(
            tb, tl, vector::CombiningKind::ADD,
            arith::MulFOp::create(tb, tl, query, next),
            arith::FastMathFlags::reassoc);
        storeY(tb, tl, epilogue(tb, tl, out, {bi, t, h, zero}),
               {bi, t, h, zero});
        scf::YieldOp::create(tb, tl, ValueRange{next});
      });
  writeKeyColumn(b, loc, loop.getResult(0), state, bi, h, K);
}
