//===- DenseSSMFoldProducersIntoKernels.cpp - ops evaluated in kernels ----===//
//
// --densessm-fold-producers-into-kernels: a hand-built kernel (a gpu.launch
// of --densessm-lower-scan-to-gpu) often reads small buffers that an
// elementwise op computed just before it for it alone: a retention step's
// per-head decay and its normaliser, from the positions and the decay
// rates. Each such op is a kernel launch of its own that writes a few
// bytes. Here the kernel evaluates the op's body where it loads the buffer
// instead, at the load's indices, and the op goes away. Only loads that
// read another element in each iteration of the loops around them are
// replaced, so each value is computed as often as the kernel read it, not
// once per token. The op may gather (load elements of a buffer it reads
// at indices it computes): rotary loads the other element of each pair,
// so a retention step's rotary of q and k is evaluated in its scan too.
//
//===----------------------------------------------------------------------===//

#include "PointwiseOps.h"
#include "Projections.h"

#include "densessm/Dialect/DenseSSM/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/LoopLikeInterface.h"

namespace mlir::densessm {
#define GEN_PASS_DEF_DENSESSMFOLDPRODUCERSINTOKERNELS
#include "densessm/Dialect/DenseSSM/Transforms/Passes.h.inc"
} // namespace mlir::densessm

using namespace mlir;
using namespace mlir::densessm;

