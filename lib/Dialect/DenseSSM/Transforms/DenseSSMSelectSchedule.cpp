//===- DenseSSMSelectSchedule.cpp - --densessm-select-schedule ------------===//
//
// Fixes each function's schedule (parallel | recurrent) as the discardable
// attribute `densessm.schedule`, which the lowerings read.
//
//===----------------------------------------------------------------------===//

#include "densessm/Dialect/DenseSSM/IR/DenseSSMOps.h"
#include "densessm/Dialect/DenseSSM/Transforms/Passes.h"

#include "mlir/IR/Builders.h"

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

  LogicalResult initialize(MLIRContext *) override {
    if (schedule != "auto" && schedule != "parallel" &&
        schedule != "recurrent")
      return emitError(UnknownLoc::get(&getContext()))
             << "--densessm-select-schedule: option 'schedule' must be auto, "
                "parallel or recurrent, found '"
             << schedule << "'";
    return success();
  }

  void runOnOperation() override {
    FunctionOpInterface function = getOperation();
    llvm::StringRef name = DenseSSMDialect::getScheduleAttrName();
    if (function->hasAttr(name))
      return;
    llvm::SmallVector<int64_t> lengths = collectLengths(function);
    if (lengths.empty())
      return;

    bool singleToken =
        llvm::all_of(lengths, [](int64_t length) { return length == 1; });
    Schedule chosen;
    if (schedule == "parallel")
      chosen = Schedule::parallel;
    else if (schedule == "recurrent")
      chosen = Schedule::recurrent;
    else
      chosen = singleToken ? Schedule::recurrent : Schedule::parallel;

    if (chosen == Schedule::recurrent && !singleToken) {
      function.emitError()
          << "cannot use schedule recurrent: the function runs over more than "
             "one token per sequence (or a dynamic number)";
      return signalPassFailure();
    }
    function->setAttr(name, ScheduleAttr::get(&getContext(), chosen));
  }
};

} // namespace
