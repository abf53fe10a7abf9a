//===- DenseSSMLowerProjectionsToBLAS.cpp - projections to BLAS calls -----===//
//
// --densessm-lower-projections-to-blas: every linear layer of a model, once
// on buffers, becomes a call of the runtime's GEMM entry point for the
// target's library (library=cpu: OpenBLAS, library=cuda: cuBLAS). A
// generated loop nest (or a one-thread-per-output GPU kernel) would re-read
// the weights at a fraction of the bandwidth the libraries' GEMV reaches,
// and decoding one token is exactly one pass over every weight.
//
//===----------------------------------------------------------------------===//

#include "Projections.h"

#include "densessm/Dialect/DenseSSM/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"

namespace mlir::densessm {
#define GEN_PASS_DEF_DENSESSMLOWERPROJECTIONSTOBLAS
#include "densessm/Dialect/DenseSSM/Transforms/Passes.h.inc"
} // namespace mlir::densessm

using namespace mlir;

namespace {

/// The runtime's entry point for `library` (cpu or cuda) and the weights'
/// element type. All have the same semantics (y += x w^T, accumulated in
/// f32); the runtime exports them with the `_mlir_ciface_` prefix of the C
/// interface.
std::string linearFunctionOf(StringRef library, Type weightElement) {
  std::string name = ("densessm_" + library + "_linear_f32").str();
  if (weightElement.isBF16())
    name += "_bf16";
  return name;
}

/// A memref type of `rank` `element`s with dynamic sizes, strides and
/// offset.
MemRefType dynamicStridedType(Type element, int64_t rank) {
  SmallVector<int64_t> dynamic(rank, ShapedType::kDynamic);
  auto layout =
      StridedLayoutAttr::get(element.getContext(), ShapedType::kDynamic, dynamic);
  return MemRefType::get(dynamic, element, layout);
}

Type elementOf(Value buffer) {
  return cast<MemRefType>(buffer.getType()).getElementType();
}

/// A projection on memrefs of f32 (the weight: f32 or bf16).
bool isBufferProjection(linalg::LinalgOp op) {
  if (!op.hasPureBufferSemantics() || !densessm::isProjection(op))
    return false;
  for (OpOperand &operand : op->getOpOperands()) {
    if (!isa<MemRefType>(operand.get().getType()))
      return false;
    Type element = elementOf(operand.get());
    bool weight =
        operand.getOperandNumber() == densessm::kProjectionWeightOperand;
    if (!element.isF32() && !(weight && element.isBF16()))
      return false;
  }
  return true;
}

func::FuncOp declareLinear(ModuleOp module, StringRef name,
                           Type weightElement) {
  if (auto existing = module.lookupSymbol<func::FuncOp>(name))
    return existing;
  MLIRContext *context = module.getContext();
  OpBuilder builder = OpBuilder::atBlockBegin(module.getBody());
  MemRefType rank3 = dynamicStridedType(Float32Type::get(context), 3);
  MemRefType weights = dynamicStridedType(weightElement, 2);
  auto function = func::FuncOp::create(
      builder, module.getLoc(), name,
      builder.getFunctionType({rank3, rank3, weights}, {}));
  function.setPrivate();
  // Called through its C interface: one pointer per memref descriptor.
  function->setAttr("llvm.emit_c_interface", builder.getUnitAttr());
  return function;
}

struct LowerProjectionsToBLASPass
    : densessm::impl::DenseSSMLowerProjectionsToBLASBase<
          LowerProjectionsToBLASPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (library != "cpu" && library != "cuda") {
      module.emitError() << "--densessm-lower-projections-to-blas: unknown "
                            "library '"
                         << library << "' (expected cpu or cuda)";
      return signalPassFailure();
    }
    SmallVector<linalg::LinalgOp> projections;
    module.walk([&](linalg::LinalgOp op) {
      if (isBufferProjection(op))
        projections.push_back(op);
    });
    for (linalg::LinalgOp op : projections) {
      Value weight = op->getOperand(densessm::kProjectionWeightOperand);
      Type weightElement = elementOf(weight);
      if (library == "cuda" && weightElement.isBF16()) {
        op.emitError() << "--densessm-lower-projections-to-blas: cuBLAS "
                          "projections take f32 weights; bf16 weights "
                          "(--weight-type=bf16) are not supported with "
                          "library=cuda yet";
        return signalPassFailure();
      }
      func::FuncOp linear = declareLinear(
          module, linearFunctionOf(library, weightElement), weightElement);
      OpBuilder builder(op);
      Location loc = op.getLoc();
      auto toDynamic = [&](Value value) -> Value {
        auto type = cast<MemRefType>(value.getType());
        return memref::CastOp::create(
            builder, loc,
            dynamicStridedType(type.getElementType(), type.getRank()), value);
      };
      Value x = toDynamic(op.getDpsInputOperand(0)->get());
      Value w = toDynamic(weight);
      Value y = toDynamic(op.getDpsInitOperand(0)->get());
      func::CallOp::create(builder, loc, linear, ValueRange{y, x, w});
      op->erase();
    }
  }
};

} // namespace