namespace {

/// The most inputs of a projection that a kernel evaluates at each load of
/// its output, a dot product per load: Mamba's dt_proj, whose dt_rank
/// inputs are 48 to 160 for the published models.
constexpr int64_t kMaxFoldedProjectionInputs = 256;

bool isOneToOneIn(Value index, Value inductionVar);

/// Whether `load`, in `kernel`, reads another element in each iteration of
/// every loop around it in the kernel (each loop's induction variables are
/// among its indices): the producer is then evaluated as often as the
/// kernel loaded its output (reading the producer's inputs instead, and
/// computing its body). A Mamba step's A = -exp(A_log), read in the loop
/// over the state index, qualifies; a load repeated for every token does
/// not.
bool loadsOncePerElement(memref::LoadOp load, gpu::LaunchOp kernel) {
  for (Operation *parent = load->getParentOp(); parent != kernel;
       parent = parent->getParentOp()) {
    auto loop = dyn_cast<LoopLikeOpInterface>(parent);
    if (!loop)
      continue;
    std::optional<SmallVector<Value>> inductionVars =
        loop.getLoopInductionVars();
    if (!inductionVars || inductionVars->empty())
      return false;
    for (Value inductionVar : *inductionVars)
      if (llvm::none_of(load.getIndices(), [&](Value index) {
            return isOneToOneIn(index, inductionVar);
          }))
        return false;
  }
  return true;
}

/// Whether `index` takes another value for each value of `inductionVar`:
/// the variable itself, or it shifted or xor'ed with a constant (rotary's
/// pair partner, i ^ 1, after a rotary folded into the kernel), or such an
/// index clamped by `arith.minui` (the recurrent step's keys past K, loaded
/// at the last key and discarded: the clamp repeats an element only in the
/// iterations whose value is not used).
bool isOneToOneIn(Value index, Value inductionVar) {
  if (index == inductionVar)
    return true;
  Operation *op = index.getDefiningOp();
  if (auto clamp = dyn_cast_or_null<arith::MinUIOp>(op))
    return isOneToOneIn(clamp.getLhs(), inductionVar);
  if (!isa_and_present<arith::AddIOp, arith::SubIOp, arith::XOrIOp>(op))
    return false;
  Value lhs = op->getOperand(0), rhs = op->getOperand(1);
  if (matchPattern(rhs, m_Constant()))
    return isOneToOneIn(lhs, inductionVar);
  return !isa<arith::SubIOp>(op) && matchPattern(lhs, m_Constant()) &&
         isOneToOneIn(rhs, inductionVar);
}

/// The buffers `producer`'s body loads from (a gather), if every op of its
/// body is a load of a buffer from outside or free of memory effects.
std::optional<SmallVector<Value>> gatheredBuffers(linalg::GenericOp producer) {
  SmallVector<Value> buffers;
  for (Operation &op : producer.getBody()->without_terminator()) {
    if (auto load = dyn_cast<memref::LoadOp>(op);
        load &&
        !producer.getRegion().isAncestor(load.getMemRef().getParentRegion())) {
      buffers.push_back(bufferOf(load.getMemRef()));
      continue;
    }
    if (!isMemoryEffectFree(&op))
      return std::nullopt;
  }
  return buffers;
}

/// The buffers an elementwise `producer` reads (its inputs, and what its
/// body gathers from), when a kernel can evaluate it at each load of its
/// output: all loops parallel, the output a fresh allocation written at the
/// point and not read, the inputs read at the point or broadcast, a body
/// that loads (gathers) from other buffers or is free of memory effects.
std::optional<SmallVector<Value>> elementwiseReads(linalg::GenericOp producer) {
  if (!producer.hasPureBufferSemantics() || producer.getNumDpsInits() != 1 ||
      producer.getNumLoops() != producer.getNumParallelLoops())
    return std::nullopt;
  std::optional<SmallVector<Value>> gathered = gatheredBuffers(producer);
  OpOperand *init = producer.getDpsInitOperand(0);
  Value output = init->get();
  if (!gathered || !isAllocation(output) ||
      !producer.getMatchingIndexingMap(init).isIdentity() ||
      !producer.getMatchingBlockArgument(init).use_empty() ||
      llvm::is_contained(*gathered, output))
    return std::nullopt;
  SmallVector<Value> read(*gathered);
  for (OpOperand *input : producer.getDpsInputOperands()) {
    if (!readsAtThePoint(producer.getMatchingIndexingMap(input)) ||
        bufferOf(input->get()) == output)
      return std::nullopt;
    read.push_back(bufferOf(input->get()));
  }
  return read;
}

/// The fill of a projection's output right before it (the model builder's
/// y = 0; y += x wᵀ).
linalg::FillOp fillBefore(linalg::LinalgOp projection) {
  return fillRightBefore(projection, projection.getDpsInitOperand(0)->get());
}

/// The buffers a `projection` reads (x and w), when a kernel can evaluate it
/// at each load of its output: a projection whose output is a fresh
/// allocation filled right before it, over at most
/// kMaxFoldedProjectionInputs inputs (static).
std::optional<SmallVector<Value>> projectionReads(linalg::LinalgOp projection) {
  if (!isBufferProjection(projection) || !fillBefore(projection))
    return std::nullopt;
  Value x = projection.getDpsInputOperand(0)->get();
  Value output = projection.getDpsInitOperand(0)->get();
  int64_t inputs = cast<MemRefType>(x.getType()).getShape().back();
  if (!isAllocation(output) || ShapedType::isDynamic(inputs) ||
      inputs > kMaxFoldedProjectionInputs)
    return std::nullopt;
  SmallVector<Value> read;
  for (OpOperand *input : projection.getDpsInputOperands()) {
    if (bufferOf(input->get()) == output)
      return std::nullopt;
    read.push_back(bufferOf(input->get()));
  }
  return read;
}

/// The kernel whose loads are the only readers of `producer`'s output,
/// when the producer is one a kernel can evaluate at each load (an
/// elementwise op, or a projection over few inputs) on buffers that only
/// it writes, and nothing from the producer to the kernel (the kernel
/// included) writes what it reads. Null otherwise.
gpu::LaunchOp kernelReading(linalg::LinalgOp producer) {
  const bool projection = isBufferProjection(producer);
  std::optional<SmallVector<Value>> read;
  if (projection)
    read = projectionReads(producer);
  else if (auto generic = dyn_cast<linalg::GenericOp>(producer.getOperation()))
    read = elementwiseReads(generic);
  if (!read)
    return nullptr;
  // A projection's output is also written by its fill.
  linalg::FillOp fill = projection ? fillBefore(producer) : nullptr;
  Value output = producer.getDpsInitOperand(0)->get();

  // Every other use: a load in one kernel, each of whose iterations loads
  // another element.
  gpu::LaunchOp kernel;
  for (Operation *user : output.getUsers()) {
    if (user == producer || user == fill)
      continue;
    auto load = dyn_cast<memref::LoadOp>(user);
    auto launch = load ? load->getParentOfType<gpu::LaunchOp>() : nullptr;
    if (!launch || (kernel && launch != kernel) ||
        !loadsOncePerElement(load, launch))
      return nullptr;
    kernel = launch;
  }
  if (!kernel || kernel->getBlock() != producer->getBlock() ||
      !producer->isBeforeInBlock(kernel))
    return nullptr;
  // gpu.launch has recursive memory effects: the kernel's body counts. A
  // projection's every evaluation reads all of a row of x, written maybe
  // by another thread: a write to any buffer that may be x or w counts
  // (an elementwise op reads its own point, as the kernel's thread did).
  auto writesRead = [&](Operation *op) {
    if (!projection)
      return mayWriteAny(op, *read);
    return mayWrite(op, [&](Value buffer) {
      return llvm::any_of(*read,
                          [&](Value input) { return mayAlias(buffer, input); });
    });
  };
  for (Operation *op = producer->getNextNode(); op != kernel->getNextNode();
       op = op->getNextNode())
    if (writesRead(op))
      return nullptr;
  return kernel;
}

/// `producer`'s value at `point` of its output: its body there, or for a
/// projection the fill's value plus each input's term, in input order.
Value evaluateAt(OpBuilder &b, Location loc, linalg::LinalgOp producer,
                 ArrayRef<Value> point) {
  if (!isBufferProjection(producer))
    return emitBodyAt(b, loc, producer, point,
                      [](OpOperand &) { return Value(); });
  Value x = producer.getDpsInputOperand(0)->get();
  int64_t inputs = cast<MemRefType>(x.getType()).getShape().back();
  Value start = fillBefore(producer).getDpsInputOperand(0)->get();
  OpOperand *init = producer.getDpsInitOperand(0);
  auto terms = scf::ForOp::create(
      b, loc, arith::ConstantIndexOp::create(b, loc, 0),
      arith::ConstantIndexOp::create(b, loc, inputs),
      arith::ConstantIndexOp::create(b, loc, 1), ValueRange{start},
      [&](OpBuilder &tb, Location tl, Value i, ValueRange sum) {
        SmallVector<Value> termPoint(point);
        termPoint.push_back(i);
        Value next = emitBodyAt(tb, tl, producer, termPoint,
                                [&](OpOperand &operand) {
                                  return &operand == init ? sum[0] : Value();
                                });
        scf::YieldOp::create(tb, tl, next);
      });
  return terms.getResult(0);
}

/// Replaces each load of `producer`'s output with its value at the load's
/// indices, then erases the producer (and a projection's fill).
void fold(linalg::LinalgOp producer) {
  Value output = producer.getDpsInitOperand(0)->get();
  linalg::FillOp fill =
      isBufferProjection(producer) ? fillBefore(producer) : nullptr;
  for (Operation *user : llvm::make_early_inc_range(output.getUsers())) {
    auto load = dyn_cast<memref::LoadOp>(user);
    if (!load)
      continue;
    OpBuilder b(load);
    Value value = evaluateAt(b, load.getLoc(), producer,
                             SmallVector<Value>(load.getIndices()));
    load.replaceAllUsesWith(value);
    load->erase();
  }
  producer->erase();
  if (fill)
    fill->erase();
}

struct FoldProducersIntoKernelsPass
    : densessm::impl::DenseSSMFoldProducersIntoKernelsBase<
          FoldProducersIntoKernelsPass> {
  void runOnOperation() override {
    // Last first: a producer read by another producer that folds becomes
    // a producer read by the kernel.
    SmallVector<linalg::LinalgOp> producers;
    getOperation()->walk([&](linalg::LinalgOp op) {
      if (!isa<linalg::FillOp>(op))
        producers.push_back(op);
    });
    for (linalg::LinalgOp producer : llvm::reverse(producers))
      if (kernelReading(producer))
        fold(producer);
  }
};

} // namespace
