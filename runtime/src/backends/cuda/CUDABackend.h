//===- CUDABackend.h - runs a module's CUDA host code -----------*- C++ -*-===//
#ifndef DENSESSM_RUNTIME_SRC_BACKENDS_CUDA_CUDABACKEND_H
#define DENSESSM_RUNTIME_SRC_BACKENDS_CUDA_CUDABACKEND_H

#include "Backend.h"
#include "CUDADriver.h"
#include "ModuleFile.h"

#include <memory>

namespace densessm::runtime {

/// How the backend launches kernels, each from the environment, 1 (the
/// default) or 0; any other value is an error.
struct CUDALaunchOptions {
  /// DENSESSM_CUDA_GRAPHS: queued entry points replayed as CUDA graphs
  /// (QueueGraphs.h).
  bool graphs = true;
  /// DENSESSM_CUDA_PDL: the kernels of objects whose kernels wait for the
  /// kernels before them (sm_90+) launched with programmatic stream
  /// serialization (MGPURuntime.cpp).
  bool programmaticLaunch = true;
};
Status cudaLaunchOptionsFromEnvironment(CUDALaunchOptions &options);

/// Loads the module's CUDA host code (a shared object whose constructors
/// load the kernels through the mgpu* functions), uploads the weights to
/// managed memory and resolves the symbol of every dispatch.
Status createCUDABackend(const ModuleFile &file, const CUDADriver &driver,
                         const CUDALaunchOptions &options,
                         std::unique_ptr<Backend> &out);

} // namespace densessm::runtime

#endif // DENSESSM_RUNTIME_SRC_BACKENDS_CUDA_CUDABACKEND_H
