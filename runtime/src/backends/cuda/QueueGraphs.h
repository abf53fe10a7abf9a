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
// An entry point's first run on each thread is not captured: it is the one
// that creates what a capture should not (the thread's cuBLAS handle, the
// memory pool's buffers). A queue whose capture failed is not captured
// again.
//
//===----------------------------------------------------------------------===//
#ifndef DENSESSM_RUNTIME_SRC_BACKENDS_CUDA_QUEUEGRAPHS_H
#define DENSESSM_RUNTIME_SRC_BACKENDS_CUDA_QUEUEGRAPHS_H

#include "CUDADriver.h"

#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

namespace densessm::runtime {

/// The executable graphs of one module's queued entry points, by the key
/// the compiler gave each queue (densessm_cuda_queue_begin's argument).
/// Safe to use from several threads: an executable graph in use by one is
/// not seen by the others (a key keeps one per thread that ran it at the
/// same time).
class QueueGraphs {
public:
  QueueGraphs(const CUDADriver &driver, bool enabled)
      : driver(driver), enabled(enabled) {}
  ~QueueGraphs() { clear(); }
  QueueGraphs(const QueueGraphs &) = delete;
  QueueGraphs &operator=(const QueueGraphs &) = delete;

  /// Whether the queue with `key` is to be captured on `thread`: graphs
  /// are enabled, this is not its first run there, and no capture of it
  /// failed.
  bool shouldCapture(uint64_t key, std::thread::id thread);

  /// No more captures of the queue with `key` (one failed).
  void disable(uint64_t key);

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
  const CUDADriver &driver;
  const bool enabled;
  mutable std::mutex mutex;
  /// Per key, the executable graphs no launch() is using.
  std::unordered_map<uint64_t, std::vector<CUgraphExec>> idle;
  std::set<std::pair<uint64_t, std::thread::id>> ranOnce;
  std::set<uint64_t> disabled;
  Counts total;
};

} // namespace densessm::runtime

#endif // DENSESSM_RUNTIME_SRC_BACKENDS_CUDA_QUEUEGRAPHS_H
