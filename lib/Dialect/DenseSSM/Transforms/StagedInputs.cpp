//===- StagedInputs.cpp - a GEMV block's row of x in shared memory --------===//

#include "StagedInputs.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace mlir::densessm;
using namespace mlir::densessm::gpu_kernel;

Value StagedInputs::position(OpBuilder &b, Location loc, Value i) const {
  if (width == 1)
    return i;
  Value tileSize = index(b, loc, kWarpSize * width);
  Value inTile = arith::RemUIOp::create(b, loc, i, tileSize);
  Value tileStart = arith::SubIOp::create(b, loc, i, inTile);
  Value lane = arith::DivUIOp::create(b, loc, inTile, index(b, loc, width));
  Value element = arith::RemUIOp::create(b, loc, inTile, index(b, loc, width));
  return arith::AddIOp::create(
      b, loc, tileStart,
      arith::AddIOp::create(
          b, loc,
          arith::MulIOp::create(b, loc, element, index(b, loc, kWarpSize)),
          lane));
}

Value StagedInputs::stage(
    OpBuilder &b, Location loc, const KernelContext &kernel,
    int64_t blockSize, Value inputs,
    llvm::function_ref<Value(OpBuilder &, Location, Value)> valueAt,
    SmallVectorImpl<scf::ForOp> &loops) const {
  Value staged = kernel.workgroup[0];
  loops.push_back(scf::ForOp::create(
      b, loc, kernel.thread, inputs, index(b, loc, blockSize), ValueRange{},
      [&](OpBuilder &lb, Location ll, Value i, ValueRange) {
        Value value = valueAt(lb, ll, i);
        memref::StoreOp::create(lb, ll, value, staged, position(lb, ll, i));
        scf::YieldOp::create(lb, ll);
      }));
  gpu::BarrierOp::create(b, loc);
  return staged;
}
