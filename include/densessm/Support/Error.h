//===- Error.h - formatted llvm::Error values -------------------*- C++ -*-===//
#ifndef DENSESSM_SUPPORT_ERROR_H
#define DENSESSM_SUPPORT_ERROR_H

#include "llvm/Support/Error.h"
#include "llvm/Support/FormatVariadic.h"

namespace mlir::densessm {

/// An llvm::Error whose message is llvm::formatv(format, args...): the
/// compiler's user-facing errors (file, tensor, expected vs found).
template <typename... Args>
llvm::Error makeError(const char *format, Args &&...args) {
  return llvm::createStringError(
      llvm::inconvertibleErrorCode(),
      llvm::formatv(format, std::forward<Args>(args)...).str());
}

} // namespace mlir::densessm

#endif // DENSESSM_SUPPORT_ERROR_H
