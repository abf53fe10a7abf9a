//===- ModuleSignature.h - what a model's entry points bind -----*- C++ -*-===//
//
// Reads the calling convention of ModelBuilder.h back from the IR (the
// densessm.input / .state / .weight / .output attributes): which argument is
// the tokens, the positions, a state or a weight, and which result is the
// logits or a final state. It is what the module file's entry points record
// and what the runtime binds.
//
//===----------------------------------------------------------------------===//
#ifndef DENSESSM_TARGET_MODULESIGNATURE_H
#define DENSESSM_TARGET_MODULESIGNATURE_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace mlir::densessm {

enum class BindingRole { Tokens, Position, State, Weight, Logits };
/// The element type of a binding. Weights are F32, or BF16 (F16) for the
/// linear layers' weights of a module compiled with --weight-type=bf16
/// (f16).
enum class BindingElement { F32, BF16, F16, I64 };

struct BindingSignature {
  BindingRole role;
  BindingElement element;
  std::vector<int64_t> shape; // -1 for dynamic dimensions
  unsigned index = 0;         // into states or weights
};

struct EntrySignature {
  std::string name;
  bool recurrent = false;
  std::vector<BindingSignature> arguments, results;
};

struct StateSignature {
  std::string name;
  std::vector<int64_t> shape; // one sequence's: without the batch dimension
};

struct WeightSignature {
  std::string name;
  std::vector<int64_t> shape;
  BindingElement element = BindingElement::F32; // F32, BF16 or F16
};

struct ModuleSignature {
  std::vector<EntrySignature> entries; // prefill, step
  std::vector<StateSignature> states;
  std::vector<WeightSignature> weights;
  int64_t vocabSize = 0;
};

/// Reads @prefill and @step of `module`; errors say which argument or
/// result lacks its role or disagrees with the other entry point.
llvm::Expected<ModuleSignature> readModuleSignature(ModuleOp module);

} // namespace mlir::densessm

#endif // DENSESSM_TARGET_MODULESIGNATURE_H
