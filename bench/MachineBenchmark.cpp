//===- MachineBenchmark.cpp - the bounds the report measures against ------===//
//
//   densessm-bench-machine
//
// Prints one JSON object: the cores, the copy bandwidth (STREAM's read +
// write bytes per second), the read bandwidth and the FMA peak, measured now
// (bench/run.sh runs it next to the benchmarks it bounds).
//
//===----------------------------------------------------------------------===//

#include "MachineBounds.h"

#include <cstdio>
#include <exception>

using namespace densessm::bench;

int main() {
  try {
    double copy = copyBandwidth(), read = readBandwidth(), fma = fmaPeak();
    std::printf("{\"cores\": %u, \"copy_bandwidth\": %.6g, "
                "\"read_bandwidth\": %.6g, \"fma_peak_flops\": %.6g}\n",
                coreCount(), copy, read, fma);
  } catch (const std::exception &error) {
    std::fprintf(stderr, "densessm-bench-machine: error: %s\n", error.what());
    return 1;
  }
  return 0;
}
