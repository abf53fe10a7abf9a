//===- CPUBackend.h - runs a module's CPU executable ------------*- C++ -*-===//
#ifndef DENSESSM_RUNTIME_SRC_BACKENDS_CPU_CPUBACKEND_H
#define DENSESSM_RUNTIME_SRC_BACKENDS_CPU_CPUBACKEND_H

#include "Backend.h"
#include "ModuleFile.h"

#include <memory>

namespace densessm::runtime {

/// Loads the module's CPU executable (a shared object) and resolves the
/// symbol of every dispatch.
Status createCPUBackend(const ModuleFile &file,
                        std::unique_ptr<Backend> &out);

} // namespace densessm::runtime

#endif // DENSESSM_RUNTIME_SRC_BACKENDS_CPU_CPUBACKEND_H
