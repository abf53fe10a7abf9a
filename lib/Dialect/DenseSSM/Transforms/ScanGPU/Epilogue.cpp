//===- Epilogue.cpp - the readout's skip and gate -------------------------===//
//
// What both scan kernels apply to a readout before storing it:
// y = (q·S + skip[h]·v) · SiLU(gate), with the input value v the kernel
// already read (or recomputed, for a fused dense connection) for the update.
//
//===----------------------------------------------------------------------===//

#include "ScanGPU.h"

#include "../TensorBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"

using namespace mlir;
using namespace mlir::densessm;
using namespace mlir::densessm::gpu_scan;

Value ScanKernels::epilogue(OpBuilder &b, Location loc, Value acc, Value value,
                            ValueRange at) const {
  if (scan.skip)
    acc = math::FmaOp::create(b, loc, loadF32(b, loc, scan.skip, {at[2]}),
                              value, acc);
  if (scan.gate)
    acc = arith::MulFOp::create(b, loc, acc,
                                silu(b, loc, loadF32(b, loc, scan.gate, at)));
  return acc;
}
