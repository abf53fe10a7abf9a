//===- TensorBuilders.h - building blocks of the tensor lowerings -*- C++
//-*-===//
//
// Small builders shared by the lowerings that stay on tensors
// (--densessm-lower-to-scan, --densessm-lower-to-linalg): parallel
// elementwise linalg.generic ops, reductions over the last axis, f32
// widening and narrowing, and the scalar activations of MODELS.md.
//
//===----------------------------------------------------------------------===//
#ifndef DENSESSM_LIB_DIALECT_DENSESSM_TRANSFORMS_TENSORBUILDERS_H
#define DENSESSM_LIB_DIALECT_DENSESSM_TRANSFORMS_TENSORBUILDERS_H

#include "mlir/IR/AffineMap.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/Value.h"

namespace mlir::densessm {

/// The element-wise body of a prologue or epilogue: scalar block arguments
/// (one per input) in, the output scalar out.
using ScalarBody = llvm::function_ref<Value(OpBuilder &, Location, ValueRange)>;

/// A parallel linalg.generic over the iteration space of `domain` (a tensor
/// whose sizes give the loop bounds), reading each input through its map and
/// writing a new tensor of `elementType` shaped like `domain`.
Value buildElementwise(OpBuilder &b, Location loc, Value domain,
                       Type elementType, ArrayRef<Value> inputs,
                       ArrayRef<AffineMap> inputMaps, ScalarBody body);

/// Projection map of a rank-`rank` domain onto the given dimensions.
AffineMap projection(OpBuilder &b, unsigned rank, ArrayRef<unsigned> dims);

/// Scalar f32 widening (no-op for f32) and narrowing to `type`.
Value extendToF32(OpBuilder &b, Location loc, Value scalar);
Value truncateTo(OpBuilder &b, Location loc, Value scalar, Type type);

/// The tensor as f32 (an elementwise extf when it is narrower).
Value tensorToF32(OpBuilder &b, Location loc, Value tensor);

/// An f32 scalar constant.
Value f32Constant(OpBuilder &b, Location loc, float value);

/// An f32 constant of `like`'s type: a scalar, or a splat f32 vector.
Value constantLike(OpBuilder &b, Location loc, Value like, float value);

/// softplus(x) = log(1 + e^x), passing x > 20 through unchanged (MODELS.md);
/// x is an f32 scalar or vector.
Value softplus(OpBuilder &b, Location loc, Value x);

/// SiLU(x) = x / (1 + e^-x); x is an f32 scalar or vector.
Value silu(OpBuilder &b, Location loc, Value x);

/// 2^x for an f32 scalar or vector, built from arith ops in 12 lane
/// operations: x clamped to [-126, 127], rounded to k by the 1.5·2^23 shift,
/// 2^(x-k) by a degree-5 polynomial (relative error 2.4e-7 in f32), 2^k put
/// in the exponent field. For the hot decays exp(δ·A) = 2^(δ·A·log2 e) of
/// the scan loops, where MLIR's general math.exp approximation (clamps,
/// Cody-Waite reduction, special-value selects) costs twice as much.
/// Results below 2^-126 come out as 2^-126 (an absolute error < 1.2e-38);
/// NaN gives NaN.
Value exp2Polynomial(OpBuilder &b, Location loc, Value x);

/// A zero-filled f32 tensor of the given sizes (a reduction's init).
Value zeros(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes);

/// A generic that reduces over its last iteration dimension into an f32
/// accumulator of `outputSizes`: out += term(inputs...).
Value buildReduction(OpBuilder &b, Location loc, unsigned rank,
                     ArrayRef<Value> inputs, ArrayRef<AffineMap> inputMaps,
                     AffineMap outputMap, ArrayRef<OpFoldResult> outputSizes,
                     ScalarBody term);

/// x [B, L, I] times w [O, I] (the checkpoint layout) -> [B, L, O] in f32.
Value linear(OpBuilder &b, Location loc, Value x, Value w);

/// SiLU of an f32 [B, L, C] tensor, elementwise.
Value siluTensor(OpBuilder &b, Location loc, Value x);

/// Applies a lowering's patterns greedily to `op` without region
/// simplification (the lowerings only replace ops; they leave block
/// structure to later passes).
LogicalResult applyLoweringPatterns(Operation *op,
                                    RewritePatternSet &&patterns);

} // namespace mlir::densessm

#endif // DENSESSM_LIB_DIALECT_DENSESSM_TRANSFORMS_TENSORBUILDERS_H
