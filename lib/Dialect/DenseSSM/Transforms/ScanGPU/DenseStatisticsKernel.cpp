//===- DenseStatisticsKernel.cpp - sums of squares of a dense input -------===//
//
// A fused dense connection normalises each token's H·V connected values by
// their RMS before the scan reads them (MODELS.md §4). Like the CPU path,
// the connected values are not stored: this kernel recomputes them once to
// sum their squares, and the scan kernels recompute each value where they
// read it.
//
// A token's values are cut into `parts` interleaved slices, one block each:
// the grid is (L·parts, B). A decode step has one token per sequence, and a
// single block would recompute all of DenseRetNet-350M's 2048 values (a
// 32-term product each, its 256 KiB of gate weights through one SM) while
// the other SMs wait; in 8 parts each thread has one value. Each block's
// threads stride over its slice, the block adds their sums (blockSum:
// `gpu.shuffle xor` butterflies within each warp, lane 0 of each warp to
// shared memory, every thread adding the warps' sums), and thread 0 stores
// the slice's sum. The scan's readers add a token's parts and take 1/rms
// themselves (ScanLowering::denseRstdAt): no second kernel, no atomics.
//
//===----------------------------------------------------------------------===//

#include "ScanGPU.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#include <algorithm>

using namespace mlir;
using namespace mlir::densessm;
using namespace mlir::densessm::gpu_scan;

/// The most blocks one token's statistics take.
constexpr int64_t kMaxDenseStatisticsParts = 32;

int64_t ScanKernels::denseStatisticsParts(bool recurrent) const {
  std::optional<int64_t> h = getConstantIntValue(heads);
  std::optional<int64_t> v = getConstantIntValue(scan.valueDim);
  if (!recurrent || !h || !v)
    return 1;
  int64_t blocks = (*h * *v + recurrentBlockSize - 1) / recurrentBlockSize;
  return std::clamp<int64_t>(blocks, 1, kMaxDenseStatisticsParts);
}

void ScanKernels::emitDenseStatistics(OpBuilder &b, Location loc, float eps,
                                      int64_t parts) {
  ScanLowering &s = scan;
  const int64_t T = recurrentBlockSize;
  const int64_t warps = T / kWarpSize;
  s.denseRstdParts = parts;
  s.denseEps = eps;
  s.denseRstd = memref::AllocOp::create(
      b, loc,
      MemRefType::get({ShapedType::kDynamic, ShapedType::kDynamic, parts},
                      b.getF32Type()),
      ValueRange{batch, s.length});
  Value channels = arith::MulIOp::create(b, loc, heads, s.valueDim);
  Value partCount = index(b, loc, parts);
  launch(
      b, loc, arith::MulIOp::create(b, loc, s.length, partCount), batch, T,
      {warps}, [&](OpBuilder &kb, Location kl, const KernelContext &kernel) {
        Value partials = kernel.workgroup[0];
        Value bi = kernel.blockY;
        Value t = arith::DivUIOp::create(kb, kl, kernel.blockX, partCount);
        Value part = arith::RemUIOp::create(kb, kl, kernel.blockX, partCount);
        auto sum = scf::ForOp::create(
            kb, kl,
            arith::AddIOp::create(
                kb, kl, arith::MulIOp::create(kb, kl, part, index(kb, kl, T)),
                kernel.thread),
            channels, index(kb, kl, T * parts),
            ValueRange{ScanLowering::f32(kb, kl, 0.0f)},
            [&](OpBuilder &cb, Location cl, Value c, ValueRange acc) {
              Value h = arith::DivUIOp::create(cb, cl, c, s.valueDim);
              Value j = arith::RemUIOp::create(cb, cl, c, s.valueDim);
              Value f = s.connected(cb, cl, {bi, t, h, j});
              scf::YieldOp::create(
                  cb, cl,
                  ValueRange{math::FmaOp::create(cb, cl, f, f, acc[0])});
            });
        Value total =
            blockSum(kb, kl, kernel, partials, warps, sum.getResult(0));
        storeIf(kb, kl,
                arith::CmpIOp::create(kb, kl, arith::CmpIPredicate::eq,
                                      kernel.thread, index(kb, kl, 0)),
                total, s.denseRstd, ValueRange{bi, t, part});
      });
}
