//===- CommandLine.cpp - a tool's command line, mistakes in one line ------===//

#include "densessm/Support/CommandLine.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdio>
#include <string>
#include <unistd.h>

using namespace llvm;

namespace {

/// Sends what is written to file descriptor 2 into a temporary file while
/// it lives: llvm::cl writes some of its errors (an option's bad value)
/// straight to llvm::errs() rather than to the stream it is given.
class CapturedStderr {
public:
  CapturedStderr() : file(std::tmpfile()) {
    errs().flush();
    if (file) {
      saved = dup(2);
      if (saved < 0 || dup2(fileno(file), 2) < 0)
        saved = -1;
    }
  }
  /// Restores descriptor 2 and returns what was written meanwhile.
  std::string release() {
    std::string text;
    errs().flush();
    if (saved >= 0) {
      dup2(saved, 2);
      close(saved);
      saved = -1;
    }
    if (file) {
      std::rewind(file);
      char chunk[4096];
      for (size_t n; (n = std::fread(chunk, 1, sizeof(chunk), file)) > 0;)
        text.append(chunk, n);
      std::fclose(file);
      file = nullptr;
    }
    return text;
  }
  ~CapturedStderr() { release(); }

private:
  std::FILE *file;
  int saved = -1;
};

} // namespace

bool mlir::densessm::parseToolCommandLine(int argc, char **argv,
                                          StringRef tool, StringRef overview) {
  std::string said;
  raw_string_ostream stream(said);
  CapturedStderr captured;
  bool ok = cl::ParseCommandLineOptions(argc, argv, overview, &stream);
  std::string printed = captured.release();
  if (ok) {
    errs() << printed; // not an error (a warning, say): pass it on
    return true;
  }
  // Each of llvm::cl's lines starts with "<program name>: "; keep what
  // follows, all in one line.
  SmallVector<StringRef> lines;
  std::string all = printed + said;
  StringRef(all).split(lines, '\n', /*MaxSplit=*/-1, /*KeepEmpty=*/false);
  std::string message;
  for (StringRef line : lines) {
    auto [head, rest] = line.split(": ");
    StringRef text = (rest.empty() ? head : rest).trim();
    if (!text.empty())
      message += (message.empty() ? "" : " ") + text.str();
  }
  WithColor::error(errs(), tool)
      << (message.empty() ? "invalid command line" : message) << "\n";
  return false;
}
