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

#include "SessionTiming.h"
#include "densessm/runtime/Runtime.hpp"

#include <cstdio>
#include <string>
#include <sys/resource.h>

using densessm::bench::intFlag;

namespace {

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
  int32_t batch = int32_t(intFlag(argc, argv, "batch", 1));
  int64_t promptLength = intFlag(argc, argv, "prompt", 256);
  int64_t steps = intFlag(argc, argv, "steps", 16);
  if (batch < 1 || promptLength < 1 || steps < 1) {
    std::fprintf(stderr, "densessm-bench-model: --batch, --prompt and --steps "
                         "must be at least 1\n");
    return 1;
  }
  try {
    double residentBeforeLoad = peakResidentBytes();
    auto module = densessm::runtime::Module::load(argv[1]);
    densessm::runtime::Session session(module, DSSM_DEVICE_CPU, batch);
    densessm::bench::SessionTiming timing = densessm::bench::timePrefillAndDecode(
        module, session, batch, promptLength, steps);
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
                timing.prefillSeconds, timing.medianStepSeconds, (long long)steps,
                (unsigned long long)module.weightBytes(), peakResidentBytes(),
                residentBeforeLoad);
  } catch (const densessm::runtime::Error &error) {
    std::fprintf(stderr, "densessm-bench-model: error: %s\n", error.what());
    return 1;
  }
  return 0;
}
