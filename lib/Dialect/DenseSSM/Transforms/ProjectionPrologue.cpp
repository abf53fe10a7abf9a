//===- ProjectionPrologue.cpp - a projection's input in its GEMV ----------===//

#include "ProjectionPrologue.h"
#include "PointwiseOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace mlir::densessm;
using namespace mlir::densessm::gpu_kernel;

namespace {

/// (b, l, i) -> (b, l): a row's value, broadcast along its inputs.
AffineMap rowMap(MLIRContext *context) {
  return AffineMap::get(
      3, 0, {getAffineDimExpr(0, context), getAffineDimExpr(1, context)},
      context);
}

/// Whether `generic` is on buffers, reads its inputs at the point or
/// broadcast, has one output and a body free of memory effects.
bool isPointwiseOnBuffers(linalg::GenericOp generic) {
  return generic.hasPureBufferSemantics() && generic.getNumDpsInits() == 1 &&
         hasPureBody(generic) &&
         llvm::all_of(generic.getDpsInputOperands(), [&](OpOperand *input) {
           return readsAtThePoint(generic.getMatchingIndexingMap(input));
         });
}

/// Whether `generic`'s loop `axis` is `size` long, statically.
bool hasStaticLoop(linalg::GenericOp generic, unsigned axis, int64_t size) {
  SmallVector<int64_t> ranges = generic.getStaticLoopRanges();
  return axis < ranges.size() && ranges[axis] == size;
}

/// The row statistic `input` reads through `operand` (s[b, l], broadcast),
/// when only a fill and one reduction over [b, l, i] (adding a value that
/// does not read s to it) write s: that reduction and fill, which can move
/// down to `input`.
std::optional<std::pair<linalg::FillOp, linalg::GenericOp>>
statisticOf(linalg::GenericOp input, OpOperand &operand, int64_t inputs) {
  Value s = operand.get();
  if (!isAllocation(s) ||
      input.getMatchingIndexingMap(&operand) != rowMap(input->getContext()))
    return std::nullopt;
  linalg::FillOp fill;
  linalg::GenericOp sum;
  for (OpOperand &use : s.getUses()) {
    Operation *user = use.getOwner();
    if (user == input)
      continue;
    if (auto f = dyn_cast<linalg::FillOp>(user);
        f && !fill && f.isDpsInit(&use))
      fill = f;
    else if (auto g = dyn_cast<linalg::GenericOp>(user);
             g && !sum && g.isDpsInit(&use))
      sum = g;
    else
      return std::nullopt;
  }
  if (!fill || !sum || !fill.hasPureBufferSemantics() ||
      !fill.value().getType().isF32() || !isPointwiseOnBuffers(sum) ||
      !hasStaticLoop(sum, 2, inputs))
    return std::nullopt;
  using IteratorType = utils::IteratorType;
  if (sum.getIteratorTypesArray() !=
          SmallVector<IteratorType>{IteratorType::parallel,
                                    IteratorType::parallel,
                                    IteratorType::reduction} ||
      sum.getMatchingIndexingMap(sum.getDpsInitOperand(0)) !=
          rowMap(sum->getContext()))
    return std::nullopt;
  // s + f(…): s read once, by that addf, and f not reading s.
  BlockArgument accumulated =
      sum.getMatchingBlockArgument(sum.getDpsInitOperand(0));
  auto add = sum.getBody()
                 ->getTerminator()
                 ->getOperand(0)
                 .getDefiningOp<arith::AddFOp>();
  if (!add || !accumulated.hasOneUse() ||
      (add.getLhs() != accumulated && add.getRhs() != accumulated) ||
      add.getLhs() == add.getRhs())
    return std::nullopt;
  for (OpOperand *sumInput : sum.getDpsInputOperands())
    if (bufferOf(sumInput->get()) == s)
      return std::nullopt;
  // Program order fill, sum, input; what lies between moves out of the way.
  if (fill->getBlock() != input->getBlock() ||
      sum->getBlock() != input->getBlock() || !fill->isBeforeInBlock(sum) ||
      !sum->isBeforeInBlock(input))
    return std::nullopt;
  SmallVector<Value> touched = {s, bufferOf(input.getDpsInitOperand(0)->get())};
  for (OpOperand *sumInput : sum.getDpsInputOperands())
    touched.push_back(bufferOf(sumInput->get()));
  for (Operation *op = fill->getNextNode(); op != input; op = op->getNextNode())
    if (op != sum && !canMovePast(op, touched))
      return std::nullopt;
  return std::make_pair(fill, sum);
}

} // namespace

