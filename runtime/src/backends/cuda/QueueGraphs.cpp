//===- QueueGraphs.cpp - queued entry points replayed as CUDA graphs ------===//

#include "QueueGraphs.h"

#include <utility>

namespace densessm::runtime {

bool QueueGraphs::shouldCapture(uint64_t key, std::thread::id thread) {
  if (!enabled)
    return false;
  std::lock_guard<std::mutex> lock(mutex);
  bool first = ranOnce.insert({key, thread}).second;
  return !first && !disabled.count(key);
}

void QueueGraphs::disable(uint64_t key) {
  std::lock_guard<std::mutex> lock(mutex);
  disabled.insert(key);
}

std::string QueueGraphs::launch(uint64_t key, CUgraph graph, CUstream stream) {
  CUgraphExec executable = nullptr;
  {
    std::lock_guard<std::mutex> lock(mutex);
    std::vector<CUgraphExec> &free = idle[key];
    if (!free.empty()) {
      executable = free.back();
      free.pop_back();
    }
  }
  bool updated = false;
  if (executable) {
    // Refused when the topology changed; the reason does not matter here.
    CUgraphExecUpdateResultInfo info{};
    updated = driver.cuGraphExecUpdate(executable, graph, &info) == 0;
    if (!updated) {
      driver.cuGraphExecDestroy(executable);
      executable = nullptr;
    }
  }
  std::string failure;
  if (!updated)
    if (CUresult result = driver.cuGraphInstantiate(&executable, graph, 0)) {
      failure = driver.describe(
          result, "cuGraphInstantiate (the queued GPU work, captured)");
      executable = nullptr;
    }
  driver.cuGraphDestroy(graph);
  if (executable)
    if (CUresult result = driver.cuGraphLaunch(executable, stream))
      failure = driver.describe(result, "cuGraphLaunch (the queued GPU work)");

  std::lock_guard<std::mutex> lock(mutex);
  if (executable) {
    ++(updated ? total.updates : total.instantiations);
    // Later launches of it are ordered after this one by the driver, so it
    // can be updated again while this one runs.
    if (failure.empty())
      idle[key].push_back(executable);
    else
      driver.cuGraphExecDestroy(executable);
  }
  return failure;
}

QueueGraphs::Counts QueueGraphs::counts() const {
  std::lock_guard<std::mutex> lock(mutex);
  return total;
}

void QueueGraphs::clear() {
  std::lock_guard<std::mutex> lock(mutex);
  for (auto &[key, executables] : idle)
    for (CUgraphExec executable : executables)
      driver.cuGraphExecDestroy(executable);
  idle.clear();
}

} // namespace densessm::runtime
