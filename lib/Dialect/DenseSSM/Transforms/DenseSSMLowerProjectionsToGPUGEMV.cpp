//===- DenseSSMLowerProjectionsToGPUGEMV.cpp - decode projections on GPU --===//
//
// --densessm-lower-projections-to-gpu-gemv: a projection with few rows (a
// decode step: one token per sequence) is a pass over its weights, bound by
// how fast they stream from memory. It becomes a GEMV kernel: one warp per
// output element and row, whose lanes read the weight row in contiguous
// runs (lane l: w[o, l], w[o, l + 32], ...), widen narrow weights to f32 as
// they read them, and sum their partial products with gpu.shuffle xor.
// Projections with more rows are left to --densessm-lower-projections-to-
// blas (cuBLAS GEMM). An elementwise op on y right after the projection is
// folded into the kernel (ProjectionEpilogue.h): the lane that computed
// y[b, l, o] applies it there, and its own kernel goes away.
//
//===----------------------------------------------------------------------===//

#include "GPUKernel/GPUKernel.h"
#include "ProjectionEpilogue.h"
#include "Projections.h"

#include "densessm/Dialect/DenseSSM/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Utils/Utils.h"

namespace mlir::densessm {
#define GEN_PASS_DEF_DENSESSMLOWERPROJECTIONSTOGPUGEMV
#include "densessm/Dialect/DenseSSM/Transforms/Passes.h.inc"
} // namespace mlir::densessm

using namespace mlir;
using namespace mlir::densessm::gpu_kernel;

namespace {

/// The sizes of a projection y[b, l, o] += Σ_i x[b, l, i] · w[o, i].
struct ProjectionSizes {
  Value batch, length, outputs, inputs;

