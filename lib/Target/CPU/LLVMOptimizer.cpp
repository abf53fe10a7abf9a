//===- LLVMOptimizer.cpp - -O3 sized for whole-model functions ------------===//

#include "densessm/Target/CPU/LLVMOptimizer.h"

#include "llvm/Passes/PassBuilder.h"
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
  llvm::PassBuilder builder(&machine, tuning);
  builder.registerVectorizerEndEPCallback(
      [](llvm::FunctionPassManager &passes, llvm::OptimizationLevel) {
        passes.addPass(SLPVectorizeSmallFunctions());
      });

  llvm::LoopAnalysisManager loops;
  llvm::FunctionAnalysisManager functions;
  llvm::CGSCCAnalysisManager sccs;
  llvm::ModuleAnalysisManager modules;
  builder.registerModuleAnalyses(modules);
  builder.registerCGSCCAnalyses(sccs);
  builder.registerFunctionAnalyses(functions);
  builder.registerLoopAnalyses(loops);
  builder.crossRegisterProxies(loops, functions, sccs, modules);

  builder.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3)
      .run(module, modules);
  return llvm::Error::success();
}
