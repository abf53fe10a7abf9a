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
// computes its row of x in shared memory. Sibling projections, reading the
// same x one after the other (a layer's q, k and v), are one kernel: each
// takes its own range of blocks, and the row of x is staged once a block.
//
//===----------------------------------------------------------------------===//

#include "GPUKernel/GPUKernel.h"
#include "PointwiseOps.h"
#include "ProjectionEpilogue.h"
#include "ProjectionPrologue.h"
#include "ProjectionWeightPrefetch.h"
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
#include "mlir/Transforms/RegionUtils.h"

#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/SetVector.h"

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
  linalg::FillOp fill = densessm::fillRightBefore(op, y);
  if (!fill)
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

/// How a block's warps share its outputs: `parts` consecutive warps per
/// output, warp w computing part `w mod parts` of the block's output
/// `w / parts` from every `parts`-th tile of 32·width inputs (one part: a
/// warp per output, every tile). More parts make more, shorter blocks for
/// a projection with few outputs.
struct WarpSplit {
  int64_t parts = 1;
  /// The warp's part (null with one part).
  Value part;

  /// Where a lane starts, reading `width` inputs at once from `laneStart`
  /// in a tile (lane·width): its run in the warp's first tile.
  Value firstInput(OpBuilder &b, Location loc, Value laneStart,
                   int64_t width) const {
    if (parts == 1)
      return laneStart;
    Value tileStart = arith::MulIOp::create(b, loc, part,
                                            index(b, loc, kWarpSize * width));
    return arith::AddIOp::create(b, loc, tileStart, laneStart);
  }

  /// From one of the lane's runs to its next.
  Value stride(OpBuilder &b, Location loc, int64_t width) const {
    return index(b, loc, kWarpSize * width * parts);
  }
};

