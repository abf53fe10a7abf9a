//===- DenseSSMQueueGPUWork.cpp - --densessm-queue-gpu-work ---------------===//
//
// The host code waits for every kernel it launches (gpu-to-llvm lowers a
// gpu.launch_func without async tokens to launch-then-synchronise). That
// wait is only needed when the host code itself reads or writes a buffer
// afterwards. A function whose host code never does — every access to its
// buffers is a kernel's, a GPU copy's or the runtime's projection's — can
// queue all its GPU work on one stream and wait once, when it returns.
//
// This pass finds those functions and brackets them with two runtime
// calls: densessm_cuda_queue_begin(key) at the entry, which makes the mgpu*
// functions put every launch, copy and projection on one stream of the
// calling thread and skip the waits on it, and densessm_cuda_queue_end()
// before each return, which waits for that stream. The key names the
// function to the runtime, which keeps a CUDA graph per key and replays
// the queue through it (runtime/src/backends/cuda/QueueGraphs.h): a hash of
// the function's name, the same in every compile. Any host operation that
// reads or writes memory (a load, store, copy, a loop nest's body), or
// whose effects are unknown, or a call of a function other than the
// runtime's projections, leaves a function as it is.
//
//===----------------------------------------------------------------------===//

#include "RuntimeFunctions.h"

#include "densessm/Dialect/DenseSSM/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "llvm/Support/xxhash.h"

namespace mlir::densessm {
#define GEN_PASS_DEF_DENSESSMQUEUEGPUWORK
#include "densessm/Dialect/DenseSSM/Transforms/Passes.h.inc"
} // namespace mlir::densessm

using namespace mlir;

namespace {

constexpr StringLiteral kQueueBegin = "densessm_cuda_queue_begin";
constexpr StringLiteral kQueueEnd = "densessm_cuda_queue_end";
/// The runtime's projections (--densessm-lower-projections-to-blas), which
/// run on the queue's stream.
constexpr StringLiteral kProjectionPrefix = "densessm_cuda_linear_";

/// Whether `op`, in host code, reads or writes the contents of a buffer,
/// or might. The GPU dialect's operations (launches, copies, allocations,
/// waits) are ordered on the queue's stream, and so are the runtime's
/// projections; any other operation counts when it declares a read or a
/// write, or declares nothing at all. An operation whose effects are those
/// of the operations it holds (scf.if, scf.for) is judged by them.
bool touchesBufferContents(Operation *op) {
  if (isa<gpu::GPUDialect>(op->getDialect()))
    return false;
  if (auto call = dyn_cast<func::CallOp>(op))
    return !call.getCallee().starts_with(kProjectionPrefix);
  if (op->hasTrait<OpTrait::HasRecursiveMemoryEffects>())
    return false;
  auto effects = dyn_cast<MemoryEffectOpInterface>(op);
  if (!effects)
    return !op->hasTrait<OpTrait::IsTerminator>();
  return effects.hasEffect<MemoryEffects::Read>() ||
         effects.hasEffect<MemoryEffects::Write>();
}

/// Whether the host code of `function` leaves its buffers to the GPU.
bool leavesBuffersToTheGPU(func::FuncOp function) {
  WalkResult walk = function->walk<WalkOrder::PreOrder>([&](Operation *op) {
    if (op == function.getOperation())
      return WalkResult::advance();
    // Kernels (before and after outlining) are GPU code.
    if (isa<gpu::LaunchOp>(op))
      return WalkResult::skip();
    return touchesBufferContents(op) ? WalkResult::interrupt()
                                     : WalkResult::advance();
  });
  return !walk.wasInterrupted();
}

struct QueueGPUWorkPass
    : densessm::impl::DenseSSMQueueGPUWorkBase<QueueGPUWorkPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<func::FuncOp> queued;
    for (auto function : module.getOps<func::FuncOp>())
      if (!function.isExternal() && leavesBuffersToTheGPU(function))
        queued.push_back(function);
    if (queued.empty())
      return;
    MLIRContext *context = module.getContext();
    auto i64 = IntegerType::get(context, 64);
    func::FuncOp begin = densessm::declareRuntimeFunction(
        module, kQueueBegin, FunctionType::get(context, {i64}, {}));
    func::FuncOp end = densessm::declareRuntimeFunction(
        module, kQueueEnd, FunctionType::get(context, {}, {}));
    for (func::FuncOp function : queued) {
      OpBuilder builder = OpBuilder::atBlockBegin(&function.front());
      Value key = arith::ConstantIntOp::create(
          builder, function.getLoc(), i64,
          int64_t(llvm::xxh3_64bits(function.getSymName())));
      func::CallOp::create(builder, function.getLoc(), begin, key);
      function.walk([&](func::ReturnOp ret) {
        builder.setInsertionPoint(ret);
        func::CallOp::create(builder, ret.getLoc(), end, ValueRange{});
      });
    }
  }
};

} // namespace
