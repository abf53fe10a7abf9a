//===- Progress.h - a tool's progress lines, one per phase ------*- C++ -*-===//
#ifndef DENSESSM_SUPPORT_PROGRESS_H
#define DENSESSM_SUPPORT_PROGRESS_H

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <string>

namespace mlir::densessm {

/// Prints "<tool>: <phase> <what> (<seconds> s)" on stderr as each phase
/// of a long compile or export finishes (nothing when quiet).
class Progress {
public:
  Progress(llvm::StringRef tool, bool quiet) : tool(tool.str()), quiet(quiet) {}
  void begin(llvm::StringRef phase) {
    current = phase.str();
    start = std::chrono::steady_clock::now();
  }
  void end(const std::string &detail) const {
    if (quiet)
      return;
    double seconds = std::chrono::duration<double>(
                         std::chrono::steady_clock::now() - start)
                         .count();
    llvm::errs() << llvm::formatv("{0}: {1,-8} {2} ({3:f2} s)\n", tool,
                                  current, detail, seconds);
  }

private:
  std::string tool, current;
  bool quiet;
  std::chrono::steady_clock::time_point start;
};

/// A parameter count as progress lines print it: "129.1M", "41.5K".
inline std::string parameterCountText(double count) {
  if (count >= 1e6)
    return llvm::formatv("{0:f1}M", count / 1e6).str();
  return llvm::formatv("{0:f1}K", count / 1e3).str();
}

} // namespace mlir::densessm

#endif // DENSESSM_SUPPORT_PROGRESS_H
