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
// y[b, l, o] applies it there, and its own kernel goes away. So is the
// elementwise op (a norm's scaling, with the norm's sum) that computes x
// for the projections that read it (ProjectionPrologue.h): each block
// computes its row of x in shared memory.
//
//===----------------------------------------------------------------------===//

#include "GPUKernel/GPUKernel.h"
#include "ProjectionEpilogue.h"
#include "ProjectionPrologue.h"
#include "Projections.h"

#include "densessm/Dialect/DenseSSM/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Utils/Utils.h"

#include "llvm/ADT/MapVector.h"

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

/// Whether `rows` is in [1, maxRows]: the GEMV's side of the run-time
/// choice.
Value rowsFit(OpBuilder &b, Location loc, Value rows, int64_t maxRows) {
  auto cmp = [&](arith::CmpIPredicate predicate, int64_t bound) {
    return arith::CmpIOp::create(b, loc, predicate, rows, index(b, loc, bound));
  };
  return arith::AndIOp::create(b, loc, cmp(arith::CmpIPredicate::uge, 1),
                               cmp(arith::CmpIPredicate::ule, maxRows));
}

/// What the kernel folds in around the projection.
struct Fused {
  std::optional<densessm::ProjectionEpilogue> epilogue;
  /// Shared by the projections that read the same x.
  const densessm::ProjectionPrologue *prologue = nullptr;
};

