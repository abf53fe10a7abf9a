//===- DenseSSMSelectSchedule.cpp - --densessm-select-schedule ------------===//
//
// Fixes each function's schedule (parallel | recurrent) as the discardable
// attribute `densessm.schedule`, which the lowerings read.
//
//===----------------------------------------------------------------------===//

#include "densessm/Dialect/DenseSSM/IR/DenseSSMOps.h"
#include "densessm/Dialect/DenseSSM/Transforms/Passes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"

namespace mlir::densessm {
#define GEN_PASS_DEF_DENSESSMSELECTSCHEDULE
#include "densessm/Dialect/DenseSSM/Transforms/Passes.h.inc"
} // namespace mlir::densessm

using namespace mlir;
using namespace mlir::densessm;

namespace {

/// The length (dim 1 of the time operand) of every op in `function` that
/// runs over time.
llvm::SmallVector<int64_t> collectLengths(FunctionOpInterface function) {
  llvm::SmallVector<int64_t> lengths;
  function->walk([&](Operation *op) {
    if (TimeOperand input = getTimeOperand(op))
      lengths.push_back(
          cast<RankedTensorType>(input.value.getType()).getDimSize(1));
  });
  return lengths;
}

struct SelectSchedulePass
    : densessm::impl::DenseSSMSelectScheduleBase<SelectSchedulePass> {
  using Base::Base;

  void runOnOperation() override {
    WalkResult walk = getOperation().walk([&](FunctionOpInterface function) {
      return succeeded(selectFor(function)) ? WalkResult::advance()
                                            : WalkResult::interrupt();
    });
    if (walk.wasInterrupted())
      signalPassFailure();
  }

  /// Sets the schedule of one function, unless it has one or runs nothing
  /// over time.
  LogicalResult selectFor(FunctionOpInterface function) {
    llvm::StringRef name = DenseSSMDialect::getScheduleAttrName();
    if (function->hasAttr(name))
      return success();
    llvm::SmallVector<int64_t> lengths = collectLengths(function);
    if (lengths.empty())
      return success();

    bool singleToken =
        llvm::all_of(lengths, [](int64_t length) { return length == 1; });
    Schedule chosen = singleToken ? Schedule::recurrent : Schedule::parallel;
    if (schedule == ScheduleChoice::parallel)
      chosen = Schedule::parallel;
    else if (schedule == ScheduleChoice::recurrent)
      chosen = Schedule::recurrent;

    if (chosen == Schedule::recurrent && !singleToken)
      return function.emitError()
             << "cannot use schedule recurrent: the function runs over more "
                "than one token per sequence (or a dynamic number)";
    function->setAttr(name, ScheduleAttr::get(&getContext(), chosen));
    return success();
  }
};

} // namespace
