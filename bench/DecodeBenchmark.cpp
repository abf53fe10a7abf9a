//===- DecodeBenchmark.cpp - decode speed against the bandwidth bound -----===//
//
//   densessm-bench-decode MODULE.dssm [--batch=1] [--steps=64] [--prompt=16]
//
// Decoding one token reads every weight once, so its speed is bounded by
// memory bandwidth: bound (tokens/s per sequence step) = copy bandwidth /
// weight bytes. This measures, in the same run, (1) the machine's copy
// bandwidth (memcpy of buffers far larger than the caches; read + write
// bytes per second, as STREAM counts them) and (2) the module's decode steps
// per second after a prompt, and prints the fraction of the bound reached.
//
//===----------------------------------------------------------------------===//

#include "MachineBounds.h"
#include "SessionTiming.h"
#include "densessm/runtime/Runtime.hpp"

#include <cstdio>
#include <exception>

using densessm::bench::copyBandwidth;
using densessm::bench::coreCount;
using densessm::bench::intFlag;
using densessm::bench::readBandwidth;

int main(int argc, char **argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: densessm-bench-decode MODULE.dssm "
                         "[--batch=1] [--steps=64] [--prompt=16]\n");
    return 1;
  }
  int32_t batch = int32_t(intFlag(argc, argv, "batch", 1));
  int64_t steps = intFlag(argc, argv, "steps", 64);
  int64_t promptLength = intFlag(argc, argv, "prompt", 16);
  try {
    double bandwidth = copyBandwidth();
    double readOnly = readBandwidth();
    auto module = densessm::runtime::Module::load(argv[1]);
    densessm::runtime::Session session(module, DSSM_DEVICE_CPU, batch);
    densessm::bench::SessionTiming timing = densessm::bench::timePrefillAndDecode(
        module, session, batch, promptLength, steps);
    double prefillSeconds = timing.prefillSeconds;
    double median = timing.medianStepSeconds;
    double weightBytes = double(module.weightBytes());
    std::printf("module            %s (%s)\n", argv[1], module.family().c_str());
    std::printf("weights           %.1f MiB read per decode step\n",
                weightBytes / (1 << 20));
    std::printf("copy bandwidth    %.2f GB/s (memcpy on %u threads, read + "
                "write)\n",
                bandwidth / 1e9, coreCount());
    std::printf("prefill           %lld x %d tokens in %.2f ms (%.1f tokens/s)\n",
                (long long)promptLength, batch, prefillSeconds * 1e3,
                promptLength * batch / prefillSeconds);
    std::printf("decode            batch %d: %.2f ms per step (median of %lld), "
                "%.1f tokens/s\n",
                batch, median * 1e3, (long long)steps, batch / median);
    std::printf("read bandwidth    %.2f GB/s (sum on %u threads)\n",
                readOnly / 1e9, coreCount());
    // The bound, three ways, all from this run: decode reads the weights
    // (it writes almost nothing), so the read bandwidth is the bound that
    // applies; memcpy's bandwidth is quoted both as bytes copied per second
    // and, as STREAM does, as bytes read + written per second.
    double stepsPerSecond = 1.0 / median;
    struct Bound {
      const char *name;
      double bytesPerSecond;
    } bounds[] = {{"read bandwidth", readOnly},
                  {"copy, bytes copied/s", bandwidth / 2},
                  {"copy, read + write/s (STREAM)", bandwidth}};
    std::printf("bound             weight bytes / bandwidth:\n");
    for (const Bound &bound : bounds)
      std::printf("  %-30s %6.2f GB/s -> %6.2f ms per step, decode at %5.1f%%\n",
                  bound.name, bound.bytesPerSecond / 1e9,
                  1e3 * weightBytes / bound.bytesPerSecond,
                  100.0 * stepsPerSecond * weightBytes / bound.bytesPerSecond);
  } catch (const std::exception &error) { // runtime errors and allocation
    std::fprintf(stderr, "densessm-bench-decode: error: %s\n", error.what());
    return 1;
  }
  return 0;
}
