//===- PipelineStages.cpp - the stages the CPU and CUDA pipelines share ---===//

#include "PipelineStages.h"

#include "densessm/Pipelines/Pipelines.h"

#include "densessm/Dialect/DenseSSM/Transforms/Passes.h"
#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void mlir::densessm::addTensorLevelStage(OpPassManager &pm,
                                         bool fuseDenseConnections) {
  pm.addPass(createDenseSSMLowerToScan());
  if (fuseDenseConnections)
    pm.addPass(createDenseSSMFuseDenseConnections());
  pm.addPass(createDenseSSMLowerToLinalg());
  pm.addPass(createConvertElementwiseToLinalgPass());
}

void mlir::densessm::addBufferizationStage(OpPassManager &pm) {
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createDenseSSMStripAnnotations());
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  pm.addPass(createCanonicalizerPass());
}

LogicalResult mlir::densessm::applyCommandLinePassOptions(PassManager &pm) {
  if (failed(applyPassManagerCLOptions(pm)))
    return failure();
  applyDefaultTimingPassManagerCLOptions(pm);
  return success();
}
