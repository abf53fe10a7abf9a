//===- DenseSSMLowerReductionsToGPU.cpp - lower-reductions-to-gpu ---------===//
//
// A sum over the trailing axes of a buffer (a norm's sum of squares, a
// group norm's per-head statistic) as one GPU block per output element.
//
// Left to --convert-linalg-to-parallel-loops and
// --densessm-map-parallel-loops-to-gpu, each output element is one thread
// with the whole reduction loop: a DenseRetNet-350M decode step's norm of
// k over 512 values is a single thread adding them in turn, each partial
// sum stored and loaded again, while the GPU's other 131 SMs idle; a prefill's norms over
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
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include <deque>

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
  /// The elementwise op after it that reads the total (a norm's scaling),
  /// which the kernel computes too (see isConsumerOf); null if none.
  linalg::GenericOp consumer;
};

/// Whether `value` is the body's sum `s + f`, with `s` the output's block
/// argument used nowhere else (so `f` does not read the running sum).
bool isSumOfOutput(Value value, BlockArgument output) {
  auto add = value.getDefiningOp<arith::AddFOp>();
  return add && output.hasOneUse() &&
         (add.getLhs() == output || add.getRhs() == output);
}

std::optional<SumReduction> matchSum(linalg::GenericOp op) {
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
  // load it, and none the output itself: the loops would read the running
  // sum (or the fill), the kernel what the output held before.
  for (OpOperand *input : op.getDpsInputOperands())
    if (!readsAtThePoint(op.getMatchingIndexingMap(input)) ||
        (isa<MemRefType>(input->get().getType()) &&
         mayAlias(input->get(), init->get())))
      return std::nullopt;
  // linalg.index in a nested region would not be remapped to the term's
  // position.
  for (Operation &bodyOp : body->without_terminator())
    if (bodyOp.getNumRegions() != 0)
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

  linalg::FillOp fill = fillRightBefore(op, init->get());
  if (fill && fill.value().getType().isF32())
    sum.fill = fill;
  return sum;
}

/// A member of a kernel: its sum, the sizes of its parallel loops (in
/// order) and their product, built where the kernel goes.
struct SumInKernel {
  SumReduction *sum;
  SmallVector<Value> parallelSizes;
  Value points;
};

/// The index of each of `sum`'s loops at term number `r` of output element
/// `point` (its parallel loops' indices): `r` delinearized over the
/// reduction loops, the last fastest.
SmallVector<Value> termPointAt(OpBuilder &b, Location loc,
                               const SumReduction &sum, ArrayRef<Value> point,
                               Value r) {
  SmallVector<Value> reductionSizes;
  for (int64_t size : sum.reductionSizes)
    reductionSizes.push_back(index(b, loc, size));
  SmallVector<Value> termPoint(point);
  for (auto [loop, idx] :
       llvm::zip(sum.reductionLoops, delinearize(b, loc, r, reductionSizes)))
    termPoint[loop] = idx;
  return termPoint;
}

/// The total of `sum`'s terms at one output element, in every thread of a
/// block of `threads` threads: `point` holds the indices of the parallel
/// loops (the others are filled in here); each thread adds every
/// `threads`-th term of the flattened reduction loops, and blockSum the
/// threads' sums (`partials`: the warps' sums, null for one warp).
Value emitBlockTotal(OpBuilder &kb, Location kl, const KernelContext &kernel,
                     const SumReduction &sum, ArrayRef<Value> point,
                     Value partials, int64_t threads) {
  linalg::GenericOp op = sum.op;
  OpOperand *init = op.getDpsInitOperand(0);
  // -0.0 is the sum's identity: the body's `s + f` is `f` exactly.
  Value identity =
      arith::ConstantOp::create(kb, kl, kb.getF32FloatAttr(-0.0f));
  Value zero = arith::ConstantOp::create(kb, kl, kb.getF32FloatAttr(0.0f));
  auto terms = scf::ForOp::create(
      kb, kl, kernel.thread, index(kb, kl, sum.terms), index(kb, kl, threads),
      ValueRange{zero},
      [&](OpBuilder &tb, Location tl, Value r, ValueRange acc) {
        Value term = emitBodyAt(tb, tl, op, termPointAt(tb, tl, sum, point, r),
                                [&](OpOperand &operand) -> Value {
                                  return &operand == init ? identity : Value();
                                });
        scf::YieldOp::create(
            tb, tl, ValueRange{arith::AddFOp::create(tb, tl, acc[0], term)});
      });
  return blockSum(kb, kl, kernel, partials, threads / kWarpSize,
                  terms.getResult(0));
}

