//===- DenseSSMFuseSiblingKernels.cpp - fuse-sibling-kernels ---------------===//
//
// Two kernels one after the other that share no buffer one of them writes,
// as one launch: the first's blocks, then the second's, along the grid's x
// axis. Each launch of a decode step costs the GPU an idle gap between
// kernels; a step that streams its weights in a fraction of a millisecond
// has a few dozen of them per layer to spare at most.
//
// The kernel before may sit at the end of the `then` block of an scf.if —
// a projection's run-time choice between the GEMV kernel (few rows) and
// cuBLAS — when nothing in the scf.if touches what the second kernel does:
// the second moves into both branches, and fuses with the GEMV in the
// first. A DenseRetNet layer's dense statistics kernel (the v gate's second
// layer, recomputed in parts) follows the k gate's GEMV so, independent of
// it.
//
//===----------------------------------------------------------------------===//

#include "densessm/Dialect/DenseSSM/Transforms/Passes.h"

#include "PointwiseOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Dominance.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Transforms/RegionUtils.h"

namespace mlir::densessm {
#define GEN_PASS_DEF_DENSESSMFUSESIBLINGKERNELS
#include "densessm/Dialect/DenseSSM/Transforms/Passes.h.inc"
} // namespace mlir::densessm

using namespace mlir;
using namespace mlir::densessm;

