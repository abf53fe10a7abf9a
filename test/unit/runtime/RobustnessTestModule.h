//===- RobustnessTestModule.h - the module the robustness tests use -------===//
#ifndef DENSESSM_TEST_UNIT_RUNTIME_ROBUSTNESSTESTMODULE_H
#define DENSESSM_TEST_UNIT_RUNTIME_ROBUSTNESSTESTMODULE_H

#include <string>

/// The compiled module given with --module= (see RobustnessTestMain.cpp).
extern std::string robustnessModulePath;

#endif // DENSESSM_TEST_UNIT_RUNTIME_ROBUSTNESSTESTMODULE_H
