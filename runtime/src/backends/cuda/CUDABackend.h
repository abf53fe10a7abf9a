//===- CUDABackend.h - runs a module's CUDA host code -----------*- C++ -*-===//
#ifndef DENSESSM_RUNTIME_SRC_BACKENDS_CUDA_CUDABACKEND_H
#define DENSESSM_RUNTIME_SRC_BACKENDS_CUDA_CUDABACKEND_H

#include "Backend.h"
#include "CUDADriver.h"
#include "ModuleFile.h"

#include <memory>

namespace densessm::runtime {

/// Whether queued entry points are to be replayed as CUDA graphs
/// (QueueGraphs.h): the environment's DENSESSM_CUDA_GRAPHS, 1 (the default)
/// or 0; any other value is an error.
Status cudaGraphsWanted(bool &wanted);

/// Loads the module's CUDA host code (a shared object whose constructors
/// load the kernels through the mgpu* functions), uploads the weights to
/// managed memory and resolves the symbol of every dispatch.
Status createCUDABackend(const ModuleFile &file, const CUDADriver &driver,
                         bool useGraphs, std::unique_ptr<Backend> &out);

} // namespace densessm::runtime

#endif // DENSESSM_RUNTIME_SRC_BACKENDS_CUDA_CUDABACKEND_H
