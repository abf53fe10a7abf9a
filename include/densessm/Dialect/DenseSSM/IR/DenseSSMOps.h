//===- DenseSSMOps.h - densessm model-level ops -----------------*- C++ -*-===//
#ifndef DENSESSM_DIALECT_DENSESSM_IR_DENSESSMOPS_H
#define DENSESSM_DIALECT_DENSESSM_IR_DENSESSMOPS_H

#include "densessm/Dialect/DenseSSM/IR/DenseSSMAttrs.h"
#include "densessm/Dialect/DenseSSM/IR/DenseSSMDialect.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#define GET_OP_CLASSES
#include "densessm/Dialect/DenseSSM/IR/DenseSSMOps.h.inc"

namespace mlir::densessm {

/// The operand of an op that runs over time (selective_scan, retention,
/// causal_conv1d, scan) whose dim 1 is the time axis, with its name for
/// messages.
struct TimeOperand {
  Value value;
  llvm::StringRef name;
  explicit operator bool() const { return static_cast<bool>(value); }
};

/// The time operand of `op`, or an empty TimeOperand for ops that do not run
/// over time.
TimeOperand getTimeOperand(Operation *op);

} // namespace mlir::densessm

#endif // DENSESSM_DIALECT_DENSESSM_IR_DENSESSMOPS_H
