//===- CommandLine.h - a tool's command line, mistakes in one line -*- C++ -*-===//
//
// llvm::cl reports a command-line mistake over several lines in its own
// format ("tool: Unknown command line argument ...", "tool: Did you mean
// ...") and exits. The densessm tools report every error as one line,
// "<tool>: error: ...", so they parse through this.
//
//===----------------------------------------------------------------------===//
#ifndef DENSESSM_SUPPORT_COMMANDLINE_H
#define DENSESSM_SUPPORT_COMMANDLINE_H

#include "llvm/ADT/StringRef.h"

namespace mlir::densessm {

/// Parses argv with llvm::cl. On a mistake prints "<tool>: error: <what
/// llvm::cl found>" (one line) to stderr and returns false.
bool parseToolCommandLine(int argc, char **argv, llvm::StringRef tool,
                          llvm::StringRef overview);

} // namespace mlir::densessm

#endif // DENSESSM_SUPPORT_COMMANDLINE_H
