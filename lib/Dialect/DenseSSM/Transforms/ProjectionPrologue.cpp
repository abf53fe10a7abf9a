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

/// (b, l, g..., d) -> (b, l, g...): a group's value, broadcast along d.
AffineMap groupMap(MLIRContext *context, unsigned rank) {
  return AffineMap::getMultiDimIdentityMap(rank, context).dropResult(rank - 1);
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

/// Whether `generic`'s loops are those of y[b, l, g..., d], `shape` being
/// the static sizes of (g..., d).
bool hasRowLoops(linalg::GenericOp generic, ArrayRef<int64_t> shape) {
  SmallVector<int64_t> ranges = generic.getStaticLoopRanges();
  return ranges.size() == shape.size() + 2 &&
         ArrayRef<int64_t>(ranges).drop_front(2) == shape;
}

/// The statistic `input` reads through `operand` (s[b, l, g...],
/// broadcast along d), when only a fill and one reduction over
/// [b, l, g..., d] (adding a value that does not read s to it) write s:
/// that reduction and fill, which can move down to `input`.
std::optional<std::pair<linalg::FillOp, linalg::GenericOp>>
statisticOf(linalg::GenericOp input, OpOperand &operand,
            ArrayRef<int64_t> shape) {
  Value s = operand.get();
  unsigned rank = input.getNumLoops();
  if (!isAllocation(s) || input.getMatchingIndexingMap(&operand) !=
                              groupMap(input->getContext(), rank))
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
      !hasRowLoops(sum, shape))
    return std::nullopt;
  using IteratorType = utils::IteratorType;
  SmallVector<IteratorType> iterators(rank, IteratorType::parallel);
  iterators.back() = IteratorType::reduction;
  if (sum.getIteratorTypesArray() != iterators ||
      sum.getMatchingIndexingMap(sum.getDpsInitOperand(0)) !=
          groupMap(sum->getContext(), rank))
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

/// The buffer x is written through: x itself, or the allocation whose
/// trailing axes x collapses into its input axis ([[0], [1], [2, ...]]).
/// Null when x is another view.
Value writtenThrough(Value x) {
  auto collapse = x.getDefiningOp<memref::CollapseShapeOp>();
  if (!collapse)
    return x;
  SmallVector<ReassociationIndices> groups = collapse.getReassociationIndices();
  if (groups.size() != 3 || groups[0] != ReassociationIndices{0} ||
      groups[1] != ReassociationIndices{1} || groups[2].front() != 2)
    return nullptr;
  return collapse.getSrc();
}

} // namespace

