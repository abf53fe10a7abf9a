//===- DenseSSMApproximateMath.cpp - --densessm-approximate-math ----------===//
//
// Replaces the f32 transcendental functions the lowerings use — exp, expm1,
// log, log1p (softplus, decays, SiLU, retention's normalisation) — with
// MLIR's polynomial approximations, so that they vectorise and stay in
// registers instead of becoming one libm call per element. The
// approximations are accurate to a few ulp, well inside TESTING.md's
// tolerances. (sin and cos, used once per rotary element, stay libm calls.)
//
//===----------------------------------------------------------------------===//

#include "densessm/Dialect/DenseSSM/Transforms/Passes.h"

#include "mlir/Dialect/Math/Transforms/Approximation.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::densessm {
#define GEN_PASS_DEF_DENSESSMAPPROXIMATEMATH
#include "densessm/Dialect/DenseSSM/Transforms/Passes.h.inc"
} // namespace mlir::densessm

using namespace mlir;

namespace {

struct ApproximateMathPass
    : densessm::impl::DenseSSMApproximateMathBase<ApproximateMathPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateMathPolynomialApproximationPatterns(patterns, [](StringRef name) {
      name.consume_front("math.");
      return name == "exp" || name == "expm1" || name == "log" ||
             name == "log1p";
    });
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
