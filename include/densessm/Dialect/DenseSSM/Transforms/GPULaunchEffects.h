//===- GPULaunchEffects.h - memory effects of gpu.launch_func ---*- C++ -*-===//
//
// Upstream gpu.launch_func declares no memory effects, so passes that need
// them — the ownership-based buffer deallocation in particular — reject a
// function that launches a kernel. The CUDA pipeline deallocates its
// buffers after outlining the kernels, so it attaches this model: a launch
// reads and writes each of its memref operands (and, conservatively,
// unknown memory), and allocates and frees nothing. Launches lowered
// without async tokens complete before the next host operation, so a buffer
// may be freed after the last launch that uses it.
//
//===----------------------------------------------------------------------===//
#ifndef DENSESSM_DIALECT_DENSESSM_TRANSFORMS_GPULAUNCHEFFECTS_H
#define DENSESSM_DIALECT_DENSESSM_TRANSFORMS_GPULAUNCHEFFECTS_H

namespace mlir {
class DialectRegistry;
namespace densessm {

/// Attaches the memory effects above to gpu.launch_func.
void registerGPULaunchMemoryEffects(DialectRegistry &registry);

} // namespace densessm
} // namespace mlir

#endif // DENSESSM_DIALECT_DENSESSM_TRANSFORMS_GPULAUNCHEFFECTS_H
