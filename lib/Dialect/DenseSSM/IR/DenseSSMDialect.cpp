//===- DenseSSMDialect.cpp - the densessm dialect -------------------------===//
//
// Dialect registration, the enum attributes, and the verifiers of the
// dialect's discardable attributes: `densessm.schedule` on functions,
// `densessm.weight`, `densessm.input` and `densessm.state` on their
// arguments, `densessm.output` and `densessm.state` on their results.
//
//===----------------------------------------------------------------------===//

#include "densessm/Dialect/DenseSSM/IR/DenseSSMDialect.h"

#include "densessm/Dialect/DenseSSM/IR/DenseSSMOps.h"
#include "mlir/IR/BuiltinOps.h"
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

/// `densessm.written_arguments` on a function declaration: distinct
/// positions of memref arguments. Lowered to the LLVM dialect (where the
/// memrefs are descriptors, or pointers to them), it rides along unchecked.
static LogicalResult verifyWrittenArguments(Operation *op, Attribute value) {
  StringRef name = DenseSSMDialect::getWrittenArgumentsAttrName();
  if (op->getName().getDialectNamespace() == "llvm")
    return success();
  auto positions = dyn_cast<DenseI64ArrayAttr>(value);
  auto function = dyn_cast<FunctionOpInterface>(op);
  if (!positions || !function || !function.isExternal())
    return op->emitError() << "'" << name
                           << "' must be an array<i64> of argument positions "
                              "on a function declaration";
  ArrayRef<Type> arguments = function.getArgumentTypes();
  llvm::SmallDenseSet<int64_t> seen;
  for (int64_t position : positions.asArrayRef()) {
    if (position < 0 || position >= int64_t(arguments.size()) ||
        !isa<BaseMemRefType>(arguments[position]) ||
        !seen.insert(position).second)
      return op->emitError()
             << "'" << name << "': position " << position
             << " is not that of a memref argument (or is listed twice)";
  }
  return success();
}

/// `densessm.split_kernel_modules` on a module: {copy = {module =
/// "original", chips = [chip, ...]}}.
static LogicalResult verifySplitKernelModules(Operation *op, Attribute value) {
  auto fail = [&] {
    return op->emitError()
           << "'" << DenseSSMDialect::getSplitKernelModulesAttrName()
           << "' must be a dictionary of {module = \"name\", chips = [\"sm_XY\", "
              "...]} on a module, found "
           << value;
  };
  auto copies = dyn_cast<DictionaryAttr>(value);
  if (!copies || !isa<ModuleOp>(op))
    return fail();
  for (NamedAttribute copy : copies) {
    auto record = dyn_cast<DictionaryAttr>(copy.getValue());
    auto chips = record ? record.getAs<ArrayAttr>("chips") : ArrayAttr();
    if (!record || record.size() != 2 || !record.getAs<StringAttr>("module") ||
        !chips ||
        !llvm::all_of(chips, [](Attribute c) { return isa<StringAttr>(c); }))
      return fail();
  }
  return success();
}

