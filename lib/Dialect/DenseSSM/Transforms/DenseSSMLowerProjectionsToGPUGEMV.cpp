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
#include "StagedInputs.h"

#include "densessm/Dialect/DenseSSM/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Utils/Utils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

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

/// Weights a lane loads at once: 16 bytes' worth (one 128-bit load) when
/// every row of w starts 16-byte aligned wherever w does (identity layout,
/// a static, non-empty row of a multiple of 16 bytes) and the block can
/// stage x in shared memory (at most kMaxStagedInputs inputs); else 1.
int64_t wideLoadWidth(Value w) {
  auto type = cast<MemRefType>(w.getType());
  int64_t width = 128 / type.getElementTypeBitWidth();
  if (!type.getLayout().isIdentity() || type.isDynamicDim(1) ||
      type.getDimSize(1) == 0 || type.getDimSize(1) % width != 0 ||
      type.getDimSize(1) > densessm::ProjectionPrologue::kMaxStagedInputs)
    return 1;
  return width;
}

/// The weight, widened to f32.
Value toF32(OpBuilder &b, Location loc, Value weight) {
  if (weight.getType().isF32())
    return weight;
  return arith::ExtFOp::create(b, loc, b.getF32Type(), weight);
}

/// A lane's part of the dot product of w[o, :] with x, one weight per load:
/// lane l takes inputs l, l + 32, ...; `readInput(i)` is x's input i.
scf::ForOp narrowDot(OpBuilder &b, Location loc, const KernelContext &kernel,
                     Value w, Value o, Value inputs,
                     llvm::function_ref<Value(OpBuilder &, Location, Value)>
                         readInput) {
  Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0f));
  return scf::ForOp::create(
      b, loc, kernel.lane, inputs, index(b, loc, kWarpSize), ValueRange{zero},
      [&](OpBuilder &lb, Location ll, Value i, ValueRange acc) {
        Value weight =
            toF32(lb, ll, memref::LoadOp::create(lb, ll, w, ValueRange{o, i}));
        scf::YieldOp::create(lb, ll,
                             ValueRange{math::FmaOp::create(
                                 lb, ll, weight, readInput(lb, ll, i),
                                 acc[0])});
      });
}

/// The same part, `layout.width` weights per load: lane l takes inputs
/// [t·32·width + l·width, + width) for each tile t, reading x where
/// `layout` keeps them in `staged` (32 consecutive words per step: no bank
/// conflict). w must start 16-byte aligned.
scf::ForOp wideDot(OpBuilder &b, Location loc, const KernelContext &kernel,
                   Value w, Value o, Value inputs, Value staged,
                   const densessm::StagedInputs &layout) {
  int64_t width = layout.width;
  auto vectorType = VectorType::get(
      {width}, cast<MemRefType>(w.getType()).getElementType());
  Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0f));
  Value laneOffset =
      arith::MulIOp::create(b, loc, kernel.lane, index(b, loc, width));
  return scf::ForOp::create(
      b, loc, laneOffset, inputs, index(b, loc, kWarpSize * width),
      ValueRange{zero},
      [&](OpBuilder &lb, Location ll, Value i, ValueRange acc) {
        auto weights = vector::LoadOp::create(lb, ll, vectorType, w,
                                              ValueRange{o, i},
                                              /*nontemporal=*/false,
                                              llvm::MaybeAlign(16));
        // The tile's start, plus this lane: where its input e is, less e·32.
        Value tileStart = arith::SubIOp::create(lb, ll, i, laneOffset);
        Value lanePosition =
            arith::AddIOp::create(lb, ll, tileStart, kernel.lane);
        Value sum = acc[0];
        for (int64_t e = 0; e < width; ++e) {
          Value weight = toF32(
              lb, ll, vector::ExtractOp::create(lb, ll, weights, e));
          Value position = arith::AddIOp::create(
              lb, ll, lanePosition, index(lb, ll, e * kWarpSize));
          Value input = memref::LoadOp::create(lb, ll, staged, position);
          sum = math::FmaOp::create(lb, ll, weight, input, sum);
        }
        scf::YieldOp::create(lb, ll, sum);
      });
}

