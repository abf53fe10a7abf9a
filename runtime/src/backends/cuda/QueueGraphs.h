//===- QueueGraphs.h - queued entry points replayed as CUDA graphs -*- C++ -*-===//
//
// A decode step launches hundreds of small kernels. Launched one by one,
// each costs the CPU microseconds and leaves the GPU idle until the next
// arrives, which for a step that reads its weights in a fraction of a
// millisecond is most of the step. An entry point whose GPU work is queued
// (--densessm-queue-gpu-work: its host code never touches its buffers) can
// instead be captured: its host code still runs every time (it computes the
// launches' arguments: buffers from the pool, sizes), but the queue's
// stream records the launches, copies and projections into a CUDA graph
// instead of running them, and the graph is launched as one at the queue's
// end.
//
// Instantiating a graph costs about as much as launching its kernels, so
// each entry point keeps its executable graph and updates it to every new
// capture (cuGraphExecUpdate: same kernels in the same order, new
// arguments), instantiating again only when the update is refused (another
// batch size took another path through the host code).
//
// An entry point's first run is not captured: it is the one that creates
// what a capture should not (the thread's cuBLAS handle, the memory pool's
// buffers).
//
//===----------------------------------------------------------------------===//
#ifndef DENSESSM_RUNTIME_SRC_BACKENDS_CUDA_QUEUEGRAPHS_H
#define DENSESSM_RUNTIME_SRC_BACKENDS_CUDA_QUEUEGRAPHS_H

#include "CUDADriver.h"

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace densessm::runtime {

/// The executable graphs of one module's queued entry points, by the key
/// the compiler gave each queue (densessm_cuda_queue_begin's argument).
/// Safe to use from several threads: an executable graph in use by one is
/// not seen by the others (they instantiate their own).
class QueueGraphs {
public:
  QueueGraphs(const CUDADriver &driver, bool enabled)
      : driver(driver), enabled(enabled) {}
  ~QueueGraphs() { clear(); }
  QueueGraphs(const QueueGraphs &) = delete;
  QueueGraphs &operator=(const QueueGraphs &) = delete;

  /// Whether the queue with `key` is to be captured: graphs are enabled
  /// and this is not its first run.
  bool shouldCapture(uint64_t key);

  /// Launches `graph`, captured from the queue with `key`, on `stream`
  /// through that queue's executable graph (updated, or instantiated when
  /// it has none or the update is refused), and destroys `graph`. Returns
  /// the failure, described, or an empty string.
  std::string launch(uint64_t key, CUgraph graph, CUstream stream);

  /// How often launch() instantiated a graph, and how often an update did.
  struct Counts {
    uint64_t instantiations = 0, updates = 0;
  };
  Counts counts() const;

  /// Destroys every executable graph (before their kernels' modules are
  /// unloaded).
  void clear();

private:
  struct Entry {
    bool ranOnce = false;
    CUgraphExec executable = nullptr; // null while a launch() uses it
  };

  const CUDADriver &driver;
  const bool enabled;
  mutable std::mutex mutex;
  std::unordered_map<uint64_t, Entry> entries;
  Counts total;
};

} // namespace densessm::runtime

#endif // DENSESSM_RUNTIME_SRC_BACKENDS_CUDA_QUEUEGRAPHS_H
