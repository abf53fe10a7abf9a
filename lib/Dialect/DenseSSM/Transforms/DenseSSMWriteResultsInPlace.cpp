//===- DenseSSMWriteResultsInPlace.cpp - --densessm-write-results-in-place ===//
//
// After bufferization: a buffer that a function allocates, fills, and
// finally copies into one of its arguments — an entry wrapper's result
// buffer (lib/Target/HostCode.cpp) — is replaced by that argument, and the
// copy goes away.
//
// One-shot bufferization writes an entry's results into the caller's
// buffers where the producing op can take a destination, but the scans
// allocate their own result buffers (ScanLowering::prepare) and the logits
// come out of a BLAS call's buffer: each was allocated, its pages faulted
// in and zeroed, then copied over, on every call (for DenseRetNet-350M's
// decode step its 24 MiB of state, 24 x 4 x 128 x 512 floats; for a
// prefill the [B, L, vocab] logits).
//
// Safe when the argument is used only by that copy (nothing else reads or
// writes it, so it may hold the value all along) and the copy is the
// buffer's last use (and its views' last use) but for its deallocation,
// which goes too. The caller must pass result buffers that alias no
// argument, as the runtime does (docs/module-format.md).
//
//===----------------------------------------------------------------------===//

#include "densessm/Dialect/DenseSSM/Transforms/Passes.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

namespace mlir::densessm {
#define GEN_PASS_DEF_DENSESSMWRITERESULTSINPLACE
#include "densessm/Dialect/DenseSSM/Transforms/Passes.h.inc"
} // namespace mlir::densessm

using namespace mlir;

namespace {

/// Whether an op using `buffer`, or a view of it, comes after `copy` in
/// `block` (deallocations aside).
bool isUsedAfter(Value buffer, memref::CopyOp copy, Block *block) {
  for (Operation *user : buffer.getUsers()) {
    if (user == copy || isa<memref::DeallocOp>(user))
      continue;
    if (copy->isBeforeInBlock(block->findAncestorOpInBlock(*user)))
      return true;
    if (isa<ViewLikeOpInterface>(user))
      for (Value view : user->getResults())
        if (isUsedAfter(view, copy, block))
          return true;
  }
  return false;
}

/// Whether `copy` copies a buffer allocated in the function's entry block
/// into an argument nothing else uses, as the last use of the buffer and of
/// its views.
bool isResultCopy(memref::CopyOp copy) {
  auto target = dyn_cast<BlockArgument>(copy.getTarget());
  auto alloc = copy.getSource().getDefiningOp<memref::AllocOp>();
  if (!target || !alloc || !target.hasOneUse())
    return false;
  Block *entry = target.getOwner();
  if (!entry->isEntryBlock() ||
      !isa<FunctionOpInterface>(entry->getParentOp()) ||
      alloc->getBlock() != entry || copy->getBlock() != entry)
    return false;
  auto from = cast<MemRefType>(alloc.getType());
  auto to = dyn_cast<MemRefType>(target.getType());
  if (!to || !from.getLayout().isIdentity() || !to.getLayout().isIdentity() ||
      !memref::CastOp::areCastCompatible(from, to))
    return false;
  return !isUsedAfter(alloc.getResult(), copy, entry);
}

struct WriteResultsInPlacePass
    : densessm::impl::DenseSSMWriteResultsInPlaceBase<WriteResultsInPlacePass> {
  void runOnOperation() override {
    SmallVector<memref::CopyOp> copies;
    getOperation()->walk([&](memref::CopyOp copy) {
      if (isResultCopy(copy))
        copies.push_back(copy);
    });
    OpBuilder b(&getContext());
    for (memref::CopyOp copy : copies) {
      auto alloc = copy.getSource().getDefiningOp<memref::AllocOp>();
      Value target = copy.getTarget();
      b.setInsertionPoint(alloc);
      if (target.getType() != alloc.getType())
        target = memref::CastOp::create(b, alloc.getLoc(), alloc.getType(),
                                        target);
      copy.erase();
      // The caller owns the argument: the buffer's deallocation goes.
      for (Operation *user : llvm::make_early_inc_range(alloc->getUsers()))
        if (isa<memref::DeallocOp>(user))
          user->erase();
      alloc.getResult().replaceAllUsesWith(target);
      alloc.erase();
    }
  }
};

} // namespace
