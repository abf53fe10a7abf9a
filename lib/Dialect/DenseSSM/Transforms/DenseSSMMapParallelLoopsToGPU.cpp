//===- DenseSSMMapParallelLoopsToGPU.cpp - map-parallel-loops-to-gpu ------===//
//
// Prepares the host code's parallel loops (what --convert-linalg-to-parallel-
// loops makes of the models' elementwise ops, norms, convolutions and
// projections) for --convert-parallel-loops-to-gpu: each outermost
// scf.parallel is flattened to one dimension and cut into blocks of
// `block-size` iterations, an outer loop over blocks mapped to the grid's
// x axis and an inner loop mapped to the threads of a block, with the
// original induction variables recovered from the linear index and the
// iterations past the end skipped. Upstream --gpu-map-parallel-loops would
// map each dimension of a one-level loop nest to a grid axis with one thread
// per block.
//
// With `fuse-siblings`, consecutive loops that share no buffer one of them
// writes (a Mamba decode step's convolution output and its window update,
// over B·C and B·C·3 points) become one kernel over the larger of their
// iteration spaces, each body guarded by its own: one launch instead of
// several. --scf-parallel-loop-fusion only merges loops of equal bounds.
//
//===----------------------------------------------------------------------===//

#include "densessm/Dialect/DenseSSM/Transforms/Passes.h"

#include "PointwiseOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/ParallelLoopMapper.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"

namespace mlir::densessm {
#define GEN_PASS_DEF_DENSESSMMAPPARALLELLOOPSTOGPU
#include "densessm/Dialect/DenseSSM/Transforms/Passes.h.inc"
} // namespace mlir::densessm

using namespace mlir;
using namespace mlir::densessm;

namespace {

bool isHostLoop(scf::ParallelOp loop) {
  return !loop->getParentOfType<scf::ParallelOp>() &&
         !loop->getParentOfType<gpu::LaunchOp>() &&
         !loop->getParentOfType<gpu::GPUModuleOp>();
}

void setMapping(scf::ParallelOp loop, gpu::Processor processor) {
  MLIRContext *context = loop.getContext();
  AffineMap identity = AffineMap::getMultiDimIdentityMap(1, context);
  SmallVector<Attribute> mapping(loop.getNumLoops(),
                                 gpu::ParallelLoopDimMappingAttr::get(
                                     context, processor, identity, identity));
  loop->setAttr(gpu::getMappingAttrName(), ArrayAttr::get(context, mapping));
}

/// One loop nest's iteration space, flattened: the trip count of each
/// dimension, max(0, ceil((ub - lb) / step)), and of the whole nest
/// (constants when the bounds are).
struct FlatSpace {
  SmallVector<Value> counts;
  Value total;
  std::optional<int64_t> staticTotal = 1;
};

FlatSpace flatten(OpBuilder &b, scf::ParallelOp loop) {
  Location loc = loop.getLoc();
  auto index = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  FlatSpace space;
  for (auto [lb, ub, step] :
       llvm::zip(loop.getLowerBound(), loop.getUpperBound(), loop.getStep())) {
    std::optional<int64_t> l = getConstantIntValue(lb),
                           u = getConstantIntValue(ub),
                           s = getConstantIntValue(step);
    if (l && u && s && *s > 0) {
      int64_t count = *u > *l ? (*u - *l + *s - 1) / *s : 0;
      space.counts.push_back(index(count));
      if (space.staticTotal)
        *space.staticTotal *= count;
      continue;
    }
    Value count = arith::MaxSIOp::create(
        b, loc, index(0),
        arith::CeilDivSIOp::create(
            b, loc, arith::SubIOp::create(b, loc, ub, lb), step));
    space.counts.push_back(count);
    space.staticTotal.reset();
  }
  space.total = space.counts.front();
  for (Value count : ArrayRef<Value>(space.counts).drop_front())
    space.total = arith::MulIOp::create(b, loc, space.total, count);
  if (space.staticTotal)
    space.total = index(*space.staticTotal);
  return space;
}

/// Replaces the loops of `group` (consecutive and independent: see
/// joinsGroup) by blocks x threads over the largest of their flattened
/// iteration spaces, where the last of them was; each thread runs each
/// loop's body at its linear index when that is inside the loop's space.
void mapLoops(ArrayRef<scf::ParallelOp> group, int64_t blockSize) {
  scf::ParallelOp last = group.back();
  OpBuilder b(last);
  Location loc = last.getLoc();
  auto index = [&](OpBuilder &ib, int64_t v) -> Value {
    return arith::ConstantIndexOp::create(ib, loc, v);
  };
  // An empty iteration space runs nothing (a grid of zero blocks is an
  // error in CUDA).
  SmallVector<scf::ParallelOp> loops;
  SmallVector<FlatSpace> spaces;
  for (scf::ParallelOp loop : group) {
    FlatSpace space = flatten(b, loop);
    if (space.staticTotal == 0)
      continue;
    loops.push_back(loop);
    spaces.push_back(std::move(space));
  }
  auto eraseGroup = [&] {
    for (scf::ParallelOp loop : group)
      loop.erase();
  };
  if (loops.empty())
    return eraseGroup();
  Value total = spaces.front().total;
  std::optional<int64_t> staticTotal = spaces.front().staticTotal;
  for (const FlatSpace &space : ArrayRef<FlatSpace>(spaces).drop_front()) {
    total = arith::MaxUIOp::create(b, loc, total, space.total);
    if (staticTotal && space.staticTotal)
      staticTotal = std::max(*staticTotal, *space.staticTotal);
    else
      staticTotal.reset();
  }
  if (staticTotal)
    total = index(b, *staticTotal);
  Value blocks =
      staticTotal
          ? index(b, (*staticTotal + blockSize - 1) / blockSize)
          : arith::CeilDivUIOp::create(b, loc, total, index(b, blockSize))
                .getResult();
  auto build = [&](OpBuilder &gb) {
    auto grid = scf::ParallelOp::create(
        gb, loc, ValueRange{index(gb, 0)}, ValueRange{blocks},
        ValueRange{index(gb, 1)},
        [&](OpBuilder &ob, Location, ValueRange blockIv) {
          auto threads = scf::ParallelOp::create(
              ob, loc, ValueRange{index(ob, 0)},
              ValueRange{index(ob, blockSize)}, ValueRange{index(ob, 1)},
              [&](OpBuilder &tb, Location, ValueRange threadIv) {
                Value linear = arith::AddIOp::create(
                    tb, loc,
                    arith::MulIOp::create(tb, loc, blockIv[0],
                                          index(tb, blockSize)),
                    threadIv[0]);
                for (auto [loop, space] : llvm::zip(loops, spaces)) {
                  Value inside =
                      arith::CmpIOp::create(tb, loc, arith::CmpIPredicate::ult,
                                            linear, space.total);
                  auto guard = scf::IfOp::create(tb, loc, inside,
                                                 /*withElseRegion=*/false);
                  OpBuilder ib = guard.getThenBodyBuilder();
                  // Last dimension fastest, as the original loop nest.
                  IRMapping mapping;
                  for (auto [d, idx] : llvm::enumerate(
                           delinearize(ib, loc, linear, space.counts))) {
                    Value iv = arith::AddIOp::create(
                        ib, loc, loop.getLowerBound()[d],
                        arith::MulIOp::create(ib, loc, idx,
                                              loop.getStep()[d]));
                    mapping.map(loop.getInductionVars()[d], iv);
                  }
                  for (Operation &op : loop.getBody()->without_terminator())
                    ib.clone(op, mapping);
                }
              });
          setMapping(threads, gpu::Processor::ThreadX);
        });
    setMapping(grid, gpu::Processor::BlockX);
    // Parallel loops nested in the body run sequentially in each thread.
    grid.walk([&](scf::ParallelOp nested) {
      if (nested != grid && !nested->hasAttr(gpu::getMappingAttrName()))
        setMapping(nested, gpu::Processor::Sequential);
    });
  };
  if (staticTotal) {
    build(b);
  } else {
    Value any = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ugt, total,
                                      index(b, 0));
    auto guard = scf::IfOp::create(b, loc, any, /*withElseRegion=*/false);
    OpBuilder gb = guard.getThenBodyBuilder();
    build(gb);
  }
  eraseGroup();
}