namespace {

/// Static shared memory a kernel may have on every chip.
constexpr int64_t kMaxStaticSharedBytes = 48 * 1024;

/// The bytes of a launch's workgroup buffers (null: one is not static).
std::optional<int64_t> workgroupBytes(gpu::LaunchOp launch) {
  int64_t bytes = 0;
  for (BlockArgument buffer : launch.getWorkgroupAttributions()) {
    auto type = cast<MemRefType>(buffer.getType());
    if (!type.hasStaticShape() || !type.getElementType().isIntOrFloat())
      return std::nullopt;
    bytes += type.getNumElements() *
             llvm::divideCeil(type.getElementTypeBitWidth(), 8);
  }
  return bytes;
}

bool sameIndex(Value a, Value b) {
  std::optional<int64_t> ca = getConstantIntValue(a),
                         cb = getConstantIntValue(b);
  return a == b || (ca && ca == cb);
}

/// Whether `a` and `b` can be one launch: synchronous, no dynamic shared
/// memory, clusters or private buffers, one-block bodies, the same static block and the same grid along
/// y and z, and their shared memory together within 48 KiB.
bool compatible(gpu::LaunchOp a, gpu::LaunchOp b) {
  for (gpu::LaunchOp launch : {a, b})
    if (launch.getAsyncToken() || !launch.getAsyncDependencies().empty() ||
        launch.getDynamicSharedMemorySize() ||
        !launch.getBody().hasOneBlock() || launch.getClusterSizeX() ||
        !launch.getPrivateAttributions().empty())
      return false;
  gpu::KernelDim3 blockA = a.getBlockSizeOperandValues(),
                  blockB = b.getBlockSizeOperandValues();
  for (auto [x, y] : {std::pair(blockA.x, blockB.x),
                      std::pair(blockA.y, blockB.y),
                      std::pair(blockA.z, blockB.z)})
    if (!getConstantIntValue(x) || !sameIndex(x, y))
      return false;
  if (!sameIndex(a.getGridSizeY(), b.getGridSizeY()) ||
      !sameIndex(a.getGridSizeZ(), b.getGridSizeZ()))
    return false;
  std::optional<int64_t> bytesA = workgroupBytes(a), bytesB = workgroupBytes(b);
  return bytesA && bytesB && *bytesA + *bytesB <= kMaxStaticSharedBytes;
}

/// The op before `op` in its block, past ops that touch no memory.
Operation *previousTouchingMemory(Operation *op) {
  Operation *prev = op->getPrevNode();
  while (prev && touchesNoMemory(prev))
    prev = prev->getPrevNode();
  return prev;
}

/// The last op of `block` before its terminator, past ops that touch no
/// memory.
Operation *lastTouchingMemory(Block &block) {
  return previousTouchingMemory(block.getTerminator());
}

/// Moves what `launch` uses from between `anchor` and it up before
/// `anchor` (ops that touch no memory, and what they use in turn), so that
/// the launch can move up to `anchor`; false when some of it cannot move.
bool hoistUsesAbove(gpu::LaunchOp launch, Operation *anchor) {
  SetVector<Value> used;
  getUsedValuesDefinedAbove(launch.getBody(), used);
  for (Value operand : launch->getOperands())
    used.insert(operand);
  SmallVector<Operation *> toMove;
  SmallVector<Value> worklist(used.begin(), used.end());
  DenseSet<Operation *> seen;
  while (!worklist.empty()) {
    Operation *def = worklist.pop_back_val().getDefiningOp();
    if (!def || def->getBlock() != anchor->getBlock() ||
        def->isBeforeInBlock(anchor) || !seen.insert(def).second)
      continue;
    if (def == anchor || !touchesNoMemory(def))
      return false;
    toMove.push_back(def);
    llvm::append_range(worklist, def->getOperands());
  }
  // In their order in the block, so that each comes after what it uses.
  llvm::sort(toMove, [](Operation *x, Operation *y) {
    return x->isBeforeInBlock(y);
  });
  for (Operation *op : toMove)
    op->moveBefore(anchor);
  return true;
}

/// Clones `from`'s body into `builder`'s block (without its terminator),
/// its block arguments mapped to `to`'s, except the x block index and grid
/// size, which become `blockX` and `gridX`, and its workgroup buffers,
/// which become `to`'s from number `firstWorkgroup` on.
void cloneBody(OpBuilder &builder, gpu::LaunchOp from, gpu::LaunchOp to,
               Value blockX, Value gridX, unsigned firstWorkgroup) {
  IRMapping mapping;
  Block &source = from.getBody().front();
  Block &target = to.getBody().front();
  for (unsigned i = 0, e = from.getNumConfigRegionAttributes(); i < e; ++i)
    mapping.map(source.getArgument(i), target.getArgument(i));
  mapping.map(from.getBlockIds().x, blockX);
  mapping.map(from.getGridSize().x, gridX);
  for (auto [i, buffer] : llvm::enumerate(from.getWorkgroupAttributions()))
    mapping.map(buffer, to.getWorkgroupAttributions()[firstWorkgroup + i]);
  for (Operation &op : source.without_terminator())
    builder.clone(op, mapping);
}

/// One launch where `second` was, running `first`'s blocks then
/// `second`'s (a condition uniform over each block, so their barriers
/// stay legal); both go away.
void fuse(gpu::LaunchOp first, gpu::LaunchOp second) {
  OpBuilder b(second);
  Location loc = second.getLoc();
  Value gridX = b.createOrFold<arith::AddIOp>(loc, first.getGridSizeX(),
                                             second.getGridSizeX());
  SmallVector<Type> workgroups;
  for (gpu::LaunchOp launch : {first, second})
    for (BlockArgument buffer : launch.getWorkgroupAttributions())
      workgroups.push_back(buffer.getType());
  auto fused = gpu::LaunchOp::create(
      b, loc, gridX, first.getGridSizeY(), first.getGridSizeZ(),
      first.getBlockSizeX(), first.getBlockSizeY(), first.getBlockSizeZ(),
      /*dynamicSharedMemorySize=*/nullptr, /*asyncTokenType=*/nullptr,
      /*asyncDependencies=*/{}, workgroups);
  OpBuilder kb = OpBuilder::atBlockBegin(&fused.getBody().front());
  Value blockX = fused.getBlockIds().x;
  Value inFirst = arith::CmpIOp::create(kb, loc, arith::CmpIPredicate::ult,
                                        blockX, first.getGridSizeX());
  auto branch = scf::IfOp::create(kb, loc, inFirst, /*withElseRegion=*/true);
  OpBuilder tb = branch.getThenBodyBuilder();
  cloneBody(tb, first, fused, blockX, first.getGridSizeX(), 0);
  OpBuilder eb = branch.getElseBodyBuilder();
  Value secondX =
      arith::SubIOp::create(eb, loc, blockX, first.getGridSizeX());
  cloneBody(eb, second, fused, secondX, second.getGridSizeX(),
            first.getWorkgroupAttributions().size());
  gpu::TerminatorOp::create(kb, loc);
  first.erase();
  second.erase();
}

/// Fuses `launch` with the kernel before it, if there is one it may join
/// (see the file comment); returns whether it did.
bool fuseWithPrevious(gpu::LaunchOp launch) {
  Operation *prev = previousTouchingMemory(launch);
  if (!prev || mayConflict(prev, launch))
    return false;
  if (auto first = dyn_cast<gpu::LaunchOp>(prev)) {
    if (!compatible(first, launch))
      return false;
    fuse(first, launch);
    return true;
  }
  auto choice = dyn_cast<scf::IfOp>(prev);
  if (!choice || choice->getNumResults() != 0)
    return false;
  auto first = dyn_cast_or_null<gpu::LaunchOp>(
      lastTouchingMemory(*choice.thenBlock()));
  if (!first || !compatible(first, launch) || !hoistUsesAbove(launch, choice))
    return false;
  // The else branch (made if there was none) runs it alone; the then
  // branch fused with the kernel it ends with.
  if (!choice.elseBlock()) {
    OpBuilder b(choice);
    choice.getElseRegion().push_back(new Block);
    b.setInsertionPointToEnd(choice.elseBlock());
    scf::YieldOp::create(b, choice.getLoc());
  }
  OpBuilder eb(choice.elseBlock()->getTerminator());
  eb.clone(*launch);
  launch->moveBefore(choice.thenBlock()->getTerminator());
  fuse(first, launch);
  return true;
}

struct FuseSiblingKernelsPass
    : densessm::impl::DenseSSMFuseSiblingKernelsBase<FuseSiblingKernelsPass> {
  void runOnOperation() override {
    SmallVector<gpu::LaunchOp> launches;
    getOperation()->walk([&](gpu::LaunchOp launch) {
      if (!launch->getParentOfType<gpu::LaunchOp>())
        launches.push_back(launch);
    });
    // In order: a fused launch may fuse again with the next.
    for (gpu::LaunchOp launch : launches)
      fuseWithPrevious(launch);
  }
};

} // namespace
