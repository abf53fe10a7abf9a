//===- ModelBenchmark.cpp - one model's prefill and decode, as JSON -------===//
//
//   densessm-bench-model MODULE.dssm [--batch=1] [--prompt=256] [--steps=16]
//
// Loads a compiled module, prefills `batch` prompts of `prompt` tokens
// (parallel form) and then decodes `steps` tokens per sequence, timing each
// call. Prints one JSON object: the prefill time, the median decode step (at
// position `prompt`, so runs with different prompts show whether a step's
// cost depends on the position), the weight bytes a step reads and the
// process's peak resident memory. bench/run.sh runs one process per
// configuration so that each peak belongs to one configuration.
//
//===----------------------------------------------------------------------===//

#include "densessm/runtime/Runtime.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <sys/resource.h>
#include <vector>

using Clock = std::chrono::steady_clock;

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

double peakResidentBytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return double(usage.ru_maxrss) * 1024.0; // Linux reports KiB
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 2 || argv[1][0] == '-') {
    std::fprintf(stderr, "usage: densessm-bench-model MODULE.dssm [--batch=1] "
                         "[--prompt=256] [--steps=16]\n");
    return 1;
  }
  int32_t batch = int32_t(flag(argc, argv, "batch", 1));
  int64_t promptLength = flag(argc, argv, "prompt", 256);
  int64_t steps = flag(argc, argv, "steps", 16);
  if (batch < 1 || promptLength < 1 || steps < 1) {
    std::fprintf(stderr, "densessm-bench-model: --batch, --prompt and --steps "
                         "must be at least 1\n");
    return 1;
  }
  try {
    double residentBeforeLoad = peakResidentBytes();
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
    session.step(tokens); // warm: the step's first touch of its code and pages
    std::vector<double> times;
    for (int64_t i = 0; i < steps; ++i) {
      for (int32_t s = 0; s < batch; ++s)
        tokens[s] = (tokens[s] * 31 + 7) % vocab;
      auto stepStart = Clock::now();
      session.step(tokens);
      times.push_back(seconds(stepStart));
    }
    std::vector<double> sorted = times;
    std::sort(sorted.begin(), sorted.end());
    std::string name = argv[1];
    name = name.substr(name.find_last_of('/') + 1);
    name = name.substr(0, name.rfind(".dssm"));
    std::printf("{\"impl\": \"densessm\", \"model\": \"%s\", "
                "\"family\": \"%s\", \"batch\": %d, "
                "\"prompt\": %lld, \"prefill_s\": %.6g, "
                "\"decode_step_s\": %.6g, \"decode_steps\": %lld, "
                "\"weight_bytes\": %llu, \"peak_rss_bytes\": %.0f, "
                "\"rss_before_load_bytes\": %.0f}\n",
                name.c_str(), module.family().c_str(), batch,
                (long long)promptLength,
                prefillSeconds, sorted[sorted.size() / 2], (long long)steps,
                (unsigned long long)module.weightBytes(), peakResidentBytes(),
                residentBeforeLoad);
  } catch (const densessm::runtime::Error &error) {
    std::fprintf(stderr, "densessm-bench-model: error: %s\n", error.what());
    return 1;
  }
  return 0;
}
