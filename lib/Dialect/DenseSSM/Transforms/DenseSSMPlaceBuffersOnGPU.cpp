//===- DenseSSMPlaceBuffersOnGPU.cpp - --densessm-place-buffers-on-gpu ----===//
//
// Moves every buffer of the host code to GPU-accessible memory, after
// bufferization, buffer deallocation and kernel outlining: memref.alloc /
// memref.dealloc become gpu.alloc / gpu.dealloc, and each
// memref.get_global (a bufferized constant) becomes a managed copy made at
// the function's entry and freed before its returns.
//
// A buffer that only kernels and the runtime's GPU library calls touch
// (through views, to its deallocation) goes in device memory: the host
// code never reads it, and device memory spares the managed pages'
// migration and fault handling. Any other buffer — one the host code
// loads, stores or copies, one it returns or passes to another function,
// one that flows through a region — goes in CUDA managed memory, which
// kernels and host code can both use.
//
//===----------------------------------------------------------------------===//

#include "densessm/Dialect/DenseSSM/Transforms/GPULaunchEffects.h"
#include "densessm/Dialect/DenseSSM/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Builders.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

namespace mlir::densessm {
#define GEN_PASS_DEF_DENSESSMPLACEBUFFERSONGPU
#include "densessm/Dialect/DenseSSM/Transforms/Passes.h.inc"
} // namespace mlir::densessm

using namespace mlir;
using namespace mlir::densessm;

