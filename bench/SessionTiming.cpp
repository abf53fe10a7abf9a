//===- SessionTiming.cpp - prefill and decode timing of one session -------===//

#include "SessionTiming.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

namespace densessm::bench {

double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

int64_t intFlag(int argc, char **argv, const char *name, int64_t fallback) {
  std::string prefix = std::string("--") + name + "=";
  for (int i = 2; i < argc; ++i)
    if (std::strncmp(argv[i], prefix.c_str(), prefix.size()) == 0)
      return std::stoll(argv[i] + prefix.size());
  return fallback;
}

SessionTiming timePrefillAndDecode(const runtime::Module &module,
                                   runtime::Session &session, int32_t batch,
                                   int64_t promptLength, int64_t steps) {
  int64_t vocab = module.vocabSize();
  std::vector<std::vector<int64_t>> prompts(static_cast<size_t>(batch));
  for (int32_t s = 0; s < batch; ++s)
    for (int64_t t = 0; t < promptLength; ++t)
      prompts[s].push_back((7 * t + 3 * s + 1) % vocab);
  SessionTiming timing{};
  auto start = Clock::now();
  session.prefill(prompts);
  timing.prefillSeconds = secondsSince(start);

  std::vector<int64_t> tokens(static_cast<size_t>(batch), 1);
  session.step(tokens);
  std::vector<double> times;
  for (int64_t i = 0; i < steps; ++i) {
    for (int32_t s = 0; s < batch; ++s)
      tokens[s] = (tokens[s] * 31 + 7) % vocab;
    auto stepStart = Clock::now();
    session.step(tokens);
    times.push_back(secondsSince(stepStart));
  }
  std::sort(times.begin(), times.end());
  timing.medianStepSeconds = times[times.size() / 2];
  return timing;
}

} // namespace densessm::bench