/// The indices of `op`'s output (a projected permutation of its loops) at
/// `point` of its domain.
SmallVector<Value> outputIndicesAt(linalg::GenericOp op,
                                   ArrayRef<Value> point) {
  SmallVector<Value> indices;
  for (AffineExpr result :
       op.getMatchingIndexingMap(op.getDpsInitOperand(0)).getResults())
    indices.push_back(point[cast<AffineDimExpr>(result).getPosition()]);
  return indices;
}

/// Emits `member` in a kernel of `threads` threads: block `kernel.blockX`
/// sums output element number blockX (the parallel loops delinearized, the
/// last fastest) into the output; `partials` holds the warps' sums. Then
/// the block's threads compute the sum's consumer for that output element,
/// each every `threads`-th of its elements (the sum's term positions),
/// reading the new total where the consumer reads the output.
void emitSum(OpBuilder &kb, Location kl, const KernelContext &kernel,
             const SumInKernel &member, Value partials, int64_t threads) {
  SumReduction &sum = *member.sum;
  Value output = sum.op.getDpsInitOperand(0)->get();
  SmallVector<Value> point(sum.op.getNumLoops());
  for (auto [loop, idx] :
       llvm::zip(sum.parallelLoops,
                 delinearize(kb, kl, kernel.blockX, member.parallelSizes)))
    point[loop] = idx;
  Value total =
      emitBlockTotal(kb, kl, kernel, sum, point, partials, threads);
  Value isThread0 = arith::CmpIOp::create(
      kb, kl, arith::CmpIPredicate::eq, kernel.thread, index(kb, kl, 0));
  SmallVector<Value> outputIndices = outputIndicesAt(sum.op, point);
  // With a fill, every thread knows the element (the consumer reads it);
  // without, only thread 0 reads what the output held.
  Value element = sum.fill ? arith::AddFOp::create(kb, kl, sum.fill.value(),
                                                   total)
                                 .getResult()
                           : Value();
  auto store = scf::IfOp::create(kb, kl, isThread0, /*withElseRegion=*/false);
  OpBuilder sb = store.getThenBodyBuilder();
  Value stored =
      element ? element
              : arith::AddFOp::create(
                    sb, kl,
                    memref::LoadOp::create(sb, kl, output, outputIndices),
                    total)
                    .getResult();
  memref::StoreOp::create(sb, kl, stored, output, outputIndices);
  if (!sum.consumer)
    return;

  linalg::GenericOp consumer = sum.consumer;
  forStrided(kb, kl, kernel.thread, index(kb, kl, sum.terms),
             index(kb, kl, threads), [&](OpBuilder &cb, Location cl, Value r) {
               SmallVector<Value> at = termPointAt(cb, cl, sum, point, r);
               Value value = emitBodyAt(
                   cb, cl, consumer, at, [&](OpOperand &operand) -> Value {
                     return operand.get() == output ? element : Value();
                   });
               memref::StoreOp::create(cb, cl, value,
                                       consumer.getDpsInitOperand(0)->get(),
                                       outputIndicesAt(consumer, at));
             });
}

/// The most terms per output element a reading kernel's blocks each add
/// again (at 256 threads, 32 per thread).
constexpr int64_t kMaxTermsInReader = 8192;

