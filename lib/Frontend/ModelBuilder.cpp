//===- ModelBuilder.cpp - a model family's IR from its config -------------===//
//
// buildModel: the module with @prefill and @step (ModelBuilder.h), each
// emitted by its family's builder through a ModelEmitter, and verified, so
// that a caller gets either a module the pipelines accept or an error.
//
//===----------------------------------------------------------------------===//

#include "densessm/Frontend/ModelBuilder.h"

#include "ModelEmitter.h"
#include "densessm/Dialect/DenseSSM/IR/DenseSSMDialect.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::densessm;
using namespace mlir::densessm::frontend;

llvm::Expected<OwningOpRef<ModuleOp>> mlir::densessm::frontend::buildModel(
    MLIRContext &context, const ModelConfig &config, const TensorShapes &shapes,
    llvm::StringRef source) {
  context.loadDialect<DenseSSMDialect, arith::ArithDialect, func::FuncDialect,
                      linalg::LinalgDialect, math::MathDialect,
                      tensor::TensorDialect>();
  OwningOpRef<ModuleOp> module =
      ModuleOp::create(NameLoc::get(StringAttr::get(&context, source)));
  std::vector<std::string> extra;
  for (EntryPoint entry : {EntryPoint::Prefill, EntryPoint::Step}) {
    ModelEmitter emitter(*module, config, shapes, source, entry);
    if (config.isMambaFamily())
      emitMambaFunction(emitter);
    else
      emitRetNetFunction(emitter);
    // Both entry points read the same tensors: the prefill's report is the
    // whole story.
    if (llvm::Error error = emitter.takeError())
      return std::move(error);
    // (With tied embeddings, a saved copy of the embedding as lm_head.weight
    // is redundant, not foreign.)
    if (entry == EntryPoint::Prefill)
      for (const auto &tensor : shapes)
        if (!emitter.knowsWeight(tensor.getKey()) &&
            !(config.tieWordEmbeddings && tensor.getKey() == "lm_head.weight"))
          extra.push_back(tensor.getKey().str());
  }
  // A tensor the model does not read means the checkpoint is not the model
  // config.json describes (another variant, or a renamed tensor): say so
  // rather than compile a model that silently ignores it.
  if (!extra.empty()) {
    llvm::sort(extra);
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        llvm::formatv("{0}: extra tensor '{1}': the {2} model of this "
                      "config.json has no such weight{3}",
                      source, extra.front(), stringifyModelFamily(config.family),
                      extra.size() > 1
                          ? llvm::formatv(" (and {0} more extra tensors)",
                                          extra.size() - 1)
                                .str()
                          : std::string())
            .str());
  }

  // The builders emit only what the verifiers accept; should they not, say
  // so here rather than hand a broken module to the pipeline.
  std::string diagnostics;
  llvm::raw_string_ostream os(diagnostics);
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diagnostic) {
    os << "\n  " << diagnostic.getLocation() << ": " << diagnostic;
    return success();
  });
  if (failed(verify(*module)))
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        llvm::formatv("{0}: internal error: the {1} model built from this "
                      "configuration does not verify:{2}",
                      source, stringifyModelFamily(config.family), diagnostics)
            .str());
  return module;
}