/// The kernel: grid (ceil(O / warps), rows), blocks of `blockSize` threads;
/// warp `w` of block (bx, m) computes y[m / L, m % L, bx·warps + w], adding
/// to it or, with `overwrite`, replacing it, then applies the epilogue
/// there. With a prologue, the block first computes x[m / L, m % L, :].
void emitGEMV(OpBuilder &b, Location loc, Value x, Value w, Value y,
              const ProjectionSizes &sizes, Value rows, int64_t blockSize,
              int64_t unroll, bool overwrite, const Fused &fused) {
  const int64_t warps = blockSize / kWarpSize;
  Value grid = b.createOrFold<arith::CeilDivUIOp>(loc, sizes.outputs,
                                                  index(b, loc, warps));
  SmallVector<int64_t> workgroup;
  if (fused.prologue)
    workgroup = fused.prologue->workgroupSizes(warps);
  launch(
      b, loc, grid, rows, blockSize, workgroup,
      [&](OpBuilder &kb, Location kl, const KernelContext &kernel) {
        Value bi = arith::DivUIOp::create(kb, kl, kernel.blockY, sizes.length);
        Value l = arith::RemUIOp::create(kb, kl, kernel.blockY, sizes.length);
        // x[bi, l, i], or its row as the prologue computed it.
        Value staged;
        if (fused.prologue)
          staged = fused.prologue->emit(kb, kl, kernel, blockSize, bi, l);
        auto readInput = [&](OpBuilder &lb, Location ll, Value i) -> Value {
          if (staged)
            return memref::LoadOp::create(lb, ll, staged, ValueRange{i});
          return memref::LoadOp::create(lb, ll, x, ValueRange{bi, l, i});
        };
        Value o = arith::AddIOp::create(
            kb, kl,
            arith::MulIOp::create(kb, kl, kernel.blockX, index(kb, kl, warps)),
            kernel.warp);
        // The same for every lane of a warp, so whole warps skip: the
        // shuffles below always run with all 32 lanes.
        Value inRange = arith::CmpIOp::create(kb, kl, arith::CmpIPredicate::ult,
                                              o, sizes.outputs);
        auto guard = scf::IfOp::create(kb, kl, inRange,
                                       /*withElseRegion=*/false);
        OpBuilder gb = guard.getThenBodyBuilder();
        Value zero =
            arith::ConstantOp::create(gb, kl, gb.getF32FloatAttr(0.0f));
        auto dot = scf::ForOp::create(
            gb, kl, kernel.lane, sizes.inputs, index(gb, kl, kWarpSize),
            ValueRange{zero},
            [&](OpBuilder &lb, Location ll, Value i, ValueRange acc) {
              Value weight =
                  memref::LoadOp::create(lb, ll, w, ValueRange{o, i});
              if (!weight.getType().isF32())
                weight = arith::ExtFOp::create(lb, ll, lb.getF32Type(), weight);
              Value input = readInput(lb, ll, i);
              scf::YieldOp::create(lb, ll,
                                   ValueRange{math::FmaOp::create(
                                       lb, ll, weight, input, acc[0])});
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
        if (fused.epilogue)
          fused.epilogue->emit(wb, kl, total, bi, l, o);
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

  /// How a projection lowers: not here (left to the BLAS lowering), as
  /// the GEMV kernel, or decided at run time by its row count.
  enum class Choice { None, GEMV, RunTime };

  Choice choiceFor(linalg::LinalgOp op) {
    auto xType = cast<MemRefType>(op.getDpsInputOperand(0)->get().getType());
    auto wType = cast<MemRefType>(
        op->getOperand(densessm::kProjectionWeightOperand).getType());
    bool staticRows = !xType.isDynamicDim(0) && !xType.isDynamicDim(1);
    int64_t rowCount = xType.getDimSize(0) * xType.getDimSize(1);
    // Too many rows for a GEMV, or an empty grid (which CUDA rejects): the
    // BLAS lowering's.
    if (staticRows && (rowCount > maxRows || rowCount == 0))
      return Choice::None;
    if (!wType.isDynamicDim(0) && wType.getDimSize(0) == 0)
      return Choice::None;
    return staticRows && !wType.isDynamicDim(0) ? Choice::GEMV
                                                : Choice::RunTime;
  }

  void runOnOperation() override {
    if (failed(checkOptions()))
      return signalPassFailure();
    // Everything is decided on the IR as it is, before any lowering.
    llvm::MapVector<Operation *, Fused> projections;
    getOperation()->walk([&](linalg::LinalgOp op) {
      if (densessm::isBufferProjection(op) && choiceFor(op) != Choice::None)
        projections[op] =
            Fused{fuseEpilogues ? densessm::ProjectionEpilogue::after(op)
                                : std::nullopt};
    });
    std::vector<std::unique_ptr<densessm::ProjectionPrologue>> prologues;
    if (fusePrologues)
      prologues = findPrologues(projections);
    for (auto &[op, fused] : projections)
      lower(cast<linalg::LinalgOp>(op), fused);
    for (const auto &prologue : prologues)
      keepForBLASSide(*prologue);
  }

  /// Where the kernel of a projection goes: where its epilogue's last op
  /// was, or where it is.
  static Operation *kernelPosition(Operation *op, const Fused &fused) {
    return fused.epilogue ? fused.epilogue->last() : op;
  }

  /// The prologues of the projections that read the same x, each shared
  /// by those projections' Fused.
  static std::vector<std::unique_ptr<densessm::ProjectionPrologue>>
  findPrologues(llvm::MapVector<Operation *, Fused> &projections) {
    llvm::MapVector<Value, SmallVector<linalg::LinalgOp>> readers;
    // An op already folded into a kernel as its epilogue (computed once
    // there) is no other's prologue.
    llvm::SmallPtrSet<Operation *, 8> epilogueOps;
    for (auto &[op, fused] : projections) {
      auto projection = cast<linalg::LinalgOp>(op);
      readers[projection.getDpsInputOperand(0)->get()].push_back(projection);
      if (fused.epilogue)
        for (const densessm::ProjectionEpilogue::Stage &stage :
             fused.epilogue->stages)
          epilogueOps.insert(stage.op);
    }
    std::vector<std::unique_ptr<densessm::ProjectionPrologue>> prologues;
    for (auto &[x, group] : readers) {
      // The last of the group's kernels (in one block, or no prologue).
      SmallVector<Operation *> positions;
      for (linalg::LinalgOp projection : group)
        positions.push_back(
            kernelPosition(projection, projections[projection]));
      Block *block = positions.front()->getBlock();
      if (llvm::any_of(positions,
                       [&](Operation *p) { return p->getBlock() != block; }))
        continue;
      Operation *last =
          *llvm::max_element(positions, [](Operation *a, Operation *b) {
            return a->isBeforeInBlock(b);
          });
      auto prologue = densessm::ProjectionPrologue::of(x, group, last);
      if (prologue && !epilogueOps.contains(prologue->input)) {
        prologues.push_back(
            std::make_unique<densessm::ProjectionPrologue>(*prologue));
        for (linalg::LinalgOp projection : group)
          projections[projection].prologue = prologues.back().get();
      }
    }
    return prologues;
  }

  /// The prologue's ops are needed only where the projections take the
  /// BLAS side of their run-time choice: with static rows (always the GEMV)
  /// they go away; otherwise they run in the `else` of the same choice.
  void keepForBLASSide(const densessm::ProjectionPrologue &prologue) {
    linalg::GenericOp input = prologue.input;
    Value x = input.getDpsInitOperand(0)->get();
    auto xType = cast<MemRefType>(x.getType());
    if (!xType.isDynamicDim(0) && !xType.isDynamicDim(1)) {
      for (Operation *op : llvm::reverse(prologue.ops()))
        op->erase();
      return;
    }
    OpBuilder b(input);
    Location loc = input.getLoc();
    Value rows = b.createOrFold<arith::MulIOp>(
        loc, b.createOrFold<memref::DimOp>(loc, x, 0),
        b.createOrFold<memref::DimOp>(loc, x, 1));
    auto choice = scf::IfOp::create(b, loc, rowsFit(b, loc, rows, maxRows),
                                    /*withElseRegion=*/true);
    for (Operation *op : prologue.ops())
      op->moveBefore(choice.elseBlock()->getTerminator());
  }

  void lower(linalg::LinalgOp op, const Fused &fused) {
    Value x = op.getDpsInputOperand(0)->get();
    Value w = op->getOperand(densessm::kProjectionWeightOperand);
    Value y = op.getDpsInitOperand(0)->get();

    // With an epilogue the kernel goes where its last op was: the
    // projection and the epilogue's ops move down past what lies between
    // (nothing that touches their buffers).
    OpBuilder b(kernelPosition(op, fused));
    Location loc = op.getLoc();
    linalg::FillOp fill = zeroFillBefore(op, y);
    ProjectionSizes sizes = ProjectionSizes::of(b, loc, x, w);
    Value rows = b.createOrFold<arith::MulIOp>(loc, sizes.batch, sizes.length);
    if (choiceFor(op) == Choice::GEMV) {
      emitGEMV(b, loc, x, w, y, sizes, rows, blockSize, unroll, bool(fill),
               fused);
      eraseFused(op, fill, fused.epilogue);
      return;
    }
    // Decided at run time: 1 <= rows <= max-rows and at least one output.
    Value fits = arith::AndIOp::create(
        b, loc, rowsFit(b, loc, rows, maxRows),
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::uge, sizes.outputs,
                              index(b, loc, 1)));
    auto choice = scf::IfOp::create(b, loc, fits, /*withElseRegion=*/true);
    OpBuilder thenBuilder = choice.getThenBodyBuilder();
    emitGEMV(thenBuilder, loc, x, w, y, sizes, rows, blockSize, unroll,
             bool(fill), fused);
    // The other side keeps the fill, the projection and the epilogue
    // (moved in).
    OpBuilder elseBuilder = choice.getElseBodyBuilder();
    if (fill)
      elseBuilder.clone(*fill);
    elseBuilder.clone(*op);
    if (fused.epilogue)
      for (const densessm::ProjectionEpilogue::Stage &stage :
           fused.epilogue->stages)
        elseBuilder.clone(*stage.op);
    eraseFused(op, fill, fused.epilogue);
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
