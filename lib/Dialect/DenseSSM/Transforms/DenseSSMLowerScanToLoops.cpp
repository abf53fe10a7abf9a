//===- DenseSSMLowerScanToLoops.cpp - --densessm-lower-scan-to-loops ------===//
//
// Lowers the kernel-level densessm.scan to loops on buffers: a parallel loop
// over the independent (batch, head) pairs, a sequential loop over time, and
// inner loops over the state's key and value indices. The state of one
// (batch, head) lives in its slice of the final-state buffer throughout, so
// the recurrence reads and writes it in place; accumulation is f32.
//
// The op's tensor operands are read through bufferization.to_buffer and its
// results are new buffers wrapped by bufferization.to_tensor, so that
// one-shot bufferization composes with the rest of the function.
//
//===----------------------------------------------------------------------===//

#include "densessm/Dialect/DenseSSM/IR/DenseSSMOps.h"
#include "densessm/Dialect/DenseSSM/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::densessm {
#define GEN_PASS_DEF_DENSESSMLOWERSCANTOLOOPS
#include "densessm/Dialect/DenseSSM/Transforms/Passes.h.inc"
} // namespace mlir::densessm

using namespace mlir;
using namespace mlir::densessm;

namespace {

/// A read-only buffer view of a tensor operand, with a fully dynamic strided
/// layout so that it is compatible with whatever buffer bufferization
/// assigns to the tensor.
Value readBuffer(OpBuilder &b, Location loc, Value tensor) {
  auto type = cast<RankedTensorType>(tensor.getType());
  SmallVector<int64_t> strides(type.getRank(), ShapedType::kDynamic);
  auto layout =
      StridedLayoutAttr::get(b.getContext(), ShapedType::kDynamic, strides);
  auto memrefType =
      MemRefType::get(type.getShape(), type.getElementType(), layout);
  return bufferization::ToBufferOp::create(b, loc, memrefType, tensor,
                                           /*read_only=*/true);
}

/// A new buffer shaped like the tensor type `type`, with the dynamic sizes
/// taken from `sizes` (one index value per dimension).
Value allocBuffer(OpBuilder &b, Location loc, RankedTensorType type,
                  ArrayRef<Value> sizes) {
  SmallVector<Value> dynamic;
  for (auto [dim, size] : llvm::enumerate(type.getShape()))
    if (ShapedType::isDynamic(size))
      dynamic.push_back(sizes[dim]);
  auto memrefType = MemRefType::get(type.getShape(), type.getElementType());
  return memref::AllocOp::create(b, loc, memrefType, dynamic);
}

Value loadF32(OpBuilder &b, Location loc, Value buffer, ValueRange indices) {
  Value value = memref::LoadOp::create(b, loc, buffer, indices);
  if (value.getType().isF32())
    return value;
  return arith::ExtFOp::create(b, loc, b.getF32Type(), value);
}

/// A sequential loop [0, upper) whose body receives the induction variable.
void forRange(OpBuilder &b, Location loc, Value upper,
              llvm::function_ref<void(OpBuilder &, Location, Value)> body) {
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  scf::ForOp::create(b, loc, zero, upper, one, ValueRange{},
                     [&](OpBuilder &nb, Location nl, Value iv, ValueRange) {
                       body(nb, nl, iv);
                       scf::YieldOp::create(nb, nl);
                     });
}

struct LowerScan : OpRewritePattern<ScanOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(ScanOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    OpBuilder &b = rewriter;
    auto dim = [&](Value tensor, int64_t axis) -> Value {
      return tensor::DimOp::create(b, loc, tensor, axis);
    };
    Value batch = dim(op.getV(), 0), length = dim(op.getV(), 1),
          heads = dim(op.getV(), 2), valueDim = dim(op.getV(), 3),
          keyDim = dim(op.getQ(), 3);
    // Heads per group of q and of k: head h reads group h / (H / G).
    Value headsPerQ = arith::DivUIOp::create(b, loc, heads, dim(op.getQ(), 2));
    Value headsPerK = arith::DivUIOp::create(b, loc, heads, dim(op.getK(), 2));

    Value q = readBuffer(b, loc, op.getQ()), k = readBuffer(b, loc, op.getK()),
          v = readBuffer(b, loc, op.getV()),
          dt = readBuffer(b, loc, op.getDt()),
          A = readBuffer(b, loc, op.getA());
    Value scale =
        op.getInputScale() ? readBuffer(b, loc, op.getInputScale()) : Value();
    Value initial = op.getInitialState()
                        ? readBuffer(b, loc, op.getInitialState())
                        : Value();
    auto yType = cast<RankedTensorType>(op.getY().getType());
    auto stateType = cast<RankedTensorType>(op.getFinalState().getType());
    Value y = allocBuffer(b, loc, yType, {batch, length, heads, valueDim});
    Value state =
        allocBuffer(b, loc, stateType, {batch, heads, keyDim, valueDim});
    bool elementwiseDecay = op.hasElementwiseDecay();
    Type yElement = yType.getElementType();

    Value zero = arith::ConstantIndexOp::create(b, loc, 0);
    Value one = arith::ConstantIndexOp::create(b, loc, 1);
    Value zeroF = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0f));
    scf::ParallelOp::create(
        b, loc, ValueRange{zero, zero}, ValueRange{batch, heads},
        ValueRange{one, one}, [&](OpBuilder &pb, Location pl, ValueRange bh) {
          Value bi = bh[0], h = bh[1];
          Value gq = arith::DivUIOp::create(pb, pl, h, headsPerQ);
          Value gk = arith::DivUIOp::create(pb, pl, h, headsPerK);
          // S_{-1}: the initial state, or zeros.
          forRange(pb, pl, keyDim, [&](OpBuilder &ib, Location il, Value i) {
            forRange(
                ib, il, valueDim, [&](OpBuilder &jb, Location jl, Value j) {
                  Value s0 =
                      initial ? memref::LoadOp::create(jb, jl, initial,
                                                       ValueRange{bi, h, i, j})
                                    .getResult()
                              : zeroF;
                  memref::StoreOp::create(jb, jl, s0, state,
                                          ValueRange{bi, h, i, j});
                });
          });
          forRange(pb, pl, length, [&](OpBuilder &tb, Location tl, Value t) {
            Value dtv =
                memref::LoadOp::create(tb, tl, dt, ValueRange{bi, t, h});
            Value beta = scale ? memref::LoadOp::create(tb, tl, scale,
                                                        ValueRange{bi, t, h})
                                     .getResult()
                               : Value();
            // Per-head decay: one exp per token.
            Value headDecay;
            if (!elementwiseDecay)
              headDecay = math::ExpOp::create(
                  tb, tl,
                  arith::MulFOp::create(
                      tb, tl, dtv,
                      memref::LoadOp::create(tb, tl, A, ValueRange{h})));
            // S_t = a ⊙ S_{t-1} + β k ⊗ v.
            forRange(tb, tl, keyDim, [&](OpBuilder &ib, Location il, Value i) {
              Value decay = elementwiseDecay
                                ? math::ExpOp::create(
                                      ib, il,
                                      arith::MulFOp::create(
                                          ib, il, dtv,
                                          memref::LoadOp::create(
                                              ib, il, A, ValueRange{h, i})))
                                      .getResult()
                                : headDecay;
              Value key = loadF32(ib, il, k, {bi, t, gk, i});
              if (beta)
                key = arith::MulFOp::create(ib, il, key, beta);
              forRange(
                  ib, il, valueDim, [&](OpBuilder &jb, Location jl, Value j) {
                    SmallVector<Value> at{bi, h, i, j};
                    Value previous = memref::LoadOp::create(jb, jl, state, at);
                    Value input = arith::MulFOp::create(
                        jb, jl, key, loadF32(jb, jl, v, {bi, t, h, j}));
                    Value next =
                        math::FmaOp::create(jb, jl, decay, previous, input);
                    memref::StoreOp::create(jb, jl, next, state, at);
                  });
            });
            // y_t = q_t · S_t.
            forRange(
                tb, tl, valueDim, [&](OpBuilder &jb, Location jl, Value j) {
                  auto sum = scf::ForOp::create(
                      jb, jl, zero, keyDim, one, ValueRange{zeroF},
                      [&](OpBuilder &ib, Location il, Value i, ValueRange acc) {
                        Value s = memref::LoadOp::create(
                            ib, il, state, ValueRange{bi, h, i, j});
                        Value query = loadF32(ib, il, q, {bi, t, gq, i});
                        scf::YieldOp::create(ib, il,
                                             ValueRange{math::FmaOp::create(
                                                 ib, il, query, s, acc[0])});
                      });
                  Value out = sum.getResult(0);
                  if (out.getType() != yElement)
                    out = arith::TruncFOp::create(jb, jl, yElement, out);
                  memref::StoreOp::create(jb, jl, out, y,
                                          ValueRange{bi, t, h, j});
                });
          });
        });

    Value yTensor = bufferization::ToTensorOp::create(
        b, loc, yType, y, /*restrict=*/true, /*writable=*/true);
    Value stateTensor = bufferization::ToTensorOp::create(
        b, loc, stateType, state, /*restrict=*/true, /*writable=*/true);
    rewriter.replaceOp(op, {yTensor, stateTensor});
    return success();
  }
};

struct LowerScanToLoopsPass
    : densessm::impl::DenseSSMLowerScanToLoopsBase<LowerScanToLoopsPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<LowerScan>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