LogicalResult
DenseSSMDialect::verifyOperationAttribute(Operation *op,
                                          NamedAttribute attribute) {
  if (attribute.getName() == getWrittenArgumentsAttrName())
    return verifyWrittenArguments(op, attribute.getValue());
  if (attribute.getName() == getSplitKernelModulesAttrName())
    return verifySplitKernelModules(op, attribute.getValue());
  if (attribute.getName() != getScheduleAttrName())
    return op->emitError() << "unknown densessm attribute '"
                           << attribute.getName().getValue()
                           << "' (the dialect defines '"
                           << getScheduleAttrName() << "', '"
                           << getWrittenArgumentsAttrName() << "' and '"
                           << getSplitKernelModulesAttrName() << "')";
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

/// The type of argument or result `index` of `op` when it is a function
/// (the attribute verifiers are also called for other region holders).
static Type functionValueType(Operation *op, unsigned index, bool isResult) {
  auto function = dyn_cast<FunctionOpInterface>(op);
  if (!function)
    return {};
  ArrayRef<Type> types =
      isResult ? function.getResultTypes() : function.getArgumentTypes();
  return index < types.size() ? types[index] : Type();
}

static bool isTensorOf(Type type, int64_t rank, bool integer) {
  auto tensor = dyn_cast_if_present<RankedTensorType>(type);
  if (!tensor || (rank >= 0 && tensor.getRank() != rank))
    return false;
  Type element = tensor.getElementType();
  return integer ? element.isSignlessInteger() : element.isF32();
}

/// `densessm.state` on argument or result `index`: a non-empty name on an f32
/// tensor (recurrent state is always f32), and on a result, the name of a
/// state argument of the same type, since a state result hands back that
/// argument's final value.
static LogicalResult verifyStateAttr(Operation *op, unsigned index,
                                     bool isResult, Attribute value) {
  StringRef attrName = DenseSSMDialect::getStateAttrName();
  StringRef where = isResult ? "result" : "argument";
  auto name = dyn_cast<StringAttr>(value);
  if (!name || name.getValue().empty())
    return op->emitError() << "'" << attrName << "' on " << where << " "
                           << index
                           << " must be a non-empty string naming a recurrent "
                              "state, found "
                           << value;
  Type type = functionValueType(op, index, isResult);
  if (type && !isTensorOf(type, /*rank=*/-1, /*integer=*/false))
    return op->emitError() << "'" << attrName << "' on " << where << " "
                           << index
                           << " must be on an f32 ranked tensor (recurrent "
                              "state is always f32), found "
                           << type;
  auto function = dyn_cast<FunctionOpInterface>(op);
  if (!isResult || !function)
    return success();
  for (unsigned i = 0, e = function.getNumArguments(); i < e; ++i) {
    if (function.getArgAttr(i, attrName) != name)
      continue;
    Type argType = function.getArgumentTypes()[i];
    if (argType != type)
      return op->emitError()
             << "'" << attrName << "' = " << name << " on result " << index
             << " must have the type of the state's argument " << i << ", "
             << argType << ", found " << type;
    return success();
  }
  return op->emitError() << "'" << attrName << "' = " << name << " on result "
                         << index
                         << " names no state argument (a state result returns "
                            "the final value of the argument with the same "
                            "'"
                         << attrName << "')";
}

/// `densessm.input` on argument `index`: "tokens" ([B, L] integers) or
/// "position" ([B] integers).
static LogicalResult verifyInputAttr(Operation *op, unsigned index,
                                     Attribute value) {
  StringRef attrName = DenseSSMDialect::getInputAttrName();
  auto name = dyn_cast<StringAttr>(value);
  if (!name || (name.getValue() != "tokens" && name.getValue() != "position"))
    return op->emitError() << "'" << attrName << "' on argument " << index
                           << " must be \"tokens\" or \"position\", found "
                           << value;
  bool tokens = name.getValue() == "tokens";
  Type type = functionValueType(op, index, /*isResult=*/false);
  if (type && !isTensorOf(type, tokens ? 2 : 1, /*integer=*/true))
    return op->emitError() << "'" << attrName << "' = " << name
                           << " on argument " << index << " must be on a rank-"
                           << (tokens ? 2 : 1) << " integer tensor "
                           << (tokens ? "[batch, length]" : "[batch]")
                           << ", found " << type;
  return success();
}

LogicalResult
DenseSSMDialect::verifyRegionArgAttribute(Operation *op, unsigned regionIndex,
                                          unsigned argIndex,
                                          NamedAttribute attribute) {
  StringRef name = attribute.getName().getValue();
  if (name == getInputAttrName())
    return verifyInputAttr(op, argIndex, attribute.getValue());
  if (name == getStateAttrName())
    return verifyStateAttr(op, argIndex, /*isResult=*/false,
                           attribute.getValue());
  if (name != getWeightAttrName())
    return op->emitError() << "unknown densessm argument attribute '" << name
                           << "' on argument " << argIndex
                           << " (the dialect defines '" << getWeightAttrName()
                           << "', '" << getInputAttrName() << "' and '"
                           << getStateAttrName() << "')";
  auto tensorName = dyn_cast<StringAttr>(attribute.getValue());
  if (!tensorName || tensorName.getValue().empty())
    return op->emitError() << "'" << getWeightAttrName() << "' on argument "
                           << argIndex
                           << " must be a non-empty string naming a "
                              "checkpoint tensor, found "
                           << attribute.getValue();
  return success();
}

LogicalResult DenseSSMDialect::verifyRegionResultAttribute(
    Operation *op, unsigned regionIndex, unsigned resultIndex,
    NamedAttribute attribute) {
  StringRef name = attribute.getName().getValue();
  if (name == getStateAttrName())
    return verifyStateAttr(op, resultIndex, /*isResult=*/true,
                           attribute.getValue());
  if (name != getOutputAttrName())
    return op->emitError() << "unknown densessm result attribute '" << name
                           << "' on result " << resultIndex
                           << " (the dialect defines '" << getOutputAttrName()
                           << "' and '" << getStateAttrName() << "')";
  auto output = dyn_cast<StringAttr>(attribute.getValue());
  if (!output || output.getValue() != "logits")
    return op->emitError() << "'" << getOutputAttrName() << "' on result "
                           << resultIndex << " must be \"logits\", found "
                           << attribute.getValue();
  return success();
}
