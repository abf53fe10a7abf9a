//===- SessionMemory.h - a session's buffers on the GPU ---------*- C++ -*-===//
//
// The CUDA backend's session memory (Backend::allocateSessionMemory): the
// states a session keeps from one decode step to the next, and the buffers
// its runs write into, stay on the GPU.
//
// They are managed memory, like every buffer of the host code (which may
// still copy a strided view on the host), zeroed by the GPU, so that their
// pages start there. The host reaches them only through cuMemcpyAsync,
// which copies managed memory from where its pages are: a decode step's
// logits come to the host without moving the pages they were written to,
// and the state never leaves the GPU. (A host memcpy would fault every
// page over to the host, and the next step's kernels would fault them
// back.) Transfers are mgpuTransferAndWait (MGPURuntime.h), or, around a
// queued run, the queue's (mgpuSetQueueTransfers). They are allocated and freed with the driver, not kept in the
// host code's pool (DeviceMemoryPool.h): a session's state can take
// gigabytes, which a released session gives back.
//
// Each function is called inside a KernelScope; a failure is recorded in
// its slot.
//
//===----------------------------------------------------------------------===//
#ifndef DENSESSM_RUNTIME_SRC_BACKENDS_CUDA_SESSIONMEMORY_H
#define DENSESSM_RUNTIME_SRC_BACKENDS_CUDA_SESSIONMEMORY_H

#include <cstdint>

namespace densessm::runtime {

/// `bytes` of zeroed managed memory on the GPU; null after a failure.
void *allocateGPUSessionMemory(uint64_t bytes);

/// Frees memory from allocateGPUSessionMemory.
void freeGPUSessionMemory(void *pointer);

} // namespace densessm::runtime

#endif // DENSESSM_RUNTIME_SRC_BACKENDS_CUDA_SESSIONMEMORY_H