std::optional<ProjectionPrologue>
ProjectionPrologue::of(Value x, ArrayRef<linalg::LinalgOp> projections,
                       Operation *lastKernel) {
  auto xType = dyn_cast<MemRefType>(x.getType());
  Value y = writtenThrough(x);
  if (!xType || xType.getRank() != 3 || xType.isDynamicDim(2) ||
      xType.getDimSize(2) > kMaxStagedInputs || !y || !isAllocation(y) ||
      llvm::is_contained(cast<MemRefType>(y.getType()).getShape(), 0))
    return std::nullopt;
  ProjectionPrologue prologue;
  prologue.inputs = xType.getDimSize(2);
  llvm::append_range(prologue.inputShape,
                     cast<MemRefType>(y.getType()).getShape().drop_front(2));

  // One op writes y; the projections read x, nothing else uses either.
  auto readByProjection = [&](OpOperand &use) {
    auto projection = dyn_cast<linalg::LinalgOp>(use.getOwner());
    return projection && llvm::is_contained(projections, projection) &&
           use.getOperandNumber() == 0;
  };
  if (y != x && !llvm::all_of(x.getUses(), readByProjection))
    return std::nullopt;
  for (OpOperand &use : y.getUses()) {
    Operation *user = use.getOwner();
    if (y != x ? user == x.getDefiningOp() : readByProjection(use))
      continue;
    auto generic = dyn_cast<linalg::GenericOp>(user);
    if (!generic || prologue.input || !generic.isDpsInit(&use))
      return std::nullopt;
    prologue.input = generic;
  }
  linalg::GenericOp input = prologue.input;
  if (!input || !isPointwiseOnBuffers(input) ||
      input.getNumParallelLoops() != input.getNumLoops() ||
      !input.getMatchingIndexingMap(input.getDpsInitOperand(0)).isIdentity() ||
      !input.getMatchingBlockArgument(input.getDpsInitOperand(0)).use_empty() ||
      !hasRowLoops(input, prologue.inputShape) ||
      input->getBlock() != lastKernel->getBlock())
    return std::nullopt;
  for (linalg::LinalgOp projection : projections)
    if (projection->getBlock() != input->getBlock() ||
        !input->isBeforeInBlock(projection))
      return std::nullopt;

  // What the kernels read instead of x, unchanged until the last of them.
  SmallVector<Value> read;
  for (OpOperand *operand : input.getDpsInputOperands()) {
    if (bufferOf(operand->get()) == y)
      return std::nullopt;
    if (!prologue.statistic)
      if (auto statistic = statisticOf(input, *operand, prologue.inputShape)) {
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
                               const StagedInputs &layout,
                               SmallVectorImpl<scf::ForOp> &loops) const {
  // Input i of the row is y[batch, token, g..., d], i = (g..., d) in
  // row-major order.
  auto pointAt = [&](OpBuilder &pb, Location pl, Value i) {
    return rowPoint(pb, pl, inputShape, batch, token, i);
  };

  Value partials;
  const int64_t segments =
      statistic ? segmentsPerGroup(blockSize / kWarpSize) : 0;
  if (statistic) {
    // Each group's sum in `segments` parts, one warp's each: warp w takes
    // segments w, w + warps, ... (segment c of group g: the group's
    // elements c·E .. c·E + E, E = ceil(D / segments), over its lanes),
    // and its lane 0 keeps the part. Every element is summed once.
    const int64_t size = groupSize();
    const int64_t stride = (size + segments - 1) / segments;
    Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0f));
    linalg::GenericOp sum = statistic; // its accessors are not const
    OpOperand *accumulator = sum.getDpsInitOperand(0);
    partials = kernel.workgroup[1];
    scf::ForOp::create(
        b, loc, kernel.warp, index(b, loc, groups() * segments),
        index(b, loc, blockSize / kWarpSize), ValueRange{},
        [&](OpBuilder &sb, Location sl, Value segment, ValueRange) {
          Value group =
              arith::DivUIOp::create(sb, sl, segment, index(sb, sl, segments));
          Value start = arith::MulIOp::create(
              sb, sl,
              arith::RemUIOp::create(sb, sl, segment, index(sb, sl, segments)),
              index(sb, sl, stride));
          Value stop = arith::MinUIOp::create(
              sb, sl,
              arith::AddIOp::create(sb, sl, start, index(sb, sl, stride)),
              index(sb, sl, size));
          Value first =
              arith::MulIOp::create(sb, sl, group, index(sb, sl, size));
          auto part = scf::ForOp::create(
              sb, sl,
              arith::AddIOp::create(sb, sl,
                                    arith::AddIOp::create(sb, sl, first, start),
                                    kernel.lane),
              arith::AddIOp::create(sb, sl, first, stop),
              index(sb, sl, kWarpSize), ValueRange{zero},
              [&](OpBuilder &lb, Location ll, Value i, ValueRange carried) {
                Value next = emitBodyAt(
                    lb, ll, sum, pointAt(lb, ll, i), [&](OpOperand &operand) {
                      return &operand == accumulator ? carried[0] : Value();
                    });
                scf::YieldOp::create(lb, ll, next);
              });
          loops.push_back(part);
          Value warpPart = warpSum(sb, sl, part.getResult(0));
          Value isLane0 = arith::CmpIOp::create(
              sb, sl, arith::CmpIPredicate::eq, kernel.lane, index(sb, sl, 0));
          auto write =
              scf::IfOp::create(sb, sl, isLane0, /*withElseRegion=*/false);
          OpBuilder wb = write.getThenBodyBuilder();
          memref::StoreOp::create(wb, sl, warpPart, partials, segment);
          scf::YieldOp::create(sb, sl);
        });
    gpu::BarrierOp::create(b, loc);
  }

  // Input i's statistic: the fill's value plus its group's parts.
  auto statisticAt = [&](OpBuilder &sb, Location sl, Value i) {
    linalg::FillOp fill = statisticInit;
    Value first = arith::MulIOp::create(
        sb, sl, arith::DivUIOp::create(sb, sl, i, index(sb, sl, groupSize())),
        index(sb, sl, segments));
    auto total = scf::ForOp::create(
        sb, sl, first,
        arith::AddIOp::create(sb, sl, first, index(sb, sl, segments)),
        index(sb, sl, 1), ValueRange{fill.value()},
        [&](OpBuilder &lb, Location ll, Value segment, ValueRange carried) {
          Value part = memref::LoadOp::create(lb, ll, partials, segment);
          scf::YieldOp::create(
              lb, ll,
              ValueRange{arith::AddFOp::create(lb, ll, carried[0], part)});
        });
    return total.getResult(0);
  };

  linalg::GenericOp op = input;
  return layout.stage(
      b, loc, kernel, blockSize, index(b, loc, inputs),
      [&](OpBuilder &lb, Location ll, Value i) {
        return emitBodyAt(
            lb, ll, op, pointAt(lb, ll, i), [&](OpOperand &operand) {
              return statistic && operand.getOperandNumber() == statisticOperand
                         ? statisticAt(lb, ll, i)
                         : Value();
            });
      },
      loops);
}

SmallVector<Operation *> ProjectionPrologue::ops() const {
  if (!statistic)
    return {input};
  return {statisticInit, statistic, input};
}
