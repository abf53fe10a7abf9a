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
#include "RuntimeFunctions.h"

#include "densessm/Dialect/DenseSSM/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
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
  else if (weightElement.isF16())
    name += "_f16";
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

/// Whether the runtime exports a projection of `library` for weights of
/// `element`: cpu for f32, bf16 and f16 (widened as they are read), cuda
/// for f32.
bool hasEntryPoint(StringRef library, Type element) {
  return element.isF32() || library == "cpu";
}

/// A new f32 copy of the narrow weight `w` (cuBLAS's GEMM takes one
/// element type for both factors, and rounding the activations to bf16
/// would lose what the f32 path keeps). The copy is a linalg op, so that
/// the CUDA pipeline runs it as a kernel; its buffer is freed by the
/// pipeline's buffer deallocation, which follows.
Value widenToF32(OpBuilder &b, Location loc, Value w) {
  auto type = cast<MemRefType>(w.getType());
  SmallVector<Value> dynamicSizes;
  for (int64_t dim = 0; dim < type.getRank(); ++dim)
    if (type.isDynamicDim(dim))
      dynamicSizes.push_back(memref::DimOp::create(b, loc, w, dim));
  Value wide = memref::AllocOp::create(
      b, loc, MemRefType::get(type.getShape(), b.getF32Type()), dynamicSizes);
  AffineMap identity = b.getMultiDimIdentityMap(type.getRank());
  SmallVector<utils::IteratorType> parallel(type.getRank(),
                                            utils::IteratorType::parallel);
  linalg::GenericOp::create(
      b, loc, ValueRange{w}, ValueRange{wide},
      ArrayRef<AffineMap>{identity, identity}, parallel,
      [](OpBuilder &nb, Location nl, ValueRange args) {
        linalg::YieldOp::create(
            nb, nl,
            ValueRange{arith::ExtFOp::create(nb, nl, nb.getF32Type(), args[0])});
      });
  return wide;
}

func::FuncOp declareLinear(ModuleOp module, StringRef name,
                           Type weightElement) {
  MLIRContext *context = module.getContext();
  MemRefType rank3 = dynamicStridedType(Float32Type::get(context), 3);
  MemRefType weights = dynamicStridedType(weightElement, 2);
  func::FuncOp function = densessm::declareRuntimeFunction(
      module, name, FunctionType::get(context, {rank3, rank3, weights}, {}));
  // Called through its C interface: one pointer per memref descriptor.
  function->setAttr("llvm.emit_c_interface", UnitAttr::get(context));
  // It writes y (the first argument) alone.
  function->setAttr(densessm::DenseSSMDialect::getWrittenArgumentsAttrName(),
                    DenseI64ArrayAttr::get(context, {0}));
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
      if (densessm::isBufferProjection(op))
        projections.push_back(op);
    });
    for (linalg::LinalgOp op : projections) {
      Value weight = op->getOperand(densessm::kProjectionWeightOperand);
      Type weightElement = densessm::elementOf(weight);
      OpBuilder builder(op);
      if (!hasEntryPoint(library, weightElement)) {
        weight = widenToF32(builder, op.getLoc(), weight);
        weightElement = builder.getF32Type();
      }
      func::FuncOp linear = declareLinear(
          module, linearFunctionOf(library, weightElement), weightElement);
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