/// A kernel that alone reads a sum's output, where every block computes
/// the element it reads instead (see matchReader).
struct ReaderKernel {
  gpu::LaunchOp launch;
  SmallVector<memref::LoadOp> loads;
  /// The op of the launch body's top level after which the sum goes (null:
  /// at the start).
  Operation *after = nullptr;
  int64_t threads;
};

/// Whether `value`, used in `launch`'s body, is the same in every thread
/// of a block: a value from outside the kernel, a block index or size, or
/// arith-dialect arithmetic of such values at the body's top level (no
/// other op: a thread or lane index, a shuffle's valid flag, differ between
/// threads). `defs` receives the top-level ops it comes from.
bool isBlockUniform(Value value, gpu::LaunchOp launch,
                    SmallVectorImpl<Operation *> &defs) {
  Region &body = launch.getBody();
  if (!body.isAncestor(value.getParentRegion()))
    return true;
  if (auto argument = dyn_cast<BlockArgument>(value)) {
    if (argument.getOwner() != &body.front())
      return false;
    gpu::KernelDim3 blocks = launch.getBlockIds(),
                    gridSize = launch.getGridSize(),
                    blockSize = launch.getBlockSize();
    return llvm::is_contained(
        {blocks.x, blocks.y, blocks.z, gridSize.x, gridSize.y, gridSize.z,
         blockSize.x, blockSize.y, blockSize.z},
        value);
  }
  Operation *def = value.getDefiningOp();
  if (def->getBlock() != &body.front() || def->getNumRegions() != 0 ||
      !isa<arith::ArithDialect>(def->getDialect()) ||
      !isMemoryEffectFree(def))
    return false;
  defs.push_back(def);
  return llvm::all_of(def->getOperands(), [&](Value operand) {
    return isBlockUniform(operand, launch, defs);
  });
}

/// A sum whose output only one later kernel of its block reads, at one set
/// of indices uniform over each of the kernel's blocks (a decode step's
/// norm of k, read by the recurrent step's blocks of one batch entry and
/// head): that kernel, when its blocks can add the terms themselves —
/// threads a static multiple of 32 along x alone, a synchronous launch with
/// a one-block body, every load at its top level or in loops alone (under
/// an scf.if a load may be what keeps its indices in range: the sum would
/// read out of bounds ahead of it), no op between the sum and it (the
/// kernel included) that may write what the sum reads, at most
/// kMaxTermsInReader terms.
std::optional<ReaderKernel> matchReader(SumReduction &sum) {
  linalg::GenericOp op = sum.op;
  Value output = op.getDpsInitOperand(0)->get();
  if (sum.terms > kMaxTermsInReader || !output.getDefiningOp<memref::AllocOp>() ||
      !isUnaliasedAllocation(output))
    return std::nullopt;
  ReaderKernel reader;
  for (Operation *user : output.getUsers()) {
    if (user == op.getOperation() || user == sum.fill.getOperation())
      continue;
    auto load = dyn_cast<memref::LoadOp>(user);
    auto launch = load ? load->getParentOfType<gpu::LaunchOp>() : nullptr;
    if (!launch || (reader.launch && launch != reader.launch))
      return std::nullopt;
    reader.launch = launch;
    reader.loads.push_back(load);
  }
  gpu::LaunchOp launch = reader.launch;
  if (!launch || launch->getBlock() != op->getBlock() ||
      !op->isBeforeInBlock(launch) || !launch.getBody().hasOneBlock() ||
      launch.getDynamicSharedMemorySize() || launch.getAsyncToken() ||
      !launch.getAsyncDependencies().empty())
    return std::nullopt;
  for (memref::LoadOp load : reader.loads)
    for (Operation *parent = load->getParentOp(); parent != launch;
         parent = parent->getParentOp())
      if (!isa<scf::ForOp>(parent))
        return std::nullopt;
  std::optional<int64_t> threads = getConstantIntValue(launch.getBlockSizeX());
  if (!threads || *threads % kWarpSize != 0 ||
      getConstantIntValue(launch.getBlockSizeY()) != 1 ||
      getConstantIntValue(launch.getBlockSizeZ()) != 1)
    return std::nullopt;
  reader.threads = *threads;

  // Every load at the same indices, uniform over a block; the sum goes
  // after the last op they come from, before every load.
  SmallVector<Operation *> defs;
  ValueRange indices = reader.loads.front().getIndices();
  for (memref::LoadOp load : reader.loads)
    if (load.getIndices() != indices)
      return std::nullopt;
  for (Value index : indices)
    if (!isBlockUniform(index, launch, defs))
      return std::nullopt;
  Block &body = launch.getBody().front();
  for (Operation *def : defs)
    if (!reader.after || reader.after->isBeforeInBlock(def))
      reader.after = def;
  for (memref::LoadOp load : reader.loads) {
    Operation *top = body.findAncestorOpInBlock(*load);
    if (reader.after && (top == reader.after || top->isBeforeInBlock(reader.after)))
      return std::nullopt;
  }

  // Nothing from the sum to the kernel's end may write what the sum reads
  // (through a view, or as an argument that may be it).
  SmallVector<Value> inputs;
  for (OpOperand *input : op.getDpsInputOperands())
    if (isa<MemRefType>(input->get().getType()))
      inputs.push_back(input->get());
  auto isInput = [&](Value buffer) {
    return llvm::any_of(inputs,
                        [&](Value input) { return mayAlias(buffer, input); });
  };
  for (Operation *between = op->getNextNode(); between != launch->getNextNode();
       between = between->getNextNode())
    if (mayWrite(between, isInput))
      return std::nullopt;
  return reader;
}

