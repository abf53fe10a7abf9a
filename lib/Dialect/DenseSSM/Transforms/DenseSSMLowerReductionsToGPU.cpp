//===- DenseSSMLowerReductionsToGPU.cpp - lower-reductions-to-gpu --------===//
//
// A sum over the trailing axes of a buffer (a norm's sum of squares, a
// group norm's per-head statistic) as one GPU block per output element.
//
// Left to --convert-linalg-to-parallel-loops and
// --densessm-map-parallel-loops-to-gpu, each output element is one thread
// with the whole reduction loop: a decode step's norm of k over 1024 values
// is a single thread adding them in turn, each partial sum stored and
// loaded again, while the GPU's other 131 SMs idle; a prefill's norms over
// 2048 tokens keep 8 blocks busy. Here the block's threads stride over the
// terms, and the block adds their sums (GPUKernel/BlockSum.cpp).
//
//===----------------------------------------------------------------------===//

#include "densessm/Dialect/DenseSSM/Transforms/Passes.h"

#include "GPUKernel/GPUKernel.h"
#include "PointwiseOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

namespace mlir::densessm {
#define GEN_PASS_DEF_DENSESSMLOWERREDUCTIONSTOGPU
#include "densessm/Dialect/DenseSSM/Transforms/Passes.h.inc"
} // namespace mlir::densessm

using namespace mlir;
using namespace mlir::densessm;
using namespace mlir::densessm::gpu_kernel;

namespace {

/// Terms each thread should add at least, so that a block is not mostly
/// idle lanes: the block has ceil(terms / 4) threads, rounded up to warps.
constexpr int64_t kTermsPerThread = 4;

/// A `linalg.generic` that sums into its one output, as the pass takes it.
struct SumReduction {
  linalg::GenericOp op;
  /// The loops of the domain by kind, in order.
  SmallVector<unsigned> parallelLoops, reductionLoops;
  /// The reduction loops' (static) sizes, and their product.
  SmallVector<int64_t> reductionSizes;
  int64_t terms = 1;
  /// The fill of the output right before the op, which the kernel absorbs.
  linalg::FillOp fill;
};

/// Whether `value` is the body's sum `s + f`, with `s` the output's block
/// argument used nowhere else (so `f` does not read the running sum).
bool isSumOfOutput(Value value, BlockArgument output) {
  auto add = value.getDefiningOp<arith::AddFOp>();
  return add && output.hasOneUse() &&
         (add.getLhs() == output || add.getRhs() == output);
}

std::optional<SumReduction> matchSum(linalg::GenericOp op, int64_t minSize) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInits() != 1 ||
      op.getNumReductionLoops() == 0 || !hasPureBody(op))
    return std::nullopt;
  OpOperand *init = op.getDpsInitOperand(0);
  auto outputType = dyn_cast<MemRefType>(init->get().getType());
  if (!outputType || !outputType.getElementType().isF32())
    return std::nullopt;
  Block *body = op.getBody();
  if (!isSumOfOutput(body->getTerminator()->getOperand(0),
                     op.getMatchingBlockArgument(init)))
    return std::nullopt;
  // Every input read at the point (or broadcast), so that emitBodyAt can
  // load it.
  for (OpOperand *input : op.getDpsInputOperands())
    if (!readsAtThePoint(op.getMatchingIndexingMap(input)))
      return std::nullopt;

  SumReduction sum;
  sum.op = op;
  SmallVector<int64_t> sizes = op.getStaticLoopRanges();
  for (auto [loop, type] : llvm::enumerate(op.getIteratorTypesArray())) {
    if (type == utils::IteratorType::parallel) {
      sum.parallelLoops.push_back(loop);
      continue;
    }
    if (ShapedType::isDynamic(sizes[loop]))
      return std::nullopt;
    sum.reductionLoops.push_back(loop);
    sum.reductionSizes.push_back(sizes[loop]);
    sum.terms *= sizes[loop];
  }
  if (sum.terms < minSize)
    return std::nullopt;
  // The output is indexed by exactly the parallel loops, each once: every
  // output element is one block's, and the block writes it once.
  AffineMap outputMap = op.getMatchingIndexingMap(init);
  if (outputMap.getNumResults() != sum.parallelLoops.size() ||
      !outputMap.isProjectedPermutation())
    return std::nullopt;
  for (AffineExpr result : outputMap.getResults())
    if (!llvm::is_contained(sum.parallelLoops,
                            cast<AffineDimExpr>(result).getPosition()))
      return std::nullopt;

  auto fill = dyn_cast_or_null<linalg::FillOp>(op->getPrevNode());
  if (fill && fill.hasPureBufferSemantics() &&
      fill.getDpsInitOperand(0)->get() == init->get() &&
      fill.value().getType().isF32())
    sum.fill = fill;
  return sum;
}

/// Splits the linear index `linear` into `sizes` (the last fastest).
SmallVector<Value> delinearize(OpBuilder &b, Location loc, Value linear,
                               ArrayRef<Value> sizes) {
  SmallVector<Value> indices(sizes.size());
  Value rest = linear;
  for (int64_t axis = sizes.size() - 1; axis > 0; --axis) {
    indices[axis] = arith::RemUIOp::create(b, loc, rest, sizes[axis]);
    rest = arith::DivUIOp::create(b, loc, rest, sizes[axis]);
  }
  if (!sizes.empty())
    indices[0] = rest;
  return indices;
}

