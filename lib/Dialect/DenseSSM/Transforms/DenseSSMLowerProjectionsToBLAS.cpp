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

/// The runtime's entry point for `library`, or empty for an unknown one.
/// Both have the same signature and semantics (y += x w^T); the runtime
/// exports them with the `_mlir_ciface_` prefix of the C interface.
StringRef linearFunctionOf(StringRef library) {
  if (library == "cpu")
    return "densessm_cpu_linear_f32";
  if (library == "cuda")
    return "densessm_cuda_linear_f32";
  return "";
}

/// A memref type of `rank` f32 with dynamic sizes, strides and offset.
MemRefType dynamicStridedType(MLIRContext *context, int64_t rank) {
  SmallVector<int64_t> dynamic(rank, ShapedType::kDynamic);
  auto layout = StridedLayoutAttr::get(context, ShapedType::kDynamic, dynamic);
  return MemRefType::get(dynamic, Float32Type::get(context), layout);
}

/// True for y[b, l, o] += x[b, l, i] * w[o, i] on f32 memrefs.
bool isProjection(linalg::LinalgOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1 || !linalg::isaContractionOpInterface(op))
    return false;
  for (Value operand : op->getOperands()) {
    auto type = dyn_cast<MemRefType>(operand.getType());
    if (!type || !type.getElementType().isF32())
      return false;
  }
  MLIRContext *context = op->getContext();
  AffineExpr b, l, o, i;
  bindDims(context, b, l, o, i);
  SmallVector<AffineMap> expected = {
      AffineMap::get(4, 0, {b, l, i}, context),
      AffineMap::get(4, 0, {o, i}, context),
      AffineMap::get(4, 0, {b, l, o}, context)};
  return op.getIndexingMapsArray() == expected;
}

func::FuncOp declareLinear(ModuleOp module, StringRef name) {
  if (auto existing = module.lookupSymbol<func::FuncOp>(name))
    return existing;
  MLIRContext *context = module.getContext();
  OpBuilder builder = OpBuilder::atBlockBegin(module.getBody());
  MemRefType rank3 = dynamicStridedType(context, 3);
  MemRefType rank2 = dynamicStridedType(context, 2);
  auto function = func::FuncOp::create(
      builder, module.getLoc(), name,
      builder.getFunctionType({rank3, rank3, rank2}, {}));
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
    StringRef name = linearFunctionOf(library);
    if (name.empty()) {
      module.emitError() << "--densessm-lower-projections-to-blas: unknown "
                            "library '"
                         << library << "' (expected cpu or cuda)";
      return signalPassFailure();
    }
    SmallVector<linalg::LinalgOp> projections;
    module.walk([&](linalg::LinalgOp op) {
      if (isProjection(op))
        projections.push_back(op);
    });
    if (projections.empty())
      return;
    func::FuncOp linear = declareLinear(module, name);
    for (linalg::LinalgOp op : projections) {
      OpBuilder builder(op);
      Location loc = op.getLoc();
      auto toDynamic = [&](Value value) -> Value {
        auto rank = cast<MemRefType>(value.getType()).getRank();
        return memref::CastOp::create(
            builder, loc, dynamicStridedType(op->getContext(), rank), value);
      };
      Value x = toDynamic(op.getDpsInputOperand(0)->get());
      Value w = toDynamic(op.getDpsInputOperand(1)->get());
      Value y = toDynamic(op.getDpsInitOperand(0)->get());
      func::CallOp::create(builder, loc, linear, ValueRange{y, x, w});
      op->erase();
    }
  }
};

} // namespace
