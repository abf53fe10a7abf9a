//===- WarpSum.cpp - a warp-wide sum with gpu.shuffle xor -----------------===//
//
// The butterfly reduction: after the step with offset d every lane holds
// the sum of the 2d lanes that agree with it above bit log2(d), so after
// offsets 16, 8, 4, 2, 1 every lane holds the warp's total.
//
//===----------------------------------------------------------------------===//

#include "GPUKernel.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

using namespace mlir;
using namespace mlir::densessm;
using namespace mlir::densessm::gpu_kernel;

Value gpu_kernel::warpSum(OpBuilder &b, Location loc, Value value) {
  for (int32_t offset = kWarpSize / 2; offset > 0; offset /= 2) {
    auto other = gpu::ShuffleOp::create(b, loc, value, offset, kWarpSize,
                                        gpu::ShuffleMode::XOR);
    value = arith::AddFOp::create(b, loc, value, other.getShuffleResult());
  }
  return value;
}
