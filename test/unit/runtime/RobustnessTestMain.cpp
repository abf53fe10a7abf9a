//===- RobustnessTestMain.cpp - main of densessm-runtime-robustness-tests -===//
//
//   densessm-runtime-robustness-tests --module=M.dssm [gtest flags]
//
// Run by test/Integration/Runtime/robustness-*.test on a module compiled
// from a random checkpoint (plain, and under ASan/UBSan and TSan by
// scripts/sanitize.sh).
//
//===----------------------------------------------------------------------===//

#include "RobustnessTestModule.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>

std::string robustnessModulePath;

int main(int argc, char **argv) {
  ::testing::InitGoogleTest(&argc, argv);
  for (int i = 1; i < argc; ++i)
    if (std::strncmp(argv[i], "--module=", 9) == 0)
      robustnessModulePath = argv[i] + 9;
  if (robustnessModulePath.empty()) {
    std::fprintf(stderr,
                 "usage: densessm-runtime-robustness-tests --module=M.dssm\n");
    return 2;
  }
  return RUN_ALL_TESTS();
}
