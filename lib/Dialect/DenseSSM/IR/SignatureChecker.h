//===- SignatureChecker.h - shape/type checks for op verifiers --*- C++ -*-===//
//
// Every densessm op documents a signature such as
//   u [B, L, D] : T,   A [D, N] : f32 or T,   initial_state [B, D, N] : f32
// SignatureChecker checks an op against such a signature and emits one
// located error naming the operand (or result), what was expected and what
// was found. Symbolic dimensions are bound by their first static occurrence
// and later occurrences are checked against that binding; dynamic sizes
// (`?`) match anything. The first failed check emits its error and turns
// every later check into a no-op, so an op reports one precise problem.
//
//===----------------------------------------------------------------------===//
#ifndef DENSESSM_LIB_DIALECT_DENSESSM_IR_SIGNATURECHECKER_H
#define DENSESSM_LIB_DIALECT_DENSESSM_IR_SIGNATURECHECKER_H

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Operation.h"
#include "llvm/ADT/StringMap.h"

#include <optional>
#include <string>

namespace mlir::densessm {

/// What a tensor's element type must be.
enum class ElementKind {
  /// The op's activation type T: f32, f16 or bf16, the same for every
  /// activation of the op (the first one checked fixes it).
  Activation,
  /// A parameter (weights, norm weights, biases): f32 or T.
  Parameter,
  /// Recurrent state and decays: always f32.
  F32,
  /// Token ids and positions: i32 or i64.
  Index,
};

class SignatureChecker {
public:
  explicit SignatureChecker(Operation *op) : op(op) {}

  /// "operand 'u'" / "result 'y'": how messages name a value.
  static std::string operand(llvm::StringRef name);
  static std::string result(llvm::StringRef name);

  /// Checks that `type` is a ranked tensor of rank `dims.size()` whose axes
  /// agree with the symbols in `dims`, and whose element type is `kind`.
  void tensor(llvm::StringRef what, Type type,
              llvm::ArrayRef<llvm::StringRef> dims, ElementKind kind);

  /// Binds `symbol` to a size derived from other dimensions (for example
  /// `K-1`); `source` says where it comes from in messages.
  void define(llvm::StringRef symbol, int64_t size, llvm::StringRef source);

  /// The static size bound to `symbol`, if any.
  std::optional<int64_t> lookup(llvm::StringRef symbol) const;

  /// The activation type fixed so far (null before the first activation).
  Type activationType() const { return activation; }

  /// Emits a custom error; only the first error of an op is emitted, later
  /// ones are discarded.
  InFlightDiagnostic fail();

  bool ok() const { return !failed; }
  LogicalResult status() const { return failure(failed); }

private:
  void checkElement(llvm::StringRef what, Type element, ElementKind kind);
  void checkDim(llvm::StringRef what, unsigned axis, llvm::StringRef symbol,
                int64_t size);

  struct Binding {
    int64_t size;
    std::string source;
  };

  Operation *op;
  bool failed = false;
  Type activation;
  std::string activationSource;
  llvm::StringMap<Binding> bindings;
};

/// "[B, L, D]" for messages and docs.
std::string formatDims(llvm::ArrayRef<llvm::StringRef> dims);

} // namespace mlir::densessm

#endif // DENSESSM_LIB_DIALECT_DENSESSM_IR_SIGNATURECHECKER_H