/// A lane's part of the dot product of w[o, :] with x, one weight per load:
/// lane l takes inputs l, l + 32, ... of its warp's tiles (`split`);
/// `readInput(i)` is x's input i.
scf::ForOp narrowDot(OpBuilder &b, Location loc, const KernelContext &kernel,
                     Value w, Value o, Value inputs, const WarpSplit &split,
                     llvm::function_ref<Value(OpBuilder &, Location, Value)>
                         readInput) {
  Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0f));
  return scf::ForOp::create(
      b, loc, split.firstInput(b, loc, kernel.lane, 1), inputs,
      split.stride(b, loc, 1), ValueRange{zero},
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
/// [t·32·width + l·width, + width) for each tile t of its warp's
/// (`split`), reading x where `layout` keeps them in `staged` (32
/// consecutive words per step: no bank conflict). w must start 16-byte
/// aligned.
scf::ForOp wideDot(OpBuilder &b, Location loc, const KernelContext &kernel,
                   Value w, Value o, Value inputs, const WarpSplit &split,
                   Value staged, const densessm::StagedInputs &layout) {
  int64_t width = layout.width;
  auto vectorType = VectorType::get(
      {width}, cast<MemRefType>(w.getType()).getElementType());
  Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0f));
  Value laneOffset =
      arith::MulIOp::create(b, loc, kernel.lane, index(b, loc, width));
  return scf::ForOp::create(
      b, loc, split.firstInput(b, loc, laneOffset, width), inputs,
      split.stride(b, loc, width), ValueRange{zero},
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

/// A projection of a GEMV kernel: its weight and output, whether the
/// kernel writes y (a zero fill came before) instead of adding to it, and
/// what it folds in.
struct Member {
  Value w, y;
  bool overwrite;
  const Fused *fused;
};

/// Warp `kernel.warp`'s output `o` of `member` (whole warps skip when it
/// is out of range): the dot product (one weight per load, or `width`
/// from `staged`, checked at run time) over the warp's tiles (`split`),
/// the shuffles, then lane 0's update of y and the epilogue. With parts,
/// lane 0 publishes the warp's part to `partials[warp]`, and after a
/// barrier (every thread of the block must reach it) the first warp of
/// the output adds the parts in order and updates y. Its input loops go
/// to `dots`.
void emitWarpDot(
    OpBuilder &b, Location kl, const KernelContext &kernel,
    const Member &member, const ProjectionSizes &sizes, Value bi, Value l,
    Value o, const WarpSplit &split, Value partials, int64_t width,
    Value staged, const densessm::StagedInputs &layout,
    llvm::function_ref<Value(OpBuilder &, Location, Value)> readInput,
    SmallVectorImpl<scf::ForOp> &dots) {
  Value w = member.w, y = member.y;
  auto isLane0 = [&](OpBuilder &lb) -> Value {
    return arith::CmpIOp::create(lb, kl, arith::CmpIPredicate::eq, kernel.lane,
                                 index(lb, kl, 0));
  };
  auto update = [&](OpBuilder &wb, Value total) {
    if (!member.overwrite)
      total = arith::AddFOp::create(
          wb, kl, memref::LoadOp::create(wb, kl, y, ValueRange{bi, l, o}),
          total);
    memref::StoreOp::create(wb, kl, total, y, ValueRange{bi, l, o});
    if (member.fused->epilogue)
      member.fused->epilogue->emit(wb, kl, total, bi, l, o);
  };
  // The same for every lane of a warp, so whole warps skip: the
  // shuffles below always run with all 32 lanes.
  Value inRange =
      arith::CmpIOp::create(b, kl, arith::CmpIPredicate::ult, o, sizes.outputs);
  auto guard = scf::IfOp::create(b, kl, inRange,
                                 /*withElseRegion=*/false);
  OpBuilder gb = guard.getThenBodyBuilder();
  Value part;
  if (width == 1) {
    dots.push_back(
        narrowDot(gb, kl, kernel, w, o, sizes.inputs, split, readInput));
    part = dots.back().getResult(0);
  } else {
    Value address = memref::ExtractAlignedPointerAsIndexOp::create(gb, kl, w);
    Value aligned = arith::CmpIOp::create(
        gb, kl, arith::CmpIPredicate::eq,
        arith::RemUIOp::create(gb, kl, address, index(gb, kl, 16)),
        index(gb, kl, 0));
    auto choice = scf::IfOp::create(gb, kl, gb.getF32Type(), aligned,
                                    /*withElseRegion=*/true);
    OpBuilder ab = choice.getThenBodyBuilder();
    dots.push_back(
        wideDot(ab, kl, kernel, w, o, sizes.inputs, split, staged, layout));
    scf::YieldOp::create(ab, kl, dots.back().getResult(0));
    OpBuilder nb = choice.getElseBodyBuilder();
    dots.push_back(
        narrowDot(nb, kl, kernel, w, o, sizes.inputs, split, readInput));
    scf::YieldOp::create(nb, kl, dots.back().getResult(0));
    part = choice.getResult(0);
  }
  Value total = warpSum(gb, kl, part);
  auto write = scf::IfOp::create(gb, kl, isLane0(gb),
                                 /*withElseRegion=*/false);
  OpBuilder wb = write.getThenBodyBuilder();
  if (split.parts == 1) {
    update(wb, total);
    return;
  }
  memref::StoreOp::create(wb, kl, total, partials, ValueRange{kernel.warp});
  gpu::BarrierOp::create(b, kl);
  Value first = arith::CmpIOp::create(b, kl, arith::CmpIPredicate::eq,
                                      split.part, index(b, kl, 0));
  auto combine = scf::IfOp::create(
      b, kl,
      arith::AndIOp::create(b, kl,
                            arith::AndIOp::create(b, kl, inRange, first),
                            isLane0(b)),
      /*withElseRegion=*/false);
  OpBuilder cb = combine.getThenBodyBuilder();
  // The first warp's parts are at its own index and the next ones'.
  Value sum = memref::LoadOp::create(cb, kl, partials, ValueRange{kernel.warp});
  for (int64_t p = 1; p < split.parts; ++p) {
    Value warp = arith::AddIOp::create(cb, kl, kernel.warp, index(cb, kl, p));
    sum = arith::AddFOp::create(
        cb, kl, sum, memref::LoadOp::create(cb, kl, partials, warp));
  }
  update(cb, sum);
}

/// The kernel: grid (Σ_p ceil(O_p / outputs), rows), blocks of
/// `blockSize` threads computing `outputs` = warps / parts outputs each
/// (WarpSplit), member p taking the blocks from the sum over the members
/// before it; warp `w` of its block (bx, m) computes (its part of)
/// y_p[m / L, m % L, (bx - first)·outputs + w / parts], adding to it or,
/// with `overwrite`, replacing it, then applies the member's epilogue
/// there.
/// With a prologue, the block first computes x[m / L, m % L, :]; with wide
/// loads (`width` > 1), it stages x in shared memory (StagedInputs.h), and
/// takes the wide loop when w is 16-byte aligned, as the runtime places
/// every weight (else one weight per load: correct, slower).
void emitGEMV(OpBuilder &b, Location loc, Value x, ArrayRef<Member> members,
              Value rows, int64_t blockSize, int64_t unroll, int64_t width,
              int64_t parts, const densessm::ProjectionPrologue *prologue) {
  const int64_t warps = blockSize / kWarpSize;
  const int64_t outputsPerBlock = warps / parts;
  // Member p's blocks: from firstBlock[p] (null: 0) to firstBlock[p + 1].
  SmallVector<ProjectionSizes> sizes;
  SmallVector<Value> firstBlock;
  Value grid;
  for (const Member &member : members) {
    sizes.push_back(ProjectionSizes::of(b, loc, x, member.w));
    Value blocks = b.createOrFold<arith::CeilDivUIOp>(
        loc, sizes.back().outputs, index(b, loc, outputsPerBlock));
    firstBlock.push_back(grid);
    grid = grid ? b.createOrFold<arith::AddIOp>(loc, grid, blocks) : blocks;
  }
  firstBlock.push_back(grid);
  Value length = sizes.front().length, inputs = sizes.front().inputs;
  densessm::StagedInputs layout{width};
  SmallVector<int64_t> workgroup;
  if (prologue)
    workgroup = prologue->workgroupSizes(warps, layout);
  else if (width > 1)
    workgroup = {layout.size(
        cast<MemRefType>(members.front().w.getType()).getDimSize(1))};
  // The warps' parts, last.
  if (parts > 1)
    workgroup.push_back(warps);
  launch(
      b, loc, grid, rows, blockSize, workgroup,
      [&](OpBuilder &kb, Location kl, const KernelContext &kernel) {
        // The block's weight rows into L2 first: with programmatic
        // dependent launch, before the kernel waits for the one before it.
        if (width > 1) {
          SmallVector<densessm::PrefetchedWeights> weights;
          for (auto [p, member] : llvm::enumerate(members))
            weights.push_back({member.w, sizes[p].outputs, firstBlock[p]});
          densessm::prefetchBlockWeights(kb, kl, kernel, weights,
                                         outputsPerBlock, blockSize);
        }
        WarpSplit split{parts, {}};
        Value output = kernel.warp, partials;
        if (parts > 1) {
          split.part = arith::RemUIOp::create(kb, kl, kernel.warp,
                                              index(kb, kl, parts));
          output = arith::DivUIOp::create(kb, kl, kernel.warp,
                                          index(kb, kl, parts));
          partials = kernel.workgroup.back();
        }
        Value bi = arith::DivUIOp::create(kb, kl, kernel.blockY, length);
        Value l = arith::RemUIOp::create(kb, kl, kernel.blockY, length);
        // Each loop over the inputs (staging the row, summing a statistic,
        // the dot products) is unrolled, so that `unroll` loads per lane
        // are in flight.
        SmallVector<scf::ForOp> loops;
        // x[bi, l, i], or its row as the block staged it.
        Value staged;
        if (prologue)
          staged = prologue->emit(kb, kl, kernel, blockSize, bi, l, layout,
                                  loops);
        else if (width > 1)
          staged = layout.stage(
              kb, kl, kernel, blockSize, inputs,
              [&](OpBuilder &lb, Location ll, Value i) -> Value {
                return memref::LoadOp::create(lb, ll, x, ValueRange{bi, l, i});
              },
              loops);
        auto readInput = [&](OpBuilder &lb, Location ll, Value i) -> Value {
          if (staged)
            return memref::LoadOp::create(lb, ll, staged,
                                          layout.position(lb, ll, i));
          return memref::LoadOp::create(lb, ll, x, ValueRange{bi, l, i});
        };
        for (auto [p, member] : llvm::enumerate(members)) {
          // The member's blocks (all of them when it is alone): the same
          // for every thread of a block, so the block's barriers above
          // stay in uniform control flow.
          OpBuilder mb = kb;
          Value block = kernel.blockX;
          if (members.size() > 1) {
            Value mine = arith::CmpIOp::create(
                kb, kl, arith::CmpIPredicate::ult, block, firstBlock[p + 1]);
            if (firstBlock[p])
              mine = arith::AndIOp::create(
                  kb, kl,
                  arith::CmpIOp::create(kb, kl, arith::CmpIPredicate::uge,
                                        block, firstBlock[p]),
                  mine);
            auto blocks = scf::IfOp::create(kb, kl, mine,
                                            /*withElseRegion=*/false);
            mb = blocks.getThenBodyBuilder();
            if (firstBlock[p])
              block = arith::SubIOp::create(mb, kl, block, firstBlock[p]);
          }
          emitWarpDot(mb, kl, kernel, member, sizes[p], bi, l,
                      arith::AddIOp::create(
                          mb, kl,
                          arith::MulIOp::create(
                              mb, kl, block, index(mb, kl, outputsPerBlock)),
                          output),
                      split, partials, width, staged, layout, readInput,
                      loops);
        }
        // Unrolled last: a loop's unrolled remainder then replaces its
        // result where it is used.
        if (unroll > 1)
          for (scf::ForOp loop : loops)
            (void)loopUnrollByFactor(loop, unroll);
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
    if (targetBlocks < 1 || targetBlocks > 65535)
      return fail("target-blocks", "in [1, 65535]", targetBlocks);
    return success();
  }

  /// Warps per output in the kernel of projections of `x` with `members`'
  /// weights (WarpSplit), reading `width` inputs per load: from one, twice
  /// as many while the blocks (per row, times the rows where their count
  /// is static) are fewer than `target-blocks`, the doubled count divides
  /// the block's warps and, where the inputs are static, leaves each warp
  /// at least one tile of them. One where an output count is dynamic.
  int64_t partsFor(Value x, ArrayRef<Member> members, int64_t width) {
    if (llvm::any_of(members, [](const Member &member) {
          return cast<MemRefType>(member.w.getType()).isDynamicDim(0);
        }))
      return 1;
    const int64_t warps = blockSize / kWarpSize;
    auto xType = cast<MemRefType>(x.getType());
    int64_t rows = 1;
    if (!xType.isDynamicDim(0) && !xType.isDynamicDim(1))
      rows = xType.getDimSize(0) * xType.getDimSize(1);
    auto wType = cast<MemRefType>(members.front().w.getType());
    int64_t tiles = std::numeric_limits<int64_t>::max();
    if (!wType.isDynamicDim(1))
      tiles = llvm::divideCeil(wType.getDimSize(1), kWarpSize * width);
    auto blocks = [&](int64_t parts) {
      int64_t perRow = 0;
      for (const Member &member : members)
        perRow += llvm::divideCeil(
            cast<MemRefType>(member.w.getType()).getDimSize(0),
            warps / parts);
      return perRow * rows;
    };
    int64_t parts = 1;
    while (warps % (2 * parts) == 0 && 2 * parts <= tiles &&
           blocks(parts) < targetBlocks)
      parts *= 2;
    return parts;
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
    for (SiblingGroup &siblings : siblingGroups(projections))
      lower(siblings, projections);
    for (const auto &prologue : prologues)
      keepForBLASSide(*prologue);
  }

  /// Where the kernel of a projection goes: where its epilogue's last op
  /// was, or where it is.
  static Operation *kernelPosition(Operation *op, const Fused &fused) {
    return fused.epilogue ? fused.epilogue->last() : op;
  }

  /// The projection's ops a kernel replaces: its zero fill (if any), the
  /// projection, its epilogue's ops.
  static SmallVector<Operation *> replacedOps(linalg::LinalgOp op,
                                              const Fused &fused) {
    SmallVector<Operation *> ops;
    if (linalg::FillOp fill =
            zeroFillBefore(op, op.getDpsInitOperand(0)->get()))
      ops.push_back(fill);
    ops.push_back(op);
    if (fused.epilogue)
      for (const densessm::ProjectionEpilogue::Stage &stage :
           fused.epilogue->stages)
        ops.push_back(stage.op);
    return ops;
  }

  /// Projections computed by one kernel, and where it goes.
  struct SiblingGroup {
    SmallVector<linalg::LinalgOp> members;
    /// The kernel goes before this op, which the group replaces: the last
    /// of the members' kernel positions, but for hoisted members.
    Operation *position;
    /// What hoisted members need defined before `position` (allocations,
    /// sizes, views), in program order.
    SmallVector<Operation *> hoisted;
    /// Whether a member moved up (hoistInto): the kernel may then not move
    /// down to a later projection.
    bool hoistedMember = false;
  };

  /// The projections in kernels of their own or, with `fuse-siblings`,
  /// groups of siblings that share one: projections of the same x (a
  /// layer's q, k and v), lowered the same way (the same choice and load
  /// width, static output counts, the same inputs), in one block, none
  /// reading what another writes. A projection joins the last group when
  /// nothing between them touches their buffers (the kernel moves down to
  /// it); else an earlier group of its x when nothing between that group's
  /// kernel and it touches what it writes or writes what it reads (it moves
  /// up into the kernel: a dense layer's second gate, after the first
  /// gate's fusion).
  std::vector<SiblingGroup>
  siblingGroups(llvm::MapVector<Operation *, Fused> &projections) {
    std::vector<SiblingGroup> groups;
    for (auto &[op, fused] : projections) {
      auto projection = cast<linalg::LinalgOp>(op);
      Operation *position = kernelPosition(op, fused);
      if (fuseSiblings && !groups.empty()) {
        SmallVector<linalg::LinalgOp> joined(groups.back().members);
        joined.push_back(projection);
        if (!groups.back().hoistedMember &&
            canShareKernel(joined, projections)) {
          groups.back().members = std::move(joined);
          if (groups.back().position->isBeforeInBlock(position))
            groups.back().position = position;
          continue;
        }
        if (llvm::any_of(llvm::reverse(groups), [&](SiblingGroup &group) {
              return hoistInto(group, projection, projections);
            }))
          continue;
      }
      groups.push_back({{projection}, position, {}, false});
    }
    return groups;
  }

  /// A projection's ops in a kernel (replacedOps), the buffers they touch
  /// and those they write.
  struct MemberAccess {
    SmallVector<Operation *> ops;
    SmallVector<Value> touched, written;
  };
  static MemberAccess accessOf(linalg::LinalgOp op, const Fused &fused) {
    MemberAccess access{replacedOps(op, fused), {}, {}};
    for (Operation *member : access.ops) {
      for (Value operand : member->getOperands())
        if (isa<MemRefType>(operand.getType()))
          access.touched.push_back(densessm::bufferOf(operand));
      if (auto dps = dyn_cast<DestinationStyleOpInterface>(member))
        for (OpOperand &init : dps.getDpsInitsMutable())
          access.written.push_back(densessm::bufferOf(init.get()));
    }
    return access;
  }

  /// Whether `group` can be one kernel's: every member lowers as the first
  /// does, and none reads what another writes.
  bool lowersTogether(ArrayRef<linalg::LinalgOp> group,
                      llvm::MapVector<Operation *, Fused> &projections) {
    linalg::LinalgOp first = group.front();
    Value x = first.getDpsInputOperand(0)->get();
    auto shape = [](linalg::LinalgOp op) {
      return cast<MemRefType>(
                 op->getOperand(densessm::kProjectionWeightOperand).getType())
          .getShape();
    };
    auto width = [&](linalg::LinalgOp op) {
      return wideLoads ? wideLoadWidth(
                             op->getOperand(densessm::kProjectionWeightOperand))
                       : 1;
    };
    for (linalg::LinalgOp op : group)
      if (op.getDpsInputOperand(0)->get() != x ||
          op->getBlock() != first->getBlock() ||
          choiceFor(op) != choiceFor(first) || width(op) != width(first) ||
          ShapedType::isDynamicShape(shape(op)) ||
          shape(op)[1] != shape(first)[1])
        return false;
    SmallVector<MemberAccess> accesses;
    for (linalg::LinalgOp op : group)
      accesses.push_back(accessOf(op, projections[op]));
    for (size_t a = 0; a < group.size(); ++a)
      for (size_t b = 0; b < group.size(); ++b)
        if (a != b && llvm::any_of(accesses[b].written, [&](Value buffer) {
              return llvm::is_contained(accesses[a].touched, buffer);
            }))
          return false;
    return true;
  }

  /// Whether `group`'s kernel can go where its last member's would, with
  /// everything between the members' ops moving up past it.
  bool canShareKernel(ArrayRef<linalg::LinalgOp> group,
                      llvm::MapVector<Operation *, Fused> &projections) {
    if (!lowersTogether(group, projections))
      return false;
    llvm::SmallPtrSet<Operation *, 16> replaced;
    SmallVector<Value> buffers;
    Operation *begin = nullptr, *end = nullptr;
    for (linalg::LinalgOp op : group) {
      MemberAccess access = accessOf(op, projections[op]);
      replaced.insert(access.ops.begin(), access.ops.end());
      llvm::append_range(buffers, access.touched);
      if (!begin || access.ops.front()->isBeforeInBlock(begin))
        begin = access.ops.front();
      Operation *position = kernelPosition(op, projections[op]);
      if (!end || end->isBeforeInBlock(position))
        end = position;
    }
    for (Operation *op = begin; op != end->getNextNode();
         op = op->getNextNode())
      if (!replaced.contains(op) && !densessm::canMovePast(op, buffers))
        return false;
    return true;
  }

  /// Adds `projection` to `group` as a member computed where the group's
  /// kernel is, earlier than it was, when it can: it lowers with the
  /// members, nothing between the kernel and its ops writes what it reads
  /// or reads what it writes, and every value its ops use is defined
  /// before the kernel or by an op that can move there (an allocation,
  /// its size, a view: `group.hoisted` collects them).
  bool hoistInto(SiblingGroup &group, linalg::LinalgOp projection,
                 llvm::MapVector<Operation *, Fused> &projections) {
    Operation *position = group.position;
    MemberAccess access = accessOf(projection, projections[projection]);
    if (position->getBlock() != projection->getBlock() ||
        !position->isBeforeInBlock(access.ops.front()))
      return false;
    SmallVector<linalg::LinalgOp> joined(group.members);
    joined.push_back(projection);
    if (!lowersTogether(joined, projections))
      return false;
    llvm::SmallPtrSet<Operation *, 8> own(access.ops.begin(),
                                          access.ops.end());
    auto aliases = [](ArrayRef<Value> buffers) {
      return [buffers](Value value) {
        return llvm::any_of(buffers, [&](Value buffer) {
          return densessm::mayAlias(value, buffer);
        });
      };
    };
    for (Operation *op = position->getNextNode(); op != access.ops.back();
         op = op->getNextNode())
      if (!own.contains(op) &&
          (densessm::mayWrite(op, aliases(access.touched)) ||
           densessm::mayRead(op, aliases(access.written))))
        return false;

    // The definitions after the kernel that its ops use, and theirs.
    llvm::SetVector<Operation *> needed;
    SmallVector<Value> pending;
    for (Operation *op : access.ops) {
      llvm::append_range(pending, op->getOperands());
      llvm::SetVector<Value> captured;
      getUsedValuesDefinedAbove(op->getRegions(), captured);
      llvm::append_range(pending, captured);
    }
    while (!pending.empty()) {
      Operation *definition = pending.pop_back_val().getDefiningOp();
      if (!definition || definition->getBlock() != position->getBlock() ||
          definition->isBeforeInBlock(position) || needed.contains(definition))
        continue;
      // Already moving up for an earlier hoist: to this kernel or before.
      if (auto it = hoistedTo.find(definition); it != hoistedTo.end()) {
        if (it->second == position || it->second->isBeforeInBlock(position))
          continue;
        return false;
      }
      if (definition == position || own.contains(definition) ||
          !densessm::canMovePast(definition, {}) ||
          isa<linalg::FillOp>(definition))
        return false;
      needed.insert(definition);
      llvm::append_range(pending, definition->getOperands());
    }
    SmallVector<Operation *> ordered(needed.begin(), needed.end());
    llvm::sort(ordered, [](Operation *a, Operation *b) {
      return a->isBeforeInBlock(b);
    });
    group.members = std::move(joined);
    group.hoistedMember = true;
    for (Operation *op : ordered) {
      group.hoisted.push_back(op);
      hoistedTo[op] = position;
    }
    return true;
  }

  /// The ops hoistInto moves up, each to the kernel it goes before.
  llvm::DenseMap<Operation *, Operation *> hoistedTo;

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

  /// One kernel for `group` (projections of the same x), where the last of
  /// their kernels would go: the projections, their fills and epilogues
  /// go away, or (rows decided at run time) into the `else` of the choice.
  void lower(SiblingGroup &siblings,
             llvm::MapVector<Operation *, Fused> &projections) {
    ArrayRef<linalg::LinalgOp> group = siblings.members;
    linalg::LinalgOp first = group.front();
    Value x = first.getDpsInputOperand(0)->get();
    Operation *position = siblings.position;
    SmallVector<Operation *> replaced;
    SmallVector<Member> members;
    for (linalg::LinalgOp op : group) {
      llvm::append_range(replaced, replacedOps(op, projections[op]));
      Value y = op.getDpsInitOperand(0)->get();
      members.push_back({op->getOperand(densessm::kProjectionWeightOperand), y,
                         bool(zeroFillBefore(op, y)), &projections[op]});
    }
    // (After the fills were found: a hoisted op may land between the last
    // member's fill and it.)
    for (Operation *op : siblings.hoisted)
      op->moveBefore(position);

    // The projections and the epilogues' ops move down past what lies
    // between (nothing that touches their buffers), or, hoisted, up.
    OpBuilder b(position);
    Location loc = first.getLoc();
    ProjectionSizes sizes = ProjectionSizes::of(b, loc, x, members.front().w);
    Value rows = b.createOrFold<arith::MulIOp>(loc, sizes.batch, sizes.length);
    int64_t width = wideLoads ? wideLoadWidth(members.front().w) : 1;
    const densessm::ProjectionPrologue *prologue = projections[first].prologue;
    int64_t parts = partsFor(x, members, width);
    if (choiceFor(first) == Choice::GEMV) {
      emitGEMV(b, loc, x, members, rows, blockSize, unroll, width, parts,
               prologue);
    } else {
      // Decided at run time: 1 <= rows <= max-rows and at least one
      // output.
      Value fits = rowsFit(b, loc, rows, maxRows);
      for (const Member &member : members)
        fits = arith::AndIOp::create(
            b, loc, fits,
            arith::CmpIOp::create(
                b, loc, arith::CmpIPredicate::uge,
                b.createOrFold<memref::DimOp>(loc, member.w, 0),
                index(b, loc, 1)));
      auto choice = scf::IfOp::create(b, loc, fits, /*withElseRegion=*/true);
      OpBuilder thenBuilder = choice.getThenBodyBuilder();
      emitGEMV(thenBuilder, loc, x, members, rows, blockSize, unroll, width,
               parts, prologue);
      // The other side keeps the fills, the projections and the epilogues
      // (moved in).
      OpBuilder elseBuilder = choice.getElseBodyBuilder();
      for (Operation *op : replaced)
        elseBuilder.clone(*op);
    }
    for (Operation *op : llvm::reverse(replaced))
      op->erase();
  }
};

} // namespace