  /// Constants where the sizes are static (so are the grid and the loop
  /// bounds then).
  static ProjectionSizes of(OpBuilder &b, Location loc, Value x, Value w) {
    auto dim = [&](Value buffer, int64_t axis) {
      return b.createOrFold<memref::DimOp>(loc, buffer, axis);
    };
    return {dim(x, 0), dim(x, 1), dim(w, 0), dim(w, 1)};
  }
};

/// The zero fill of the projection's output right before it (the model
/// builder's `y = 0; y += x wᵀ`), or null. The kernel can then write y
/// instead of adding to it, and the fill's own kernel goes away.
linalg::FillOp zeroFillBefore(linalg::LinalgOp op, Value y) {
  auto fill = dyn_cast_or_null<linalg::FillOp>(op->getPrevNode());
  if (!fill || !fill.hasPureBufferSemantics() ||
      fill.getDpsInitOperand(0)->get() != y)
    return nullptr;
  auto zero = fill.value().getDefiningOp<arith::ConstantOp>();
  auto value = zero ? dyn_cast<FloatAttr>(zero.getValue()) : FloatAttr();
  if (!value || !value.getValue().isZero())
    return nullptr;
  return fill;
}

/// The kernel: grid (ceil(O / warps), rows), blocks of `blockSize` threads;
/// warp `w` of block (bx, m) computes y[m / L, m % L, bx·warps + w], adding
/// to it or, with `overwrite`, replacing it, then applies `epilogue` there.
void emitGEMV(OpBuilder &b, Location loc, Value x, Value w, Value y,
              const ProjectionSizes &sizes, Value rows, int64_t blockSize,
              int64_t unroll, bool overwrite,
              const std::optional<densessm::ProjectionEpilogue> &epilogue) {
  const int64_t warps = blockSize / kWarpSize;
  Value grid = b.createOrFold<arith::CeilDivUIOp>(loc, sizes.outputs,
                                                  index(b, loc, warps));
  launch(
      b, loc, grid, rows, blockSize, {},
      [&](OpBuilder &kb, Location kl, const KernelContext &kernel) {
        Value o = arith::AddIOp::create(
            kb, kl,
            arith::MulIOp::create(kb, kl, kernel.blockX, index(kb, kl, warps)),
            kernel.warp);
        Value bi = arith::DivUIOp::create(kb, kl, kernel.blockY, sizes.length);
        Value l = arith::RemUIOp::create(kb, kl, kernel.blockY, sizes.length);
        // The same for every lane of a warp, so whole warps skip: the
        // shuffles below always run with all 32 lanes.
        Value inRange = arith::CmpIOp::create(kb, kl, arith::CmpIPredicate::ult,
                                              o, sizes.outputs);
        auto guard = scf::IfOp::create(kb, kl, inRange,
                                       /*withElseRegion=*/false);
        OpBuilder gb = guard.getThenBodyBuilder();
        Value zero = arith::ConstantOp::create(gb, kl, gb.getF32FloatAttr(0.0f));
        auto dot = scf::ForOp::create(
            gb, kl, kernel.lane, sizes.inputs, index(gb, kl, kWarpSize),
            ValueRange{zero},
            [&](OpBuilder &lb, Location ll, Value i, ValueRange acc) {
              Value weight = memref::LoadOp::create(lb, ll, w, ValueRange{o, i});
              if (!weight.getType().isF32())
                weight = arith::ExtFOp::create(lb, ll, lb.getF32Type(), weight);
              Value input =
                  memref::LoadOp::create(lb, ll, x, ValueRange{bi, l, i});
              scf::YieldOp::create(
                  lb, ll,
                  ValueRange{math::FmaOp::create(lb, ll, weight, input, acc[0])});
            });
        Value total = warpSum(gb, kl, dot.getResult(0));
        Value isLane0 = arith::CmpIOp::create(gb, kl, arith::CmpIPredicate::eq,
                                              kernel.lane, index(gb, kl, 0));
        auto write = scf::IfOp::create(gb, kl, isLane0,
                                       /*withElseRegion=*/false);
        OpBuilder wb = write.getThenBodyBuilder();
        if (!overwrite)
          total = arith::AddFOp::create(
              wb, kl, memref::LoadOp::create(wb, kl, y, ValueRange{bi, l, o}),
              total);
        memref::StoreOp::create(wb, kl, total, y, ValueRange{bi, l, o});
        if (epilogue)
          epilogue->emit(wb, kl, total, bi, l, o);
        // Unrolled last: the epilogue loop's result then replaces the
        // dot's in the sum.
        if (unroll > 1)
          (void)loopUnrollByFactor(dot, unroll);
      });
}

struct LowerProjectionsToGPUGEMVPass
    : densessm::impl::DenseSSMLowerProjectionsToGPUGEMVBase<
          LowerProjectionsToGPUGEMVPass> {
  using Base::Base;

  LogicalResult checkOptions() {
    auto fail = [&](StringRef option, StringRef range, int64_t value) {
      return emitError(getOperation()->getLoc())
             << "--densessm-lower-projections-to-gpu-gemv: option '" << option
             << "' must be " << range << ", found " << value;
    };
    if (blockSize < kWarpSize || blockSize > 1024 || blockSize % kWarpSize)
      return fail("block-size", "a multiple of 32 in [32, 1024]", blockSize);
    // The rows are the grid's y dimension, at most 65535.
    if (maxRows < 1 || maxRows > 65535)
      return fail("max-rows", "in [1, 65535]", maxRows);
    if (unroll < 1 || unroll > 16)
      return fail("unroll", "in [1, 16]", unroll);
    return success();
  }

  void runOnOperation() override {
    if (failed(checkOptions()))
      return signalPassFailure();
    SmallVector<linalg::LinalgOp> projections;
    getOperation()->walk([&](linalg::LinalgOp op) {
      if (densessm::isBufferProjection(op))
        projections.push_back(op);
    });
    for (linalg::LinalgOp op : projections)
      lower(op);
  }

  void lower(linalg::LinalgOp op) {
    Value x = op.getDpsInputOperand(0)->get();
    Value w = op->getOperand(densessm::kProjectionWeightOperand);
    Value y = op.getDpsInitOperand(0)->get();
    auto xType = cast<MemRefType>(x.getType());
    auto wType = cast<MemRefType>(w.getType());
    bool staticRows = !xType.isDynamicDim(0) && !xType.isDynamicDim(1);
    int64_t rowCount = staticRows ? xType.getDimSize(0) * xType.getDimSize(1)
                                  : ShapedType::kDynamic;
    // Too many rows for a GEMV, or an empty grid (which CUDA rejects): the
    // BLAS lowering's.
    if (staticRows && (rowCount > maxRows || rowCount == 0))
      return;
    if (!wType.isDynamicDim(0) && wType.getDimSize(0) == 0)
      return;

    // With an epilogue the kernel goes where its last op was: the
    // projection and the epilogue's ops move down past what lies between
    // (nothing that touches their buffers).
    std::optional<densessm::ProjectionEpilogue> epilogue;
    if (fuseEpilogues)
      epilogue = densessm::ProjectionEpilogue::after(op);
    OpBuilder b(epilogue ? epilogue->last() : op.getOperation());
    Location loc = op.getLoc();
    linalg::FillOp fill = zeroFillBefore(op, y);
    ProjectionSizes sizes = ProjectionSizes::of(b, loc, x, w);
    Value rows = b.createOrFold<arith::MulIOp>(loc, sizes.batch, sizes.length);
    if (staticRows && !wType.isDynamicDim(0)) {
      emitGEMV(b, loc, x, w, y, sizes, rows, blockSize, unroll, bool(fill),
               epilogue);
      eraseFused(op, fill, epilogue);
      return;
    }
    // Decided at run time: 1 <= rows <= max-rows and at least one output.
    auto cmp = [&](arith::CmpIPredicate predicate, Value lhs, int64_t rhs) {
      return arith::CmpIOp::create(b, loc, predicate, lhs, index(b, loc, rhs));
    };
    Value fits = arith::AndIOp::create(
        b, loc,
        arith::AndIOp::create(b, loc, cmp(arith::CmpIPredicate::uge, rows, 1),
                              cmp(arith::CmpIPredicate::ule, rows, maxRows)),
        cmp(arith::CmpIPredicate::uge, sizes.outputs, 1));
    auto choice = scf::IfOp::create(b, loc, fits, /*withElseRegion=*/true);
    OpBuilder thenBuilder = choice.getThenBodyBuilder();
    emitGEMV(thenBuilder, loc, x, w, y, sizes, rows, blockSize, unroll,
             bool(fill), epilogue);
    // The other side keeps the fill, the projection and the epilogue
    // (moved in).
    OpBuilder elseBuilder = choice.getElseBodyBuilder();
    if (fill)
      elseBuilder.clone(*fill);
    elseBuilder.clone(*op);
    if (epilogue)
      for (const densessm::ProjectionEpilogue::Stage &stage : epilogue->stages)
        elseBuilder.clone(*stage.op);
    eraseFused(op, fill, epilogue);
  }

  /// Erases what the kernel replaced (or the scf.if holds copies of).
  static void
  eraseFused(linalg::LinalgOp op, linalg::FillOp fill,
             const std::optional<densessm::ProjectionEpilogue> &epilogue) {
    op->erase();
    if (fill)
      fill->erase();
    if (epilogue)
      for (const densessm::ProjectionEpilogue::Stage &stage : epilogue->stages)
        stage.op->erase();
  }
};

} // namespace
