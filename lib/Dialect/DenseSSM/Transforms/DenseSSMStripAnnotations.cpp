//===- DenseSSMStripAnnotations.cpp - --densessm-strip-annotations --------===//
//
// Drops the densessm dialect's discardable attributes (a function's
// schedule, its arguments' checkpoint tensor, input and state names, its
// results' output and state names) after code generation.
//
//===----------------------------------------------------------------------===//

#include "densessm/Dialect/DenseSSM/Transforms/Passes.h"

#include "mlir/IR/BuiltinOps.h"

namespace mlir::densessm {
#define GEN_PASS_DEF_DENSESSMSTRIPANNOTATIONS
#include "densessm/Dialect/DenseSSM/Transforms/Passes.h.inc"
} // namespace mlir::densessm

using namespace mlir;

namespace {

bool isDenseSSMAttr(NamedAttribute attr) {
  return attr.getName().getValue().starts_with("densessm.");
}

struct StripAnnotationsPass
    : densessm::impl::DenseSSMStripAnnotationsBase<StripAnnotationsPass> {
  void runOnOperation() override {
    getOperation().walk([](FunctionOpInterface function) {
      for (NamedAttribute attr :
           llvm::to_vector(function->getDiscardableAttrs()))
        if (isDenseSSMAttr(attr))
          function->removeDiscardableAttr(attr.getName());
      for (unsigned i = 0, e = function.getNumArguments(); i < e; ++i)
        for (NamedAttribute attr : llvm::to_vector(function.getArgAttrs(i)))
          if (isDenseSSMAttr(attr))
            function.removeArgAttr(i, attr.getName());
      for (unsigned i = 0, e = function.getNumResults(); i < e; ++i)
        for (NamedAttribute attr : llvm::to_vector(function.getResultAttrs(i)))
          if (isDenseSSMAttr(attr))
            function.removeResultAttr(i, attr.getName());
    });
  }
};

} // namespace
