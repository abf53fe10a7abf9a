//===- Passes.h - densessm dialect passes -----------------------*- C++ -*-===//
#ifndef DENSESSM_DIALECT_DENSESSM_TRANSFORMS_PASSES_H
#define DENSESSM_DIALECT_DENSESSM_TRANSFORMS_PASSES_H

#include "densessm/Dialect/DenseSSM/IR/DenseSSMDialect.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "mlir/Pass/Pass.h"

namespace mlir::densessm {

/// The choice of --densessm-select-schedule's `schedule` option.
enum class ScheduleChoice { automatic, parallel, recurrent };

/// The NVVM target flag (--densessm-wait-for-preceding-kernels) of kernel
/// objects whose kernels wait for the kernels before them: the runtime may
/// launch them with programmatic stream serialization.
inline constexpr llvm::StringLiteral kProgrammaticLaunchFlag =
    "densessm.programmatic_launch";

#define GEN_PASS_DECL
#include "densessm/Dialect/DenseSSM/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "densessm/Dialect/DenseSSM/Transforms/Passes.h.inc"

} // namespace mlir::densessm

#endif // DENSESSM_DIALECT_DENSESSM_TRANSFORMS_PASSES_H
