//===- DenseSSMCopiesToKernels.cpp - --densessm-copies-to-kernels ---------===//
//
// Turns the host code's buffer copies (memref.copy: what bufferization
// writes for tensor.insert_slice, Mamba's convolution window, a state
// carried into a result) into linalg.copy, which the CUDA pipeline then
// maps to GPU kernels like every other linalg op.
//
// Left as memref.copy, a copy runs on the host (memrefCopy) and touches
// buffers the kernels before and after it use: each copy of a decode step
// would fault managed pages over to the CPU and back, and would force the
// buffers it reads into managed memory instead of device memory
// (--densessm-place-buffers-on-gpu). Copies of unranked buffers (no loop
// nest to build) stay as they are.
//
//===----------------------------------------------------------------------===//

#include "densessm/Dialect/DenseSSM/Transforms/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Builders.h"

namespace mlir::densessm {
#define GEN_PASS_DEF_DENSESSMCOPIESTOKERNELS
#include "densessm/Dialect/DenseSSM/Transforms/Passes.h.inc"
} // namespace mlir::densessm

using namespace mlir;

namespace {

struct CopiesToKernelsPass
    : densessm::impl::DenseSSMCopiesToKernelsBase<CopiesToKernelsPass> {
  void runOnOperation() override {
    SmallVector<memref::CopyOp> copies;
    getOperation()->walk([&](memref::CopyOp copy) {
      bool inKernel = copy->getParentOfType<gpu::LaunchOp>() ||
                      copy->getParentOfType<gpu::GPUModuleOp>();
      if (!inKernel && isa<MemRefType>(copy.getSource().getType()) &&
          isa<MemRefType>(copy.getTarget().getType()))
        copies.push_back(copy);
    });
    OpBuilder b(&getContext());
    for (memref::CopyOp copy : copies) {
      b.setInsertionPoint(copy);
      linalg::CopyOp::create(b, copy.getLoc(), copy.getSource(),
                             copy.getTarget());
      copy.erase();
    }
  }
};

} // namespace
