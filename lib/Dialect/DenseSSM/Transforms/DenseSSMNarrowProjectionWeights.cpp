//===- DenseSSMNarrowProjectionWeights.cpp - 16-bit projection weights ----===//
//
// --densessm-narrow-projection-weights: every weight argument
// (densessm.weight) that only feeds projections, as their w[o, i]
// (Projections.h), becomes a bf16 (or, with element-type=f16, f16) tensor.
// The module file then stores it in that type (rounded to nearest even),
// and each projection widens the elements to f32 as it reads them
// (arith.extf in the contraction's body, the runtime's GEMV and GEMM once
// projections call BLAS, the CUDA GEMV kernel): the arithmetic stays f32,
// only the weights are rounded. Decoding one token reads every weight once,
// so halving the projections' bytes nearly halves a batch-1 step.
//
// A weight used any other way (an embedding table, a norm's scale, the
// dense connection's gates, an lm_head tied to the embedding) stays f32.
// The decision is per weight name across every function, so that @prefill
// and @step bind the same weight table.
//
//===----------------------------------------------------------------------===//

#include "Projections.h"

#include "densessm/Dialect/DenseSSM/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/StringMap.h"

namespace mlir::densessm {
#define GEN_PASS_DEF_DENSESSMNARROWPROJECTIONWEIGHTS
#include "densessm/Dialect/DenseSSM/Transforms/Passes.h.inc"
} // namespace mlir::densessm

using namespace mlir;

namespace {

constexpr StringLiteral kWeightAttr = "densessm.weight";

/// True when `use` is the weight of a projection, as the model builder
/// emits them (linalg.contract, whose body the pass can rebuild).
bool isProjectionWeight(OpOperand &use) {
  auto op = dyn_cast<linalg::ContractOp>(use.getOwner());
  return op && densessm::isProjection(op) &&
         use.getOperandNumber() == densessm::kProjectionWeightOperand;
}

/// Recreates a projection whose weight changed type: a named op's body is
/// built for its operands' element types, so the new one widens the narrow
/// weight to f32 where the old one read an f32.
void rebuild(linalg::ContractOp op) {
  OpBuilder builder(op);
  auto rebuilt = linalg::ContractOp::create(
      builder, op.getLoc(), op->getResultTypes(), op.getInputs(),
      op.getOutputs(), op.getIndexingMaps());
  op->replaceAllUsesWith(rebuilt->getResults());
  op->erase();
}

struct NarrowProjectionWeightsPass
    : densessm::impl::DenseSSMNarrowProjectionWeightsBase<
          NarrowProjectionWeightsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *context = module.getContext();
    Type narrow;
    if (elementType == "bf16")
      narrow = BFloat16Type::get(context);
    else if (elementType == "f16")
      narrow = Float16Type::get(context);
    else {
      module.emitError() << "--densessm-narrow-projection-weights: unknown "
                            "element-type '"
                         << elementType << "' (expected bf16 or f16)";
      return signalPassFailure();
    }
    // Per weight name: whether every use, in every function, is a
    // projection's weight (and there is at least one).
    struct Uses {
      bool onlyProjections = true, any = false;
    };
    llvm::StringMap<Uses> uses;
    SmallVector<std::pair<func::FuncOp, unsigned>> weights;
    for (auto function : module.getOps<func::FuncOp>()) {
      if (function.isExternal())
        continue;
      for (unsigned i = 0, e = function.getNumArguments(); i < e; ++i) {
        auto name = function.getArgAttrOfType<StringAttr>(i, kWeightAttr);
        if (!name)
          continue;
        BlockArgument argument = function.getArgument(i);
        auto type = dyn_cast<RankedTensorType>(argument.getType());
        Uses &entry = uses[name.getValue()];
        entry.onlyProjections &= type && type.getElementType().isF32() &&
                                 llvm::all_of(argument.getUses(),
                                              isProjectionWeight);
        entry.any |= !argument.use_empty();
        weights.push_back({function, i});
      }
    }
    for (auto [function, i] : weights) {
      const Uses &entry = uses.lookup(
          function.getArgAttrOfType<StringAttr>(i, kWeightAttr).getValue());
      if (!entry.onlyProjections || !entry.any)
        continue;
      BlockArgument argument = function.getArgument(i);
      argument.setType(
          cast<RankedTensorType>(argument.getType()).clone(narrow));
      for (Operation *user : llvm::make_early_inc_range(argument.getUsers()))
        rebuild(cast<linalg::ContractOp>(user));
      function.setFunctionType(FunctionType::get(
          function.getContext(), function.front().getArgumentTypes(),
          function.getResultTypes()));
    }
  }
};

} // namespace