/// Computes `sum` in each block of its reading kernel, at the top level of
/// the kernel's body (all threads, so its barrier is legal), and has the
/// kernel's loads of the output read that total (plus the fill's value, or
/// what the output held) instead; the op, its fill and, unused, its output
/// go away.
void foldIntoReader(SumReduction &sum, ReaderKernel &reader) {
  gpu::LaunchOp launch = reader.launch;
  Location loc = sum.op.getLoc();
  const int64_t warps = reader.threads / kWarpSize;
  Value partials;
  if (warps > 1)
    partials = launch.addWorkgroupAttribution(
        MemRefType::get({warps}, Float32Type::get(launch.getContext()),
                        MemRefLayoutAttrInterface(),
                        gpu::AddressSpaceAttr::get(
                            launch.getContext(),
                            gpu::GPUDialect::getWorkgroupAddressSpace())),
        loc);
  Block &body = launch.getBody().front();
  OpBuilder kb(launch.getContext());
  if (reader.after)
    kb.setInsertionPointAfter(reader.after);
  else
    kb.setInsertionPointToStart(&body);
  KernelContext kernel = kernelContext(kb, loc, launch);

  ValueRange indices = reader.loads.front().getIndices();
  SmallVector<Value> point(sum.op.getNumLoops());
  AffineMap outputMap =
      sum.op.getMatchingIndexingMap(sum.op.getDpsInitOperand(0));
  for (auto [result, idx] : llvm::zip(outputMap.getResults(), indices))
    point[cast<AffineDimExpr>(result).getPosition()] = idx;
  Value total =
      emitBlockTotal(kb, loc, kernel, sum, point, partials, reader.threads);
  Value output = sum.op.getDpsInitOperand(0)->get();
  Value before = sum.fill ? sum.fill.value()
                          : memref::LoadOp::create(kb, loc, output, indices)
                                .getResult();
  Value element = arith::AddFOp::create(kb, loc, before, total);
  for (memref::LoadOp load : reader.loads) {
    load.replaceAllUsesWith(element);
    load.erase();
  }
  if (sum.fill)
    sum.fill.erase();
  sum.op.erase();
  if (output.use_empty())
    output.getDefiningOp()->erase();
}

