//===- RuntimeFunctions.h - declaring the runtime's functions ---*- C++ -*-===//
//
// The passes that make compiled code call the densessm runtime (its
// projections, its CUDA queue) declare the callee once per module, as a
// private function at the module's start.
//
//===----------------------------------------------------------------------===//
#ifndef DENSESSM_LIB_DIALECT_DENSESSM_TRANSFORMS_RUNTIMEFUNCTIONS_H
#define DENSESSM_LIB_DIALECT_DENSESSM_TRANSFORMS_RUNTIMEFUNCTIONS_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"

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

} // namespace mlir::densessm

#endif // DENSESSM_LIB_DIALECT_DENSESSM_TRANSFORMS_RUNTIMEFUNCTIONS_H
