//===- PipelineStages.h - the stages the CPU and CUDA pipelines share -*- C++ -*-===//
#ifndef DENSESSM_LIB_PIPELINES_PIPELINESTAGES_H
#define DENSESSM_LIB_PIPELINES_PIPELINESTAGES_H

#include "mlir/Pass/PassManager.h"

namespace mlir::densessm {

/// Model-level scans -> the kernel-level scan, dense connections folded into
/// the scans that read them (when `fuseDenseConnections`), the other
/// model-level ops and elementwise arith/math on tensors -> linalg. The
/// target's scan lowering comes next.
void addTensorLevelStage(OpPassManager &pm, bool fuseDenseConnections);

/// After the scans are lowered: canonicalise, drop the densessm attributes,
/// and bufferize everything (function boundaries with identity layouts, so
/// that a caller passes plain strided memrefs).
void addBufferizationStage(OpPassManager &pm);

} // namespace mlir::densessm

#endif // DENSESSM_LIB_PIPELINES_PIPELINESTAGES_H
