//===- SignatureChecker.cpp - shape/type checks for op verifiers ----------===//

#include "SignatureChecker.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::densessm;

std::string mlir::densessm::formatDims(llvm::ArrayRef<llvm::StringRef> dims) {
  std::string out = "[";
  llvm::raw_string_ostream os(out);
  llvm::interleaveComma(dims, os);
  os << "]";
  return out;
}

std::string SignatureChecker::operand(llvm::StringRef name) {
  return ("operand '" + name + "'").str();
}

std::string SignatureChecker::result(llvm::StringRef name) {
  return ("result '" + name + "'").str();
}

InFlightDiagnostic SignatureChecker::fail() {
  // An op reports its first problem only: after that, errors go to an
  // inactive diagnostic that discards them.
  if (failed)
    return InFlightDiagnostic();
  failed = true;
  return op->emitOpError();
}

void SignatureChecker::define(llvm::StringRef symbol, int64_t size,
                              llvm::StringRef source) {
  bindings[symbol] = Binding{size, source.str()};
}

std::optional<int64_t> SignatureChecker::lookup(llvm::StringRef symbol) const {
  auto it = bindings.find(symbol);
  if (it == bindings.end())
    return std::nullopt;
  return it->second.size;
}

void SignatureChecker::tensor(llvm::StringRef what, Type type,
                              llvm::ArrayRef<llvm::StringRef> dims,
                              ElementKind kind) {
  if (failed)
    return;
  // ODS already requires ranked tensors; an unranked type reads as a rank
  // mismatch here.
  auto ranked = dyn_cast<RankedTensorType>(type);
  if (!ranked || ranked.getRank() != static_cast<int64_t>(dims.size())) {
    InFlightDiagnostic diag = fail();
    diag << what << " must have rank " << dims.size() << " " << formatDims(dims)
         << ", found ";
    if (ranked)
      diag << "rank " << ranked.getRank() << " (" << type << ")";
    else
      diag << type;
    return;
  }
  checkElement(what, ranked.getElementType(), kind);
  for (auto [axis, symbol] : llvm::enumerate(dims))
    checkDim(what, axis, symbol, ranked.getDimSize(axis));
}

void SignatureChecker::checkElement(llvm::StringRef what, Type element,
                                    ElementKind kind) {
  if (failed)
    return;
  switch (kind) {
  case ElementKind::Activation:
    if (!activation) {
      if (!element.isF32() && !element.isF16() && !element.isBF16()) {
        fail() << what << " element type must be f32, f16 or bf16, found "
               << element;
        return;
      }
      activation = element;
      activationSource = what.str();
      return;
    }
    if (element != activation)
      fail() << what << " element type must be " << activation << " to match "
             << activationSource << ", found " << element;
    return;
  case ElementKind::Parameter: {
    if (element.isF32() || (activation && element == activation))
      return;
    InFlightDiagnostic diag = fail();
    diag << what << " element type must be f32";
    if (activation)
      diag << " or the activation type " << activation;
    diag << ", found " << element;
    return;
  }
  case ElementKind::F32:
    if (!element.isF32())
      fail() << what << " element type must be f32, found " << element;
    return;
  case ElementKind::Index:
    if (!element.isSignlessInteger(32) && !element.isSignlessInteger(64))
      fail() << what << " element type must be i32 or i64, found " << element;
    return;
  }
}

void SignatureChecker::checkDim(llvm::StringRef what, unsigned axis,
                                llvm::StringRef symbol, int64_t size) {
  if (failed || ShapedType::isDynamic(size))
    return;
  auto it = bindings.find(symbol);
  if (it == bindings.end()) {
    bindings[symbol] =
        Binding{size, (what + " dim " + llvm::Twine(axis)).str()};
    return;
  }
  if (it->second.size != size)
    fail() << what << " dim " << axis << " (" << symbol << ") must be "
           << it->second.size << " to match " << it->second.source << ", found "
           << size;
}
