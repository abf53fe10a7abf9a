//===- Sampler.h - the next token from a logits row -------------*- C++ -*-===//
#ifndef DENSESSM_TOOLS_DENSESSM_RUN_SAMPLER_H
#define DENSESSM_TOOLS_DENSESSM_RUN_SAMPLER_H

#include <cstdint>
#include <random>

struct SamplerOptions {
  double temperature = 0; // 0: greedy unless top-k / top-p ask to sample
  int64_t topK = 0;       // 0: no limit
  double topP = 1.0;
  uint64_t seed = 0;
};

/// Greedy (argmax, first index on ties) by default; with a temperature,
/// top-k or top-p: samples from softmax(logits / temperature) restricted to
/// the top-k tokens and then to the smallest set of mass >= top-p.
class Sampler {
public:
  Sampler(const SamplerOptions &options, int64_t vocab);
  int64_t sample(const float *logits);

private:
  SamplerOptions options;
  int64_t vocab;
  bool greedy;
  std::mt19937_64 random;
};

#endif // DENSESSM_TOOLS_DENSESSM_RUN_SAMPLER_H