/// Whether `sum`'s blocks can compute `op` right after the sum, each for
/// its output element: an elementwise op over the sum's domain that reads
/// the total where the sum writes it (a norm's scaling, after its sum of
/// squares). The sum has a fill (so that every thread knows the total);
/// `op` is on buffers, all its loops parallel and as many as the sum's, its
/// body without memory effects or regions; it reads one of the sum's
/// inputs with the same indexing map, a permutation of all the loops (so
/// the two domains are the same, loop by loop), the sum's output with the
/// sum's output map, and its other inputs (none of which may be the
/// output) at the point or broadcast; it
/// writes a fresh allocation at a permutation of the loops, which its body
/// does not read and the sum does not read either.
bool isConsumerOf(const SumReduction &sum, linalg::GenericOp op) {
  linalg::GenericOp sumOp = sum.op;
  if (!sum.fill || !op.hasPureBufferSemantics() || op.getNumDpsInits() != 1 ||
      op.getNumLoops() != sumOp.getNumLoops() ||
      op.getNumParallelLoops() != op.getNumLoops() || !hasPureBody(op) ||
      llvm::any_of(op.getBody()->without_terminator(),
                   [](Operation &bodyOp) { return bodyOp.getNumRegions(); }))
    return false;
  OpOperand *init = op.getDpsInitOperand(0);
  Value result = init->get();
  if (!isAllocation(result) || !op.getMatchingIndexingMap(init).isPermutation() ||
      !op.getMatchingBlockArgument(init).use_empty())
    return false;
  Value output = sumOp.getDpsInitOperand(0)->get();
  AffineMap outputMap = sumOp.getMatchingIndexingMap(sumOp.getDpsInitOperand(0));
  bool readsTotal = false, sharesDomain = false;
  for (OpOperand *input : op.getDpsInputOperands()) {
    AffineMap map = op.getMatchingIndexingMap(input);
    if (input->get() == output) {
      if (map != outputMap)
        return false;
      readsTotal = true;
      continue;
    }
    // Another way to the sum's output (a view, an argument that may be
    // it) would read it from memory, before thread 0 stores the total.
    if (!readsAtThePoint(map) || (isa<MemRefType>(input->get().getType()) &&
                                  (mayAlias(input->get(), result) ||
                                   mayAlias(input->get(), output))))
      return false;
    for (OpOperand *sumInput : sumOp.getDpsInputOperands())
      if (sumInput->get() == input->get() && map.isPermutation() &&
          sumOp.getMatchingIndexingMap(sumInput) == map)
        sharesDomain = true;
  }
  for (OpOperand *sumInput : sumOp.getDpsInputOperands())
    if (isa<MemRefType>(sumInput->get().getType()) &&
        mayAlias(sumInput->get(), result))
      return false;
  return readsTotal && sharesDomain;
}

/// Gives `group`'s sums the consumers (isConsumerOf) that follow its last
/// member, with only ops that touch no memory between (and the consumers
/// before), none touching what another consumer or another member writes.
/// Returns the last of them, where the kernel then goes; null if none.
Operation *claimConsumers(ArrayRef<SumReduction *> group) {
  Operation *last = nullptr;
  SmallVector<Operation *> claimed;
  for (Operation *op = group.back()->op->getNextNode(); op;
       op = op->getNextNode()) {
    if (touchesNoMemory(op))
      continue;
    auto generic = dyn_cast<linalg::GenericOp>(op);
    SumReduction *owner = nullptr;
    for (SumReduction *sum : group)
      if (generic && !sum->consumer && isConsumerOf(*sum, generic)) {
        owner = sum;
        break;
      }
    if (!owner ||
        llvm::any_of(claimed,
                     [&](Operation *other) { return mayConflict(other, op); }) ||
        llvm::any_of(group, [&](SumReduction *sum) {
          return sum != owner && mayConflict(sum->op, op);
        }))
      break;
    owner->consumer = generic;
    claimed.push_back(op);
    last = op;
  }
  return last;
}

