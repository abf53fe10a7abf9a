//===- DenseSSMGatherParallelLoops.cpp - --densessm-gather-parallel-loops -===//
//
// Upstream's --scf-parallel-loop-fusion fuses a run of scf.parallel loops
// only when nothing with a memory effect lies between them. After
// bufferization each loop's output buffer is allocated right before the
// loop, so two independent loops of the same bounds (rotary on q, then on
// k) are never adjacent: the second one's memref.alloc separates them.
// This pass moves the allocations, views and index arithmetic between the
// loops of a run up before its first loop (each op's operands must be
// defined before that loop), so that the loops become adjacent. Nothing
// else moves, and an allocation moves no further than the run it is in,
// so buffers live barely longer.
//
//===----------------------------------------------------------------------===//

#include "densessm/Dialect/DenseSSM/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace mlir::densessm {
#define GEN_PASS_DEF_DENSESSMGATHERPARALLELLOOPS
#include "densessm/Dialect/DenseSSM/Transforms/Passes.h.inc"
} // namespace mlir::densessm

using namespace mlir;

namespace {

/// An op that touches no memory, or only allocates its own result (and is
/// no terminator: those stay last).
bool touchesNoMemory(Operation *op) {
  if (op->getNumRegions() != 0 || op->hasTrait<OpTrait::IsTerminator>())
    return false;
  return isMemoryEffectFree(op) || isa<memref::AllocOp>(op);
}

/// Whether every operand of `op` is defined before `point` (in its block,
/// or outside it), or by one of `moving` (ops that will move before it).
bool operandsDefinedBefore(Operation *op, Operation *point,
                           ArrayRef<Operation *> moving) {
  return llvm::all_of(op->getOperands(), [&](Value operand) {
    Operation *definition = operand.getDefiningOp();
    return !definition || definition->getBlock() != point->getBlock() ||
           definition->isBeforeInBlock(point) ||
           llvm::is_contained(moving, definition);
  });
}

void gather(Block &block) {
  // The run's first loop, and the ops since its last loop that move before
  // it once another loop follows.
  Operation *firstLoop = nullptr;
  SmallVector<Operation *> pending;
  auto endRun = [&] {
    firstLoop = nullptr;
    pending.clear();
  };
  for (Operation &op : llvm::make_early_inc_range(block)) {
    if (isa<scf::ParallelOp>(op)) {
      if (!firstLoop)
        firstLoop = &op;
      for (Operation *moving : pending)
        moving->moveBefore(firstLoop);
      pending.clear();
      continue;
    }
    if (!firstLoop)
      continue;
    if (!touchesNoMemory(&op))
      endRun();
    else if (operandsDefinedBefore(&op, firstLoop, pending))
      pending.push_back(&op);
    else if (!isMemoryEffectFree(&op))
      endRun(); // an allocation that has to stay
  }
}

struct GatherParallelLoopsPass
    : densessm::impl::DenseSSMGatherParallelLoopsBase<GatherParallelLoopsPass> {
  void runOnOperation() override {
    getOperation()->walk([](Block *block) { gather(*block); });
  }
};

} // namespace