/// Replaces `sum` (and its fill) by the kernel: one block per output
/// element, `threads` threads adding its terms.
void lowerSum(SumReduction sum, int64_t maxThreads) {
  linalg::GenericOp op = sum.op;
  OpBuilder b(op);
  Location loc = op.getLoc();
  const int64_t threads = std::min<int64_t>(
      maxThreads, llvm::alignTo(llvm::divideCeil(sum.terms, kTermsPerThread),
                                kWarpSize));
  const int64_t warps = threads / kWarpSize;

  SmallVector<Range, 4> ranges =
      cast<linalg::LinalgOp>(op.getOperation()).createLoopRanges(b, loc);
  SmallVector<Value> parallelSizes, reductionSizes;
  for (unsigned loop : sum.parallelLoops)
    parallelSizes.push_back(
        getValueOrCreateConstantIndexOp(b, loc, ranges[loop].size));
  for (int64_t size : sum.reductionSizes)
    reductionSizes.push_back(index(b, loc, size));
  // Folded as it goes, so that static sizes give a constant.
  Value points = index(b, loc, 1);
  for (Value size : parallelSizes)
    points = b.createOrFold<arith::MulIOp>(loc, points, size);
  std::optional<int64_t> staticPoints = getConstantIntValue(points);

  OpOperand *init = op.getDpsInitOperand(0);
  Value output = init->get();
  AffineMap outputMap = op.getMatchingIndexingMap(init);
  Value fillValue = sum.fill ? sum.fill.value() : Value();

  auto buildKernel = [&](OpBuilder &gb) {
    launch(
        gb, loc, points, index(gb, loc, 1), threads,
        warps > 1 ? SmallVector<int64_t>{warps} : SmallVector<int64_t>{},
        [&](OpBuilder &kb, Location kl, const KernelContext &kernel) {
          SmallVector<Value> point(op.getNumLoops());
          for (auto [loop, idx] :
               llvm::zip(sum.parallelLoops,
                         delinearize(kb, kl, kernel.blockX, parallelSizes)))
            point[loop] = idx;
          // -0.0 is the sum's identity: the body's `s + f` is `f` exactly.
          Value identity = arith::ConstantOp::create(
              kb, kl, kb.getF32FloatAttr(-0.0f));
          Value zero =
              arith::ConstantOp::create(kb, kl, kb.getF32FloatAttr(0.0f));
          auto terms = scf::ForOp::create(
              kb, kl, kernel.thread, index(kb, kl, sum.terms),
              index(kb, kl, threads), ValueRange{zero},
              [&](OpBuilder &tb, Location tl, Value r, ValueRange acc) {
                SmallVector<Value> termPoint = point;
                for (auto [loop, idx] : llvm::zip(
                         sum.reductionLoops,
                         delinearize(tb, tl, r, reductionSizes)))
                  termPoint[loop] = idx;
                Value term = emitBodyAt(
                    tb, tl, op, termPoint, [&](OpOperand &operand) -> Value {
                      return &operand == init ? identity : Value();
                    });
                scf::YieldOp::create(
                    tb, tl,
                    ValueRange{arith::AddFOp::create(tb, tl, acc[0], term)});
              });
          Value partials = warps > 1 ? kernel.workgroup[0] : Value();
          Value total =
              blockSum(kb, kl, kernel, partials, warps, terms.getResult(0));
          Value isThread0 =
              arith::CmpIOp::create(kb, kl, arith::CmpIPredicate::eq,
                                    kernel.thread, index(kb, kl, 0));
          auto store =
              scf::IfOp::create(kb, kl, isThread0, /*withElseRegion=*/false);
          OpBuilder sb = store.getThenBodyBuilder();
          SmallVector<Value> outputIndices;
          for (AffineExpr result : outputMap.getResults())
            outputIndices.push_back(
                point[cast<AffineDimExpr>(result).getPosition()]);
          Value before =
              fillValue ? fillValue
                        : memref::LoadOp::create(sb, kl, output, outputIndices)
                              .getResult();
          memref::StoreOp::create(sb, kl,
                                  arith::AddFOp::create(sb, kl, before, total),
                                  output, outputIndices);
        });
  };
  // A grid of zero blocks is an error in CUDA: nothing to reduce launches
  // nothing.
  if (staticPoints) {
    if (*staticPoints > 0)
      buildKernel(b);
  } else {
    Value any = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ugt,
                                      points, index(b, loc, 0));
    auto guard = scf::IfOp::create(b, loc, any, /*withElseRegion=*/false);
    OpBuilder gb = guard.getThenBodyBuilder();
    buildKernel(gb);
  }
  if (sum.fill)
    sum.fill.erase();
  op.erase();
}

struct LowerReductionsToGPUPass
    : densessm::impl::DenseSSMLowerReductionsToGPUBase<
          LowerReductionsToGPUPass> {
  using Base::Base;
  void runOnOperation() override {
    if (blockSize < kWarpSize || blockSize > 1024 || blockSize % kWarpSize) {
      emitError(getOperation()->getLoc())
          << "--densessm-lower-reductions-to-gpu: option 'block-size' must be "
             "a multiple of 32 in [32, 1024], found "
          << static_cast<int64_t>(blockSize);
      return signalPassFailure();
    }
    if (minSize < 1) {
      emitError(getOperation()->getLoc())
          << "--densessm-lower-reductions-to-gpu: option 'min-size' must be "
             "at least 1, found "
          << static_cast<int64_t>(minSize);
      return signalPassFailure();
    }
    SmallVector<SumReduction> sums;
    getOperation()->walk([&](linalg::GenericOp op) {
      if (op->getParentOfType<gpu::LaunchOp>() ||
          op->getParentOfType<gpu::GPUModuleOp>())
        return;
      if (std::optional<SumReduction> sum = matchSum(op, minSize))
        sums.push_back(*sum);
    });
    for (SumReduction &sum : sums)
      lowerSum(sum, blockSize);
  }
};

} // namespace