namespace {

/// Whether `op` is host code: not inside a kernel or a GPU module.
bool isHostCode(Operation *op) {
  return !op->getParentOfType<gpu::LaunchOp>() &&
         !op->getParentOfType<gpu::GPUModuleOp>() &&
         !op->getParentOfType<gpu::GPUFuncOp>();
}

/// gpu.alloc host_shared of `type` with the given dynamic sizes.
Value allocShared(OpBuilder &b, Location loc, MemRefType type,
                  ValueRange dynamicSizes, ValueRange symbols) {
  return gpu::AllocOp::create(b, loc, type, /*asyncToken=*/Type(),
                              /*asyncDependencies=*/ValueRange(), dynamicSizes,
                              symbols, /*hostShared=*/true)
      .getMemref();
}

/// Runs `body` on a stream of its own and waits for it: gpu-to-llvm lowers
/// gpu.dealloc, gpu.memcpy and device (not host_shared) gpu.alloc only in
/// their async form.
void onOwnStream(OpBuilder &b, Location loc,
                 llvm::function_ref<Value(Value)> body) {
  Type token = gpu::AsyncTokenType::get(b.getContext());
  Value stream =
      gpu::WaitOp::create(b, loc, token, ValueRange()).getAsyncToken();
  gpu::WaitOp::create(b, loc, Type(), ValueRange{body(stream)});
}

/// gpu.alloc of `type` in device memory, on a stream of its own.
Value allocOnDevice(OpBuilder &b, Location loc, MemRefType type,
                    ValueRange dynamicSizes, ValueRange symbols) {
  Value buffer;
  onOwnStream(b, loc, [&](Value stream) {
    auto alloc = gpu::AllocOp::create(
        b, loc, type, gpu::AsyncTokenType::get(b.getContext()),
        ValueRange{stream}, dynamicSizes, symbols, /*hostShared=*/false);
    buffer = alloc.getMemref();
    return alloc.getAsyncToken();
  });
  return buffer;
}

/// Whether `call` is one of the runtime's GPU library functions (cuBLAS
/// projections: densessm_cuda_*), which take device pointers.
bool isGPULibraryCall(func::CallOp call) {
  return call.getCallee().starts_with("densessm_cuda_");
}

/// Whether only kernels, GPU library calls and its deallocation use
/// `buffer`, directly or through views; host code never reads or writes it.
bool onlyDeviceUses(Value buffer) {
  SmallVector<Value> worklist{buffer};
  while (!worklist.empty()) {
    Value value = worklist.pop_back_val();
    for (Operation *user : value.getUsers()) {
      if (isa<gpu::LaunchFuncOp, memref::DeallocOp, memref::DimOp>(user))
        continue;
      if (auto call = dyn_cast<func::CallOp>(user);
          call && isGPULibraryCall(call))
        continue;
      if (auto view = dyn_cast<ViewLikeOpInterface>(user);
          view && view.getViewSource() == value) {
        worklist.push_back(view->getResult(0));
        continue;
      }
      return false;
    }
  }
  return true;
}

void freeOnGPU(OpBuilder &b, Location loc, Value buffer) {
  Type token = gpu::AsyncTokenType::get(b.getContext());
  onOwnStream(b, loc, [&](Value stream) {
    return gpu::DeallocOp::create(b, loc, token, ValueRange{stream}, buffer)
        .getAsyncToken();
  });
}

struct PlaceBuffersOnGPUPass
    : densessm::impl::DenseSSMPlaceBuffersOnGPUBase<PlaceBuffersOnGPUPass> {
  using Base::Base;

  // The CUDA pipeline deallocates buffers after outlining kernels, which
  // needs gpu.launch_func's memory effects (GPULaunchEffects.h).
  void getDependentDialects(DialectRegistry &registry) const override {
    Base::getDependentDialects(registry);
    registerGPULaunchMemoryEffects(registry);
  }

  void runOnOperation() override {
    SmallVector<memref::AllocOp> allocs;
    SmallVector<memref::DeallocOp> deallocs;
    SmallVector<memref::GetGlobalOp> globals;
    bool failed = false;
    getOperation()->walk([&](Operation *op) {
      if (!isHostCode(op))
        return;
      if (auto alloc = dyn_cast<memref::AllocOp>(op))
        allocs.push_back(alloc);
      else if (auto dealloc = dyn_cast<memref::DeallocOp>(op))
        deallocs.push_back(dealloc);
      else if (auto global = dyn_cast<memref::GetGlobalOp>(op))
        globals.push_back(global);
      else if (isa<memref::ReallocOp>(op)) {
        op->emitOpError("cannot be placed on the GPU by "
                        "--densessm-place-buffers-on-gpu (no GPU realloc)");
        failed = true;
      }
    });
    if (failed)
      return signalPassFailure();

    OpBuilder b(&getContext());
    for (memref::AllocOp alloc : allocs) {
      b.setInsertionPoint(alloc);
      MemRefType type = alloc.getType();
      if (!type.getLayout().isIdentity() || type.getMemorySpace()) {
        alloc.emitOpError("of type ")
            << type
            << " cannot be placed on the GPU by "
               "--densessm-place-buffers-on-gpu (identity layout, default "
               "memory space only)";
        return signalPassFailure();
      }
      Value buffer =
          onlyDeviceUses(alloc)
              ? allocOnDevice(b, alloc.getLoc(), type, alloc.getDynamicSizes(),
                              alloc.getSymbolOperands())
              : allocShared(b, alloc.getLoc(), type, alloc.getDynamicSizes(),
                            alloc.getSymbolOperands());
      alloc.replaceAllUsesWith(buffer);
      alloc.erase();
    }
    for (memref::DeallocOp dealloc : deallocs) {
      b.setInsertionPoint(dealloc);
      freeOnGPU(b, dealloc.getLoc(), dealloc.getMemref());
      dealloc.erase();
    }
    // One managed copy per constant and function, made at its entry (the
    // get_global may sit in a loop) and freed before each return.
    for (memref::GetGlobalOp global : globals) {
      auto function = global->getParentOfType<func::FuncOp>();
      if (!function) {
        global.emitOpError("outside a func.func cannot be placed on the GPU "
                           "by --densessm-place-buffers-on-gpu");
        return signalPassFailure();
      }
      Location loc = global.getLoc();
      b.setInsertionPointToStart(&function.getBody().front());
      auto host = memref::GetGlobalOp::create(b, loc, global.getType(),
                                              global.getNameAttr());
      Value shared = allocShared(b, loc, global.getType(), {}, {});
      onOwnStream(b, loc, [&](Value stream) {
        return gpu::MemcpyOp::create(b, loc,
                                     gpu::AsyncTokenType::get(b.getContext()),
                                     ValueRange{stream}, shared, host)
            .getAsyncToken();
      });
      global.replaceAllUsesWith(shared);
      global.erase();
      function.walk([&](func::ReturnOp ret) {
        b.setInsertionPoint(ret);
        freeOnGPU(b, loc, shared);
      });
    }
  }
};

} // namespace
