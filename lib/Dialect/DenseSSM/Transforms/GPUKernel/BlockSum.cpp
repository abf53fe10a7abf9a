//===- BlockSum.cpp - a block-wide sum through shared memory --------------===//
//
// Each warp sums its lanes with shuffles, lane 0 of each warp publishes the
// warp's sum to shared memory, and after a barrier every thread adds the
// published sums: reading the same word in every lane is a broadcast (no
// bank conflict), and a total in every thread spares the caller a second
// barrier to hand it around.
//
//===----------------------------------------------------------------------===//

#include "GPUKernel.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace mlir::densessm;
using namespace mlir::densessm::gpu_kernel;

Value gpu_kernel::blockSum(OpBuilder &b, Location loc,
                           const KernelContext &kernel, Value partials,
                           int64_t warps, Value value) {
  Value warpTotal = warpSum(b, loc, value);
  if (warps == 1)
    return warpTotal;
  Value isLane0 = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                        kernel.lane, index(b, loc, 0));
  auto publish = scf::IfOp::create(b, loc, isLane0, /*withElseRegion=*/false);
  {
    OpBuilder pb = publish.getThenBodyBuilder();
    memref::StoreOp::create(pb, loc, warpTotal, partials,
                            ValueRange{kernel.warp});
  }
  gpu::BarrierOp::create(b, loc);
  Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0f));
  auto total = scf::ForOp::create(
      b, loc, index(b, loc, 0), index(b, loc, warps), index(b, loc, 1),
      ValueRange{zero},
      [&](OpBuilder &wb, Location wl, Value w, ValueRange acc) {
        Value part = memref::LoadOp::create(wb, wl, partials, ValueRange{w});
        scf::YieldOp::create(
            wb, wl, ValueRange{arith::AddFOp::create(wb, wl, acc[0], part)});
      });
  return total.getResult(0);
}