/// Replaces the sums of `group` (consecutive and independent: see
/// joinsGroup) and their fills by one kernel where the last of them was (or
/// where the last of their consumers was, which the kernel computes too): a
/// block per output element of the largest, as many threads as give the
/// longest about kTermsPerThread terms each (at most `maxThreads`); each
/// sum runs in the blocks up to its own count of output elements (a
/// condition uniform over a block, so its barrier is too).
void lowerGroup(ArrayRef<SumReduction *> group, int64_t maxThreads) {
  linalg::GenericOp last = group.back()->op;
  Operation *lastConsumer = claimConsumers(group);
  OpBuilder b(lastConsumer ? lastConsumer : last.getOperation());
  Location loc = last.getLoc();
  int64_t longest = 0;
  for (SumReduction *sum : group)
    longest = std::max(longest, sum->terms);
  const int64_t threads = std::min<int64_t>(
      maxThreads,
      llvm::alignTo(llvm::divideCeil(longest, kTermsPerThread), kWarpSize));
  const int64_t warps = threads / kWarpSize;

  SmallVector<SumInKernel> members;
  Value points;
  for (SumReduction *sum : group) {
    SumInKernel member{sum, {}, index(b, loc, 1)};
    SmallVector<Range, 4> ranges =
        cast<linalg::LinalgOp>(sum->op.getOperation()).createLoopRanges(b, loc);
    // Folded as it goes, so that static sizes give a constant.
    for (unsigned loop : sum->parallelLoops) {
      member.parallelSizes.push_back(
          getValueOrCreateConstantIndexOp(b, loc, ranges[loop].size));
      member.points = b.createOrFold<arith::MulIOp>(
          loc, member.points, member.parallelSizes.back());
    }
    points = points ? b.createOrFold<arith::MaxUIOp>(loc, points, member.points)
                    : member.points;
    members.push_back(std::move(member));
  }
  std::optional<int64_t> staticPoints = getConstantIntValue(points);

  auto buildKernel = [&](OpBuilder &gb) {
    // Each sum its own warps' sums: no barrier between two sums.
    SmallVector<int64_t> workgroups(warps > 1 ? members.size() : 0, warps);
    launch(gb, loc, points, index(gb, loc, 1), threads, workgroups,
           [&](OpBuilder &kb, Location kl, const KernelContext &kernel) {
             for (auto [i, member] : llvm::enumerate(members)) {
               Value partials = warps > 1 ? kernel.workgroup[i] : Value();
               std::optional<int64_t> own = getConstantIntValue(member.points);
               if (member.points == points || (own && own == staticPoints)) {
                 emitSum(kb, kl, kernel, member, partials, threads);
                 continue;
               }
               Value mine =
                   arith::CmpIOp::create(kb, kl, arith::CmpIPredicate::ult,
                                         kernel.blockX, member.points);
               auto guard =
                   scf::IfOp::create(kb, kl, mine, /*withElseRegion=*/false);
               OpBuilder ib = guard.getThenBodyBuilder();
               emitSum(ib, kl, kernel, member, partials, threads);
             }
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
  for (SumReduction *sum : group) {
    if (sum->consumer)
      sum->consumer.erase();
    if (sum->fill)
      sum->fill.erase();
    sum->op.erase();
  }
}

/// Whether two sizes are the same: equal constants, the same value, or
/// `memref.dim` of the same buffer and axis.
bool sameSize(OpFoldResult a, OpFoldResult b) {
  std::optional<int64_t> ca = getConstantIntValue(a),
                         cb = getConstantIntValue(b);
  if (ca || cb)
    return ca == cb;
  Value va = cast<Value>(a), vb = cast<Value>(b);
  if (va == vb)
    return true;
  auto da = va.getDefiningOp<memref::DimOp>(),
       db = vb.getDefiningOp<memref::DimOp>();
  return da && db && da.getSource() == db.getSource() &&
         getConstantIntValue(da.getIndex()) &&
         getConstantIntValue(da.getIndex()) ==
             getConstantIntValue(db.getIndex());
}

/// Whether the outputs of two sums have the same shape: static sizes, or
/// allocations of the same dynamic sizes.
bool sameOutputShape(SumReduction &a, SumReduction &b) {
  auto sizesOf = [](SumReduction &sum) -> std::optional<SmallVector<OpFoldResult>> {
    Value output = sum.op.getDpsInitOperand(0)->get();
    auto type = cast<MemRefType>(output.getType());
    auto alloc = output.getDefiningOp<memref::AllocOp>();
    if (!type.hasStaticShape() && !alloc)
      return std::nullopt;
    SmallVector<OpFoldResult> sizes;
    unsigned dynamic = 0;
    for (int64_t size : type.getShape())
      sizes.push_back(ShapedType::isDynamic(size)
                          ? OpFoldResult(alloc.getDynamicSizes()[dynamic++])
                          : OpFoldResult(IntegerAttr::get(
                                IndexType::get(type.getContext()), size)));
    return sizes;
  };
  std::optional<SmallVector<OpFoldResult>> sa = sizesOf(a), sb = sizesOf(b);
  return sa && sb && sa->size() == sb->size() &&
         llvm::all_of(llvm::zip(*sa, *sb), [](auto pair) {
           return sameSize(std::get<0>(pair), std::get<1>(pair));
         });
}

/// Whether `next` may join `group` (whose last sum comes before it in the
/// same block): between them only ops that touch no memory (allocations,
/// views, index arithmetic) and `next`'s own fill, and no member reads or
/// writes what `next` writes, nor writes what it reads.
bool joinsGroup(ArrayRef<SumReduction *> group, SumReduction &next) {
  Operation *last = group.back()->op;
  if (last->getBlock() != next.op->getBlock() ||
      !last->isBeforeInBlock(next.op))
    return false;
  for (Operation *op = last->getNextNode(); op != next.op;
       op = op->getNextNode())
    if (op != next.fill.getOperation() && !touchesNoMemory(op))
      return false;
  return llvm::none_of(group, [&](SumReduction *member) {
    return mayConflict(member->op, next.op);
  });
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
    // Every sum in order, then runs of consecutive independent ones (a
    // layer's norms of k and of v), each one kernel when its longest sum
    // has at least min-size terms.
    // A sum only one kernel reads, at indices uniform over its blocks,
    // goes into that kernel (foldIntoReader), whatever its size.
    std::deque<SumReduction> sums;
    std::deque<std::pair<SumReduction, ReaderKernel>> folds;
    getOperation()->walk([&](linalg::GenericOp op) {
      if (op->getParentOfType<gpu::LaunchOp>() ||
          op->getParentOfType<gpu::GPUModuleOp>())
        return;
      std::optional<SumReduction> sum = matchSum(op);
      if (!sum)
        return;
      if (foldIntoKernels)
        if (std::optional<ReaderKernel> reader = matchReader(*sum)) {
          folds.emplace_back(*sum, *reader);
          return;
        }
      sums.push_back(*sum);
    });
    for (auto &[sum, reader] : folds)
      foldIntoReader(sum, reader);
    SmallVector<SmallVector<SumReduction *>> groups;
    for (SumReduction &sum : sums) {
      if (!groups.empty() && joinsGroup(groups.back(), sum))
        groups.back().push_back(&sum);
      else
        groups.push_back({&sum});
    }
    for (ArrayRef<SumReduction *> group : groups) {
      // The long sums, and the short ones over the same output elements
      // as one of them (they need no more blocks); other short sums stay
      // loops, one thread per output element.
      SmallVector<SumReduction *> kernel;
      for (SumReduction *sum : group)
        if (sum->terms >= minSize ||
            llvm::any_of(group, [&](SumReduction *other) {
              return other->terms >= minSize && sameOutputShape(*sum, *other);
            }))
          kernel.push_back(sum);
      if (llvm::any_of(kernel, [&](SumReduction *sum) {
            return sum->terms >= minSize;
          }))
        lowerGroup(kernel, blockSize);
    }
  }
};

} // namespace