/// The kernel: grid (ceil(O / warps), rows), blocks of `blockSize` threads;
/// warp `w` of block (bx, m) computes y[m / L, m % L, bx·warps + w], adding
/// to it or, with `overwrite`, replacing it, then applies the epilogue
/// there. With a prologue, the block first computes x[m / L, m % L, :]; with
/// wide loads (`width` > 1), it stages x in shared memory (StagedInputs.h),
/// and takes the wide loop when w is 16-byte aligned, as the runtime places
/// every weight (else one weight per load: correct, slower).
void emitGEMV(OpBuilder &b, Location loc, Value x, Value w, Value y,
              const ProjectionSizes &sizes, Value rows, int64_t blockSize,
              int64_t unroll, int64_t width, bool overwrite,
              const Fused &fused) {
  const int64_t warps = blockSize / kWarpSize;
  Value grid = b.createOrFold<arith::CeilDivUIOp>(loc, sizes.outputs,
                                                  index(b, loc, warps));
  densessm::StagedInputs layout{width};
  SmallVector<int64_t> workgroup;
  if (fused.prologue)
    workgroup = fused.prologue->workgroupSizes(warps, layout);
  else if (width > 1)
    workgroup = {layout.size(
        cast<MemRefType>(w.getType()).getDimSize(1))};
  launch(
      b, loc, grid, rows, blockSize, workgroup,
      [&](OpBuilder &kb, Location kl, const KernelContext &kernel) {
        Value bi = arith::DivUIOp::create(kb, kl, kernel.blockY, sizes.length);
        Value l = arith::RemUIOp::create(kb, kl, kernel.blockY, sizes.length);
        // x[bi, l, i], or its row as the block staged it.
        Value staged;
        if (fused.prologue)
          staged = fused.prologue->emit(kb, kl, kernel, blockSize, bi, l,
                                        layout);
        else if (width > 1)
          staged = layout.stage(
              kb, kl, kernel, blockSize, sizes.inputs,
              [&](OpBuilder &lb, Location ll, Value i) -> Value {
                return memref::LoadOp::create(lb, ll, x, ValueRange{bi, l, i});
              });
        auto readInput = [&](OpBuilder &lb, Location ll, Value i) -> Value {
          if (staged)
            return memref::LoadOp::create(lb, ll, staged,
                                          layout.position(lb, ll, i));
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
        // Each loop unrolled, so that `unroll` loads per lane are in flight.
        SmallVector<scf::ForOp> dots;
        Value part;
        if (width == 1) {
          dots.push_back(narrowDot(gb, kl, kernel, w, o, sizes.inputs,
                                   readInput));
          part = dots.back().getResult(0);
        } else {
          Value address =
              memref::ExtractAlignedPointerAsIndexOp::create(gb, kl, w);
          Value aligned = arith::CmpIOp::create(
              gb, kl, arith::CmpIPredicate::eq,
              arith::RemUIOp::create(gb, kl, address, index(gb, kl, 16)),
              index(gb, kl, 0));
          auto choice = scf::IfOp::create(gb, kl, gb.getF32Type(), aligned,
                                          /*withElseRegion=*/true);
          OpBuilder ab = choice.getThenBodyBuilder();
          dots.push_back(
              wideDot(ab, kl, kernel, w, o, sizes.inputs, staged, layout));
          scf::YieldOp::create(ab, kl, dots.back().getResult(0));
          OpBuilder nb = choice.getElseBodyBuilder();
          dots.push_back(
              narrowDot(nb, kl, kernel, w, o, sizes.inputs, readInput));
          scf::YieldOp::create(nb, kl, dots.back().getResult(0));
          part = choice.getResult(0);
        }
        Value total = warpSum(gb, kl, part);
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
        // Unrolled last: a loop's unrolled remainder then replaces its
        // result where it is used.
        if (unroll > 1)
          for (scf::ForOp dot : dots)
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
    int64_t width = wideLoads ? wideLoadWidth(w) : 1;
    if (choiceFor(op) == Choice::GEMV) {
      emitGEMV(b, loc, x, w, y, sizes, rows, blockSize, unroll, width,
               bool(fill), fused);
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
    emitGEMV(thenBuilder, loc, x, w, y, sizes, rows, blockSize, unroll, width,
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
