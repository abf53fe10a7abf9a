//===- LLVMOptimizer.cpp - -O3 sized for whole-model functions ------------===//

#include "densessm/Target/CPU/LLVMOptimizer.h"

#include "llvm/Passes/PassBuilder.h"
#include "llvm/Passes/StandardInstrumentations.h"
#include "llvm/Transforms/InstCombine/InstCombine.h"
#include "llvm/Transforms/Vectorize/SLPVectorizer.h"
#include "llvm/Transforms/Vectorize/VectorCombine.h"

using namespace mlir::densessm;

namespace {

/// SLP vectorisation and its clean-up (what -O3 runs after it), for
/// functions up to kSLPMaxInstructions.
class SLPVectorizeSmallFunctions
    : public llvm::PassInfoMixin<SLPVectorizeSmallFunctions> {
public:
  SLPVectorizeSmallFunctions() {
    passes.addPass(llvm::SLPVectorizerPass());
    passes.addPass(llvm::VectorCombinePass());
    passes.addPass(llvm::InstCombinePass());
  }

  llvm::PreservedAnalyses run(llvm::Function &function,
                              llvm::FunctionAnalysisManager &analyses) {
    if (function.getInstructionCount() > kSLPMaxInstructions)
      return llvm::PreservedAnalyses::all();
    return passes.run(function, analyses);
  }

private:
  llvm::FunctionPassManager passes;
};

} // namespace

llvm::Error mlir::densessm::optimizeModule(llvm::Module &module,
                                           llvm::TargetMachine &machine) {
  llvm::PipelineTuningOptions tuning;
  tuning.LoopUnrolling = true;
  tuning.LoopInterleaving = true;
  tuning.LoopVectorization = true;
  tuning.SLPVectorization = false; // SLPVectorizeSmallFunctions instead
  llvm::LoopAnalysisManager loops;
  llvm::FunctionAnalysisManager functions;
  llvm::CGSCCAnalysisManager sccs;
  llvm::ModuleAnalysisManager modules;
  // LLVM's --time-passes (densessm-compile passes it on) reports through
  // these.
  llvm::PassInstrumentationCallbacks callbacks;
  llvm::StandardInstrumentations instrumentations(module.getContext(),
                                                  /*DebugLogging=*/false);
  instrumentations.registerCallbacks(callbacks, &modules);

  llvm::PassBuilder builder(&machine, tuning, std::nullopt, &callbacks);
  builder.registerVectorizerEndEPCallback(
      [](llvm::FunctionPassManager &passes, llvm::OptimizationLevel) {
        passes.addPass(SLPVectorizeSmallFunctions());
      });
  builder.registerModuleAnalyses(modules);
  builder.registerCGSCCAnalyses(sccs);
  builder.registerFunctionAnalyses(functions);
  builder.registerLoopAnalyses(loops);
  builder.crossRegisterProxies(loops, functions, sccs, modules);

  builder.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3)
      .run(module, modules);
  return llvm::Error::success();
}
