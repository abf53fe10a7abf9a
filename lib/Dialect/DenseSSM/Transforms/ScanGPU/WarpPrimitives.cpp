//===- WarpPrimitives.cpp - gpu.shuffle scans and sums --------------------===//
//
// The warp-level building blocks of the kernels: the associative
// composition of (a, b) pairs of a diagonal linear recurrence, their
// inclusive scan across the 32 lanes of a warp with `gpu.shuffle up`, and
// the composition of the warps' aggregates a block shares through memory.
//
//===----------------------------------------------------------------------===//

#include "ScanGPU.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace mlir::densessm;
using namespace mlir::densessm::gpu_scan;

AffinePair gpu_scan::compose(OpBuilder &b, Location loc, AffinePair first,
                             AffinePair second) {
  return {arith::MulFOp::create(b, loc, first.a, second.a),
          math::FmaOp::create(b, loc, second.a, first.b, second.b)};
}

Value gpu_scan::apply(OpBuilder &b, Location loc, AffinePair pair,
                      Value state) {
  return math::FmaOp::create(b, loc, pair.a, state, pair.b);
}

AffinePair gpu_scan::warpInclusiveScan(OpBuilder &b, Location loc,
                                       AffinePair pair) {
  // Hillis-Steele: after the step with offset d, each lane holds the
  // composition of the pairs of lanes (lane - 2d, lane]; lanes below d have
  // no source (the shuffle's valid flag is false) and keep their value.
  for (int32_t offset = 1; offset < kWarpSize; offset *= 2) {
    auto a = gpu::ShuffleOp::create(b, loc, pair.a, offset, kWarpSize,
                                    gpu::ShuffleMode::UP);
    auto bUp = gpu::ShuffleOp::create(b, loc, pair.b, offset, kWarpSize,
                                      gpu::ShuffleMode::UP);
    AffinePair combined =
        compose(b, loc, {a.getShuffleResult(), bUp.getShuffleResult()}, pair);
    pair = {arith::SelectOp::create(b, loc, a.getValid(), combined.a, pair.a),
            arith::SelectOp::create(b, loc, a.getValid(), combined.b, pair.b)};
  }
  return pair;
}

AffinePair gpu_scan::shiftUpOneLane(OpBuilder &b, Location loc,
                                    AffinePair pair) {
  auto a = gpu::ShuffleOp::create(b, loc, pair.a, 1, kWarpSize,
                                  gpu::ShuffleMode::UP);
  auto bUp = gpu::ShuffleOp::create(b, loc, pair.b, 1, kWarpSize,
                                    gpu::ShuffleMode::UP);
  Value one = ScanLowering::f32(b, loc, 1.0f);
  Value zero = ScanLowering::f32(b, loc, 0.0f);
  return {
      arith::SelectOp::create(b, loc, a.getValid(), a.getShuffleResult(), one),
      arith::SelectOp::create(b, loc, a.getValid(), bUp.getShuffleResult(),
                              zero)};
}

Value gpu_scan::applyWarpAggregates(
    OpBuilder &b, Location loc, Value arrayA, Value arrayB, Value warps,
    Value state,
    llvm::function_ref<Value(OpBuilder &, Location, Value)> slot) {
  auto loop = scf::ForOp::create(
      b, loc, index(b, loc, 0), warps, index(b, loc, 1), ValueRange{state},
      [&](OpBuilder &wb, Location wl, Value w, ValueRange carried) {
        Value at = slot(wb, wl, w);
        AffinePair aggregate{
            memref::LoadOp::create(wb, wl, arrayA, ValueRange{at}),
            memref::LoadOp::create(wb, wl, arrayB, ValueRange{at})};
        scf::YieldOp::create(wb, wl,
                             ValueRange{apply(wb, wl, aggregate, carried[0])});
      });
  return loop.getResult(0);
}
