//===- RuntimeFunctions.h - declaring the runtime's functions ---*- C++ -*-===//
//
// The passes that make compiled code call the densessm runtime (its
// projections, its CUDA queue) declare the callee once per module, as a
// private function at the module's start. A declaration may say which of
// its arguments the function writes (densessm.written_arguments), so that the
// passes that move or fold ops across its calls know what a call does not
// touch: a func.call has no memory effects of its own to ask.
//
//===----------------------------------------------------------------------===//
#ifndef DENSESSM_LIB_DIALECT_DENSESSM_TRANSFORMS_RUNTIMEFUNCTIONS_H
#define DENSESSM_LIB_DIALECT_DENSESSM_TRANSFORMS_RUNTIMEFUNCTIONS_H

#include "densessm/Dialect/DenseSSM/IR/DenseSSMDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"

#include <optional>

namespace mlir::densessm {

/// The module's declaration of the runtime function `name`, added (private,
/// of `type`) when the module has none.
inline func::FuncOp declareRuntimeFunction(ModuleOp module, StringRef name,
                                           FunctionType type) {
  if (auto existing = module.lookupSymbol<func::FuncOp>(name))
    return existing;
  OpBuilder builder = OpBuilder::atBlockBegin(module.getBody());
  auto function = func::FuncOp::create(builder, module.getLoc(), name, type);
  function.setPrivate();
  return function;
}

/// The operands `call` may write, when its callee's declaration lists them
/// (densessm.written_arguments); std::nullopt when the callee may write
/// anything.
inline std::optional<SmallVector<Value>> writtenOperands(func::CallOp call) {
  auto callee = SymbolTable::lookupNearestSymbolFrom<func::FuncOp>(
      call, call.getCalleeAttr());
  auto positions =
      callee ? callee->getAttrOfType<DenseI64ArrayAttr>(
                   DenseSSMDialect::getWrittenArgumentsAttrName())
             : DenseI64ArrayAttr();
  if (!positions)
    return std::nullopt;
  SmallVector<Value> written;
  for (int64_t position : positions.asArrayRef())
    written.push_back(call.getOperand(position));
  return written;
}

} // namespace mlir::densessm

#endif // DENSESSM_LIB_DIALECT_DENSESSM_TRANSFORMS_RUNTIMEFUNCTIONS_H
