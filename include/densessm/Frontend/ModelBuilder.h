//===- ModelBuilder.h - a model family's IR from its config -----*- C++ -*-===//
//
// Builds the densessm-dialect IR of a whole model (MODELS.md) from its
// configuration and the shapes of its checkpoint tensors: a module with two
// entry points,
//
//   @prefill  parallel schedule, tokens [B, L] (B and L dynamic)
//   @step     recurrent schedule, tokens [B, 1] (B dynamic)
//
// with one calling convention (the runtime relies on it, docs/module-format.md):
//
//   arguments  tokens : tensor<?x?xi64>            {densessm.input = "tokens"}
//              position : tensor<?xi64>            {densessm.input = "position"}
//                (retention families only: each sequence's first position)
//              one argument per recurrent state    {densessm.state = "<name>"}
//                (Mamba: per layer "layers.<l>.conv_window" [B, d_inner, K-1]
//                 then "layers.<l>.ssm_state" [B, d_inner, N]; retention:
//                 "layers.<l>.retention_state" [B, h, dk, dv]; all f32)
//              the weights, f32, in checkpoint layout {densessm.weight = "<tensor>"}
//   results    logits : tensor<?x?xVxf32>          {densessm.output = "logits"}
//              the final states, in argument order  {densessm.state = "<name>"}
//
//===----------------------------------------------------------------------===//
#ifndef DENSESSM_FRONTEND_MODELBUILDER_H
#define DENSESSM_FRONTEND_MODELBUILDER_H

#include "densessm/Frontend/ModelConfig.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <vector>

namespace mlir::densessm::frontend {

/// The shape of every tensor the checkpoint holds, by name.
using TensorShapes = llvm::StringMap<std::vector<int64_t>>;

/// Builds the model. Every tensor the model reads must be in `shapes` with
/// the shape MODELS.md gives; tensors the model does not read are ignored.
/// Errors name `source` (the checkpoint or graph file), the tensor, and the
/// expected and found shapes.
llvm::Expected<OwningOpRef<ModuleOp>>
buildModel(MLIRContext &context, const ModelConfig &config,
           const TensorShapes &shapes, llvm::StringRef source);

} // namespace mlir::densessm::frontend

#endif // DENSESSM_FRONTEND_MODELBUILDER_H
