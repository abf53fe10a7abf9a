//===- Launch.cpp - gpu.launch with a 1-D block ---------------------------===//
//
// Every hand-built kernel is a gpu.launch over a 2-D grid of 1-D blocks whose
// body sees its block and thread indices, its lane and warp, and the f32
// workgroup (shared memory) buffers it asked for.
//
//===----------------------------------------------------------------------===//

#include "GPUKernel.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace mlir::densessm;
using namespace mlir::densessm::gpu_kernel;

Value gpu_kernel::index(OpBuilder &b, Location loc, int64_t value) {
  return arith::ConstantIndexOp::create(b, loc, value);
}

Value gpu_kernel::ceilDiv(OpBuilder &b, Location loc, Value n, Value d) {
  return arith::CeilDivUIOp::create(b, loc, n, d);
}

KernelContext gpu_kernel::kernelContext(OpBuilder &b, Location loc,
                                       gpu::LaunchOp launch) {
  KernelContext context;
  context.blockX = launch.getBlockIds().x;
  context.blockY = launch.getBlockIds().y;
  context.thread = launch.getThreadIds().x;
  Value warpSize = index(b, loc, kWarpSize);
  context.lane = arith::RemUIOp::create(b, loc, context.thread, warpSize);
  context.warp = arith::DivUIOp::create(b, loc, context.thread, warpSize);
  for (BlockArgument buffer : launch.getWorkgroupAttributions())
    context.workgroup.push_back(buffer);
  return context;
}

gpu::LaunchOp gpu_kernel::launch(
    OpBuilder &b, Location loc, Value gridX, Value gridY, int64_t threads,
    ArrayRef<int64_t> workgroupSizes,
    llvm::function_ref<void(OpBuilder &, Location, const KernelContext &)>
        body) {
  Value one = index(b, loc, 1);
  auto workgroupSpace = gpu::AddressSpaceAttr::get(
      b.getContext(), gpu::GPUDialect::getWorkgroupAddressSpace());
  SmallVector<Type> workgroupTypes;
  for (int64_t size : workgroupSizes)
    workgroupTypes.push_back(MemRefType::get(
        {size}, b.getF32Type(), MemRefLayoutAttrInterface(), workgroupSpace));
  auto op = gpu::LaunchOp::create(b, loc, gridX, gridY, one,
                                  index(b, loc, threads), one, one,
                                  /*dynamicSharedMemorySize=*/nullptr,
                                  /*asyncTokenType=*/nullptr,
                                  /*asyncDependencies=*/{}, workgroupTypes);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&op.getBody().front());
  body(b, loc, kernelContext(b, loc, op));
  gpu::TerminatorOp::create(b, loc);
  return op;
}

void gpu_kernel::forStrided(
    OpBuilder &b, Location loc, Value first, Value upper, Value stride,
    llvm::function_ref<void(OpBuilder &, Location, Value)> body) {
  scf::ForOp::create(b, loc, first, upper, stride, ValueRange{},
                     [&](OpBuilder &lb, Location ll, Value i, ValueRange) {
                       body(lb, ll, i);
                       scf::YieldOp::create(lb, ll);
                     });
}
