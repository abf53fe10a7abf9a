//===- ProjectionEpilogue.cpp - elementwise ops folded into a GEMV --------===//

#include "ProjectionEpilogue.h"
#include "PointwiseOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

using namespace mlir;
using namespace mlir::densessm;

namespace {

/// The sizes `view`, y (or a cast of it) with its output axis split
/// (expand_shape [[0], [1], [2, ...]] of static trailing sizes), splits it
/// into; none otherwise.
std::optional<SmallVector<int64_t>> outputSplitOf(Value view, Value y) {
  auto expand = view.getDefiningOp<memref::ExpandShapeOp>();
  if (!expand)
    return std::nullopt;
  // y itself, or y cast to static sizes.
  Value source = expand.getSrc();
  if (auto cast = source.getDefiningOp<memref::CastOp>())
    source = cast.getSource();
  if (source != y)
    return std::nullopt;
  SmallVector<ReassociationIndices> groups =
      expand.getReassociationIndices();
  if (groups.size() != 3 || groups[0].size() != 1 || groups[1].size() != 1)
    return std::nullopt;
  SmallVector<int64_t> sizes;
  for (int64_t axis : groups[2]) {
    int64_t size = expand.getResultType().getDimSize(axis);
    if (ShapedType::isDynamic(size))
      return std::nullopt;
    sizes.push_back(size);
  }
  return sizes;
}

/// The buffers the kernel reads (x, w, the epilogue's other inputs) and
/// writes (y, the epilogue's outputs) so far.
struct KernelBuffers {
  SmallVector<Value> read, written;

  SmallVector<Value> all() const {
    SmallVector<Value> both(read);
    both.append(written.begin(), written.end());
    return both;
  }
};

/// The next op of the epilogue, reading `value` (y, or the previous op's
/// output; its point split by `split`) after `from`, with nothing between
/// that touches the kernel's `buffers`, which it joins. None when there is
/// no such op.
std::optional<ProjectionEpilogue::Stage>
nextStage(Operation *from, Value value, ArrayRef<int64_t> split,
          KernelBuffers &buffers) {
  SmallVector<Value> touched = buffers.all();
  Operation *next = from->getNextNode();
  while (next && !isa<linalg::GenericOp>(next)) {
    if (!canMovePast(next, touched))
      return std::nullopt;
    next = next->getNextNode();
  }
  auto generic = dyn_cast_or_null<linalg::GenericOp>(next);
  if (!generic || !generic.hasPureBufferSemantics() ||
      generic.getNumDpsInits() != 1 ||
      generic.getNumLoops() != generic.getNumParallelLoops() ||
      !hasPureBody(generic))
    return std::nullopt;

  // A fresh buffer, written at the point.
  OpOperand *init = generic.getDpsInitOperand(0);
  Value outBuffer = bufferOf(init->get());
  if (!isAllocation(outBuffer) || llvm::is_contained(touched, outBuffer) ||
      !generic.getMatchingIndexingMap(init).isIdentity())
    return std::nullopt;

  Value valueBuffer = bufferOf(value);
  ProjectionEpilogue::Stage stage;
  stage.op = generic;
  SmallVector<Value> inputs;
  for (OpOperand *input : generic.getDpsInputOperands()) {
    Value buffer = bufferOf(input->get());
    AffineMap map = generic.getMatchingIndexingMap(input);
    if (buffer != valueBuffer) {
      // Read-only while the kernel runs, at the point or broadcast.
      if (buffer == outBuffer || llvm::is_contained(buffers.written, buffer) ||
          !readsAtThePoint(map))
        return std::nullopt;
      inputs.push_back(buffer);
      continue;
    }
    // The value at the point, as it is or (y only) split; every read the
    // same way (views bufferization did not merge).
    if (!map.isIdentity())
      return std::nullopt;
    SmallVector<int64_t> readSplit(split.begin(), split.end());
    if (input->get() != value) {
      std::optional<SmallVector<int64_t>> sizes =
          split.empty() ? outputSplitOf(input->get(), value) : std::nullopt;
      if (!sizes)
        return std::nullopt;
      readSplit = std::move(*sizes);
    }
    if (!stage.valueInputs.empty() && readSplit != stage.outputSplit)
      return std::nullopt;
    stage.outputSplit = std::move(readSplit);
    stage.valueInputs.push_back(input->getOperandNumber());
  }
  if (stage.valueInputs.empty())
    return std::nullopt;
  buffers.read.append(inputs.begin(), inputs.end());
  buffers.written.push_back(outBuffer);
  return stage;
}

/// Emits `stage`'s body at `point` of its domain, reading `value` there;
/// returns its result (stored in its output).
Value emitStage(OpBuilder &b, Location loc,
                const ProjectionEpilogue::Stage &stage, Value value,
                ArrayRef<Value> point) {
  linalg::GenericOp generic = stage.op; // its accessors are not const
  Value result =
      emitBodyAt(b, loc, generic, point, [&](OpOperand &operand) {
        return llvm::is_contained(stage.valueInputs,
                                  operand.getOperandNumber())
                   ? value
                   : Value();
      });
  memref::StoreOp::create(b, loc, result,
                          generic.getDpsInitOperand(0)->get(), point);
  return result;
}

} // namespace

std::optional<ProjectionEpilogue>
ProjectionEpilogue::after(linalg::LinalgOp projection) {
  Value x = projection.getDpsInputOperand(0)->get();
  Value w = projection.getDpsInputOperand(1)->get();
  Value y = projection.getDpsInitOperand(0)->get();
  Value yBuffer = bufferOf(y);
  if (!isAllocation(yBuffer))
    return std::nullopt;
  KernelBuffers buffers{{bufferOf(x), bufferOf(w)}, {yBuffer}};

  ProjectionEpilogue epilogue;
  Operation *from = projection;
  Value value = y;
  SmallVector<int64_t> split;
  while (std::optional<Stage> stage = nextStage(from, value, split, buffers)) {
    from = stage->op;
    value = stage->op.getDpsInitOperand(0)->get();
    split = stage->outputSplit;
    epilogue.stages.push_back(std::move(*stage));
  }
  if (epilogue.stages.empty())
    return std::nullopt;
  return epilogue;
}

void ProjectionEpilogue::emit(OpBuilder &b, Location loc, Value value,
                              Value batch, Value token, Value output) const {
  // Ops over the same domain share the point's indices.
  SmallVector<Value> point;
  const SmallVector<int64_t> *pointSplit = nullptr;
  for (const Stage &stage : stages) {
    if (!pointSplit || *pointSplit != stage.outputSplit) {
      point = rowPoint(b, loc, stage.outputSplit, batch, token, output);
      pointSplit = &stage.outputSplit;
    }
    value = emitStage(b, loc, stage, value, point);
  }
}
