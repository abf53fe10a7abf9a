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
//===----------------------------------------------------------------------===//

#include "densessm/Dialect/DenseSSM/Transforms/Passes.h"

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

/// Replaces `loop` by blocks x threads over its flattened iteration space.
void mapLoop(scf::ParallelOp loop, int64_t blockSize) {
  OpBuilder b(loop);
  Location loc = loop.getLoc();
  auto index = [&](OpBuilder &ib, int64_t v) -> Value {
    return arith::ConstantIndexOp::create(ib, loc, v);
  };
  // Trip count of each dimension, max(0, ceil((ub - lb) / step)), and of the
  // whole nest; constants when the bounds are.
  SmallVector<Value> counts;
  std::optional<int64_t> staticTotal = 1;
  for (auto [lb, ub, step] :
       llvm::zip(loop.getLowerBound(), loop.getUpperBound(), loop.getStep())) {
    std::optional<int64_t> l = getConstantIntValue(lb),
                           u = getConstantIntValue(ub),
                           s = getConstantIntValue(step);
    if (l && u && s && *s > 0) {
      int64_t count = *u > *l ? (*u - *l + *s - 1) / *s : 0;
      counts.push_back(index(b, count));
      if (staticTotal)
        *staticTotal *= count;
      continue;
    }
    Value count = arith::MaxSIOp::create(
        b, loc, index(b, 0),
        arith::CeilDivSIOp::create(
            b, loc, arith::SubIOp::create(b, loc, ub, lb), step));
    counts.push_back(count);
    staticTotal.reset();
  }
  Value total = counts.front();
  for (Value count : ArrayRef<Value>(counts).drop_front())
    total = arith::MulIOp::create(b, loc, total, count);
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
                Value inside = arith::CmpIOp::create(
                    tb, loc, arith::CmpIPredicate::ult, linear, total);
                auto guard = scf::IfOp::create(tb, loc, inside,
                                               /*withElseRegion=*/false);
                OpBuilder ib = guard.getThenBodyBuilder();
                // Last dimension fastest, as the original loop nest.
                IRMapping mapping;
                Value rest = linear;
                for (int64_t d = loop.getNumLoops() - 1; d >= 0; --d) {
                  Value idx =
                      d == 0 ? rest
                             : arith::RemUIOp::create(ib, loc, rest, counts[d])
                                   .getResult();
                  if (d > 0)
                    rest = arith::DivUIOp::create(ib, loc, rest, counts[d]);
                  Value iv = arith::AddIOp::create(
                      ib, loc, loop.getLowerBound()[d],
                      arith::MulIOp::create(ib, loc, idx, loop.getStep()[d]));
                  mapping.map(loop.getInductionVars()[d], iv);
                }
                for (Operation &op : loop.getBody()->without_terminator())
                  ib.clone(op, mapping);
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
  // An empty iteration space launches nothing (a grid of zero blocks is an
  // error in CUDA).
  if (staticTotal == 0) {
    loop.erase();
    return;
  }
  if (staticTotal) {
    build(b);
  } else {
    Value any = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ugt, total,
                                      index(b, 0));
    auto guard = scf::IfOp::create(b, loc, any, /*withElseRegion=*/false);
    OpBuilder gb = guard.getThenBodyBuilder();
    build(gb);
  }
  loop.erase();
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
    SmallVector<scf::ParallelOp> loops;
    getOperation()->walk([&](scf::ParallelOp loop) {
      // Loops with reductions stay on the host (scf-to-cf makes them
      // sequential there).
      if (isHostLoop(loop) && loop.getInitVals().empty() &&
          !loop->hasAttr(gpu::getMappingAttrName()))
        loops.push_back(loop);
    });
    for (scf::ParallelOp loop : loops)
      mapLoop(loop, blockSize);
  }
};

} // namespace
