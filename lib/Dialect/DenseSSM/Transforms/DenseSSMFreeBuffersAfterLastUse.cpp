//===- DenseSSMFreeBuffersAfterLastUse.cpp --------------------------------===//
//
// --densessm-free-buffers-after-last-use: moves each memref.dealloc up to
// just after the last operation of its block that uses the buffer, through
// any view of it.
//
// Ownership-based buffer deallocation frees a block's temporaries at the
// end of the block. A model's @prefill is one block holding every layer, so
// every layer's activations stayed allocated until the logits were done:
// peak memory grew with the layer count times the prompt length (2-3.3x
// PyTorch's peak RSS at long prompts). Freed after their last use, a
// layer's temporaries are gone before the next layer allocates its own.
//
// The move is safe because every operation that touches a buffer is a user
// of the buffer or of one of its views (BufferViewFlowAnalysis gives them
// all, from the roots the freed value was derived from), and everything the
// CPU code runs on a buffer (loops, OpenMP regions, the runtime's BLAS
// calls) has finished when its operation returns: nothing keeps a pointer.
// Not for the CUDA pipeline, whose kernel launches return before the
// kernels finish.
//
//===----------------------------------------------------------------------===//

#include "densessm/Dialect/DenseSSM/Transforms/Passes.h"

#include "mlir/Dialect/Bufferization/Transforms/BufferViewFlowAnalysis.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

namespace mlir::densessm {
#define GEN_PASS_DEF_DENSESSMFREEBUFFERSAFTERLASTUSE
#include "densessm/Dialect/DenseSSM/Transforms/Passes.h.inc"
} // namespace mlir::densessm

using namespace mlir;

namespace {

/// The last operation of `dealloc`'s block that uses the freed buffer or a
/// view of it (an ancestor in the block, for uses in nested regions); null
/// when nothing before the dealloc uses it, or when a use lies outside the
/// block (then the dealloc stays where it is).
FailureOr<Operation *> lastUseInBlock(memref::DeallocOp dealloc,
                                      const BufferViewFlowAnalysis &views) {
  Block *block = dealloc->getBlock();
  BufferViewFlowAnalysis::ValueSetT aliases;
  for (Value root : views.resolveReverse(dealloc.getMemref()))
    for (Value alias : views.resolve(root))
      aliases.insert(alias);
  Operation *last = nullptr;
  for (Value alias : aliases)
    for (Operation *user : alias.getUsers()) {
      if (user == dealloc)
        continue;
      Operation *inBlock = block->findAncestorOpInBlock(*user);
      if (!inBlock || inBlock == dealloc ||
          dealloc->isBeforeInBlock(inBlock))
        return failure();
      if (!last || last->isBeforeInBlock(inBlock))
        last = inBlock;
    }
  return last;
}

struct FreeBuffersAfterLastUsePass
    : densessm::impl::DenseSSMFreeBuffersAfterLastUseBase<
          FreeBuffersAfterLastUsePass> {
  void runOnOperation() override {
    BufferViewFlowAnalysis views(getOperation());
    SmallVector<memref::DeallocOp> deallocs;
    getOperation()->walk(
        [&](memref::DeallocOp dealloc) { deallocs.push_back(dealloc); });
    for (memref::DeallocOp dealloc : deallocs) {
      FailureOr<Operation *> last = lastUseInBlock(dealloc, views);
      if (failed(last))
        continue;
      if (*last)
        dealloc->moveAfter(*last);
      else if (Operation *def = dealloc.getMemref().getDefiningOp();
               def && def->getBlock() == dealloc->getBlock())
        dealloc->moveAfter(def); // never used: freed at once
    }
  }
};

} // namespace