std::optional<ProjectionPrologue>
ProjectionPrologue::of(Value x, ArrayRef<linalg::LinalgOp> projections,
                       Operation *lastKernel) {
  auto xType = dyn_cast<MemRefType>(x.getType());
  if (!isAllocation(x) || !xType || xType.getRank() != 3 ||
      xType.isDynamicDim(2) || xType.getDimSize(2) > kMaxStagedInputs)
    return std::nullopt;
  ProjectionPrologue prologue;
  prologue.inputs = xType.getDimSize(2);

  // One op writes x; the projections read it, nothing else uses it.
  for (OpOperand &use : x.getUses()) {
    Operation *user = use.getOwner();
    auto projection = dyn_cast<linalg::LinalgOp>(user);
    if (projection && llvm::is_contained(projections, projection) &&
        use.getOperandNumber() == 0)
      continue;
    auto generic = dyn_cast<linalg::GenericOp>(user);
    if (!generic || prologue.input || !generic.isDpsInit(&use))
      return std::nullopt;
    prologue.input = generic;
  }
  linalg::GenericOp input = prologue.input;
  if (!input || !isPointwiseOnBuffers(input) || input.getNumLoops() != 3 ||
      input.getNumParallelLoops() != 3 ||
      !input.getMatchingIndexingMap(input.getDpsInitOperand(0)).isIdentity() ||
      !input.getMatchingBlockArgument(input.getDpsInitOperand(0)).use_empty() ||
      !hasStaticLoop(input, 2, prologue.inputs) ||
      input->getBlock() != lastKernel->getBlock())
    return std::nullopt;
  for (linalg::LinalgOp projection : projections)
    if (projection->getBlock() != input->getBlock() ||
        !input->isBeforeInBlock(projection))
      return std::nullopt;

  // What the kernels read instead of x, unchanged until the last of them.
  SmallVector<Value> read;
  for (OpOperand *operand : input.getDpsInputOperands()) {
    if (bufferOf(operand->get()) == x)
      return std::nullopt;
    if (!prologue.statistic)
      if (auto statistic = statisticOf(input, *operand, prologue.inputs)) {
        std::tie(prologue.statisticInit, prologue.statistic) = *statistic;
        prologue.statisticOperand = operand->getOperandNumber();
        for (OpOperand *sumInput : prologue.statistic.getDpsInputOperands())
          read.push_back(bufferOf(sumInput->get()));
        continue;
      }
    read.push_back(bufferOf(operand->get()));
  }
  // The block computes the statistic for the one operand that reads it;
  // another read of s would load what is no longer written.
  if (prologue.statistic &&
      llvm::is_contained(read, input->getOperand(prologue.statisticOperand)))
    return std::nullopt;
  for (Operation *op = input->getNextNode(); op != lastKernel->getNextNode();
       op = op->getNextNode())
    if (mayWriteAny(op, read))
      return std::nullopt;
  return prologue;
}

Value ProjectionPrologue::emit(OpBuilder &b, Location loc,
                               const KernelContext &kernel, int64_t blockSize,
                               Value batch, Value token,
                               const StagedInputs &layout) const {
  Value count = index(b, loc, inputs);

  Value statisticValue;
  if (statistic) {
    // The row's sum: each thread's part (inputs thread, thread +
    // blockSize, ..., as the row is staged below), each warp's, then the
    // block's (in every thread).
    Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0f));
    linalg::GenericOp sum = statistic; // its accessors are not const
    OpOperand *accumulator = sum.getDpsInitOperand(0);
    auto part = scf::ForOp::create(
        b, loc, kernel.thread, count, index(b, loc, blockSize),
        ValueRange{zero},
        [&](OpBuilder &lb, Location ll, Value i, ValueRange carried) {
          Value next = emitBodyAt(
              lb, ll, sum, {batch, token, i}, [&](OpOperand &operand) {
                return &operand == accumulator ? carried[0] : Value();
              });
          scf::YieldOp::create(lb, ll, next);
        });
    Value warpPart = warpSum(b, loc, part.getResult(0));
    Value partials = kernel.workgroup[1];
    Value isLane0 = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                          kernel.lane, index(b, loc, 0));
    auto write = scf::IfOp::create(b, loc, isLane0, /*withElseRegion=*/false);
    OpBuilder wb = write.getThenBodyBuilder();
    memref::StoreOp::create(wb, loc, warpPart, partials, kernel.warp);
    gpu::BarrierOp::create(b, loc);
    linalg::FillOp fill = statisticInit;
    auto total = scf::ForOp::create(
        b, loc, index(b, loc, 0), index(b, loc, blockSize / kWarpSize),
        index(b, loc, 1), ValueRange{fill.value()},
        [&](OpBuilder &lb, Location ll, Value warp, ValueRange carried) {
          Value warpTotal = memref::LoadOp::create(lb, ll, partials, warp);
          scf::YieldOp::create(
              lb, ll,
              ValueRange{arith::AddFOp::create(lb, ll, carried[0], warpTotal)});
        });
    statisticValue = total.getResult(0);
  }

  linalg::GenericOp op = input;
  return layout.stage(
      b, loc, kernel, blockSize, count,
      [&](OpBuilder &lb, Location ll, Value i) {
        return emitBodyAt(lb, ll, op, {batch, token, i},
                          [&](OpOperand &operand) {
                            return statistic && operand.getOperandNumber() ==
                                                    statisticOperand
                                       ? statisticValue
                                       : Value();
                          });
      });
}

SmallVector<Operation *> ProjectionPrologue::ops() const {
  if (!statistic)
    return {input};
  return {statisticInit, statistic, input};
}
