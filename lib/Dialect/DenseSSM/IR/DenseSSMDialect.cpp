//===- DenseSSMDialect.cpp - the densessm dialect -------------------------===//
//
// Dialect registration, the enum attributes, and the verifiers of the
// dialect's discardable attributes: `densessm.schedule` on functions and
// `densessm.weight` on their arguments.
//
//===----------------------------------------------------------------------===//

#include "densessm/Dialect/DenseSSM/IR/DenseSSMDialect.h"

#include "densessm/Dialect/DenseSSM/IR/DenseSSMOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::densessm;

#include "densessm/Dialect/DenseSSM/IR/DenseSSMDialect.cpp.inc"
#include "densessm/Dialect/DenseSSM/IR/DenseSSMEnums.cpp.inc"
#define GET_ATTRDEF_CLASSES
#include "densessm/Dialect/DenseSSM/IR/DenseSSMAttrs.cpp.inc"

void DenseSSMDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "densessm/Dialect/DenseSSM/IR/DenseSSMOps.cpp.inc"
      >();
  registerAttributes();
}

void DenseSSMDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "densessm/Dialect/DenseSSM/IR/DenseSSMAttrs.cpp.inc"
      >();
}

/// In a function with the recurrent schedule every op that runs over time
/// must process one token per sequence.
static LogicalResult verifyRecurrentBody(Operation *function) {
  WalkResult walk = function->walk([](Operation *op) {
    TimeOperand input = getTimeOperand(op);
    if (!input)
      return WalkResult::advance();
    auto type = dyn_cast<RankedTensorType>(input.value.getType());
    if (!type || type.getRank() < 2 || type.isDynamicDim(1) ||
        type.getDimSize(1) == 1)
      return WalkResult::advance();
    op->emitOpError() << "is in a function with schedule recurrent and must "
                         "process one token per sequence: operand '"
                      << input.name << "' dim 1 (length) must be 1, found "
                      << type.getDimSize(1);
    return WalkResult::interrupt();
  });
  return failure(walk.wasInterrupted());
}

LogicalResult
DenseSSMDialect::verifyOperationAttribute(Operation *op,
                                          NamedAttribute attribute) {
  if (attribute.getName() != getScheduleAttrName())
    return op->emitError() << "unknown densessm attribute '"
                           << attribute.getName().getValue()
                           << "' (the dialect defines only '"
                           << getScheduleAttrName() << "')";
  auto schedule = dyn_cast<ScheduleAttr>(attribute.getValue());
  if (!schedule)
    return op->emitError() << "'" << getScheduleAttrName()
                           << "' must be #densessm.schedule<parallel> or "
                              "#densessm.schedule<recurrent>, found "
                           << attribute.getValue();
  if (!isa<FunctionOpInterface>(op))
    return op->emitError() << "'" << getScheduleAttrName()
                           << "' may only be attached to a function, found "
                              "it on '"
                           << op->getName() << "'";
  if (schedule.getValue() == Schedule::recurrent)
    return verifyRecurrentBody(op);
  return success();
}

LogicalResult
DenseSSMDialect::verifyRegionArgAttribute(Operation *op, unsigned regionIndex,
                                          unsigned argIndex,
                                          NamedAttribute attribute) {
  if (attribute.getName() != getWeightAttrName())
    return op->emitError() << "unknown densessm argument attribute '"
                           << attribute.getName().getValue() << "' on argument "
                           << argIndex << " (the dialect defines only '"
                           << getWeightAttrName() << "')";
  auto name = dyn_cast<StringAttr>(attribute.getValue());
  if (!name || name.getValue().empty())
    return op->emitError() << "'" << getWeightAttrName() << "' on argument "
                           << argIndex
                           << " must be a non-empty string naming a "
                              "checkpoint tensor, found "
                           << attribute.getValue();
  return success();
}
