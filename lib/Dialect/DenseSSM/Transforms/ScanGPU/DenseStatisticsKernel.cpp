//===- DenseStatisticsKernel.cpp - 1/rms per token of a dense input -------===//
//
// A fused dense connection normalises each token's H·V connected values by
// their RMS before the scan reads them (MODELS.md §4). Like the CPU path,
// the connected values are not stored: this kernel recomputes them once to
// get one 1/rms per (batch, token), and the scan kernels recompute each
// value where they read it. One block per (batch, token); its threads
// stride over the channels, then the block reduces the partial sums of
// squares (blockSum: `gpu.shuffle xor` butterflies within each warp, lane 0
// of each warp to shared memory, every thread adding the warps' sums), and
// thread 0 stores 1/rms.
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

void ScanKernels::emitDenseStatistics(OpBuilder &b, Location loc, float eps) {
  ScanLowering &s = scan;
  const int64_t T = recurrentBlockSize;
  const int64_t warps = T / kWarpSize;
  s.denseRstd = memref::AllocOp::create(
      b, loc,
      MemRefType::get({ShapedType::kDynamic, ShapedType::kDynamic},
                      b.getF32Type()),
      ValueRange{batch, s.length});
  Value channels = arith::MulIOp::create(b, loc, heads, s.valueDim);
  Value count = arith::UIToFPOp::create(
      b, loc, b.getF32Type(),
      arith::IndexCastUIOp::create(b, loc, b.getI64Type(), channels));
  launch(
      b, loc, s.length, batch, T, {warps},
      [&](OpBuilder &kb, Location kl, const KernelContext &kernel) {
        Value partials = kernel.workgroup[0];
        Value bi = kernel.blockY, t = kernel.blockX;
        auto sum = scf::ForOp::create(
            kb, kl, kernel.thread, channels, index(kb, kl, T),
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
        Value isThread0 = arith::CmpIOp::create(
            kb, kl, arith::CmpIPredicate::eq, kernel.thread, index(kb, kl, 0));
        auto finish =
            scf::IfOp::create(kb, kl, isThread0, /*withElseRegion=*/false);
        OpBuilder fb = finish.getThenBodyBuilder();
        Value mean = arith::DivFOp::create(fb, kl, total, count);
        Value rstd = math::RsqrtOp::create(
            fb, kl,
            arith::AddFOp::create(fb, kl, mean,
                                  ScanLowering::f32(fb, kl, eps)));
        memref::StoreOp::create(fb, kl, rstd, s.denseRstd, ValueRange{bi, t});
      });
}
