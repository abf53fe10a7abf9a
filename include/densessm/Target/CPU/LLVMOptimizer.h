//===- LLVMOptimizer.h - -O3 sized for whole-model functions ----*- C++ -*-===//
//
// LLVM's -O3 for the compiled model, with one change: the SLP vectoriser
// runs only on functions of at most kSLPMaxInstructions instructions.
//
// Why: the SLP vectoriser's cost grows faster than linearly in the length
// of a basic block, and two kinds of function here are long:
//   - the entry points, straight-line code for every layer (descriptor
//     plumbing, BLAS calls, OpenMP forks), 45-55 thousand instructions for
//     an 8-layer DenseRetNet;
//   - retention's parallel loop bodies (outlined OpenMP regions of ~3,300
//     instructions), where LLVM fully unrolls a 128-term dot product into
//     one chain of FMAs and SLP then spent 1.2 s on each.
// An 8-layer DenseRetNet-350M-shaped model spent 18 of its 25 s of LLVM in
// SLP; without it the LLVM phase takes 9 s, and its prefill and decode
// measured alike (within 5%, the run-to-run spread). Smaller loop bodies
// (the scans, the elementwise loops) still get SLP.
//
//===----------------------------------------------------------------------===//
#ifndef DENSESSM_TARGET_CPU_LLVMOPTIMIZER_H
#define DENSESSM_TARGET_CPU_LLVMOPTIMIZER_H

#include "llvm/IR/Module.h"
#include "llvm/Support/Error.h"
#include "llvm/Target/TargetMachine.h"

namespace mlir::densessm {

/// Functions above this size skip SLP vectorisation.
constexpr unsigned kSLPMaxInstructions = 2000;

/// Runs -O3 for `machine` over `module`.
llvm::Error optimizeModule(llvm::Module &module, llvm::TargetMachine &machine);

} // namespace mlir::densessm

#endif // DENSESSM_TARGET_CPU_LLVMOPTIMIZER_H
