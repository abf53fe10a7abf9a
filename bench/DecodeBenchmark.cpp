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
#include "densessm/runtime/Runtime.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

using Clock = std::chrono::steady_clock;
using densessm::bench::copyBandwidth;
using densessm::bench::coreCount;
using densessm::bench::readBandwidth;

namespace {

double seconds(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

int64_t flag(int argc, char **argv, const char *name, int64_t fallback) {
  std::string prefix = std::string("--") + name + "=";
  for (int i = 2; i < argc; ++i)
    if (std::strncmp(argv[i], prefix.c_str(), prefix.size()) == 0)
      return std::stoll(argv[i] + prefix.size());
  return fallback;
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: densessm-bench-decode MODULE.dssm "
                         "[--batch=1] [--steps=64] [--prompt=16]\n");
    return 1;
  }
  int32_t batch = int32_t(flag(argc, argv, "batch", 1));
  int64_t steps = flag(argc, argv, "steps", 64);
  int64_t promptLength = flag(argc, argv, "prompt", 16);
  try {
    double bandwidth = copyBandwidth();
    double readOnly = readBandwidth();
    auto module = densessm::runtime::Module::load(argv[1]);
    densessm::runtime::Session session(module, DSSM_DEVICE_CPU, batch);
    int64_t vocab = module.vocabSize();
    std::vector<std::vector<int64_t>> prompts(static_cast<size_t>(batch));
    for (int32_t s = 0; s < batch; ++s)
      for (int64_t t = 0; t < promptLength; ++t)
        prompts[s].push_back((7 * t + 3 * s + 1) % vocab);
    auto start = Clock::now();
    session.prefill(prompts);
    double prefillSeconds = seconds(start);

    std::vector<int64_t> tokens(static_cast<size_t>(batch), 1);
    session.step(tokens); // warm: first touch of every weight page
    std::vector<double> times;
    for (int64_t i = 0; i < steps; ++i) {
      for (int32_t s = 0; s < batch; ++s)
        tokens[s] = (tokens[s] * 31 + 7) % vocab;
      auto stepStart = Clock::now();
      session.step(tokens);
      times.push_back(seconds(stepStart));
    }
    std::sort(times.begin(), times.end());
    double median = times[times.size() / 2];
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