/// Whether `next` may join `group` (whose last loop comes before it in the
/// same block): only ops that touch no memory lie between (allocations,
/// views, index arithmetic, which the group's bodies can move down past),
/// and no member writes what `next` reads or writes, nor reads what it
/// writes.
bool joinsGroup(ArrayRef<scf::ParallelOp> group, scf::ParallelOp next) {
  Operation *last = group.back();
  if (last->getBlock() != next->getBlock() || !last->isBeforeInBlock(next))
    return false;
  for (Operation *op = last->getNextNode(); op != next;
       op = op->getNextNode())
    if (!touchesNoMemory(op))
      return false;
  return llvm::none_of(group, [&](scf::ParallelOp member) {
    return mayConflict(member, next);
  });
}

struct MapParallelLoopsToGPUPass
    : densessm::impl::DenseSSMMapParallelLoopsToGPUBase<
          MapParallelLoopsToGPUPass> {
  using Base::Base;
  void runOnOperation() override {
    if (blockSize < 32 || blockSize > 1024 || blockSize % 32 != 0) {
      emitError(getOperation()->getLoc())
          << "--densessm-map-parallel-loops-to-gpu: option 'block-size' must "
             "be a multiple of 32 in [32, 1024], found "
          << static_cast<int64_t>(blockSize);
      return signalPassFailure();
    }
    // Groups of consecutive independent loops (one loop each without
    // fuse-siblings).
    SmallVector<SmallVector<scf::ParallelOp>> groups;
    getOperation()->walk([&](scf::ParallelOp loop) {
      // Loops with reductions stay on the host (scf-to-cf makes them
      // sequential there).
      if (!isHostLoop(loop) || !loop.getInitVals().empty() ||
          loop->hasAttr(gpu::getMappingAttrName()))
        return;
      if (fuseSiblings && !groups.empty() && joinsGroup(groups.back(), loop))
        groups.back().push_back(loop);
      else
        groups.push_back({loop});
    });
    for (ArrayRef<scf::ParallelOp> group : groups)
      mapLoops(group, blockSize);
  }
};

} // namespace
