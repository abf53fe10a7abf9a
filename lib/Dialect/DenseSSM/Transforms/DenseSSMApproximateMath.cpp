//===- DenseSSMApproximateMath.cpp - --densessm-approximate-math ----------===//
//
// Replaces math.exp (scalar or vector, f32) with MLIR's polynomial
// approximation, so that the scans' K-wide decays stay in vector registers
// instead of becoming one libm call per lane. The approximation is accurate
// to a few ulp, well inside TESTING.md's tolerances.
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
    populateMathPolynomialApproximationPatterns(
        patterns, [](StringRef name) { return name == "exp" || name == "math.exp"; });
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
