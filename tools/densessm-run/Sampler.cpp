//===- Sampler.cpp - the next token from a logits row ---------------------===//

#include "Sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

Sampler::Sampler(const SamplerOptions &options, int64_t vocab)
    : options(options), vocab(vocab),
      greedy(options.temperature == 0 && options.topK == 0 &&
             options.topP >= 1.0),
      random(options.seed) {
  if (this->options.temperature == 0)
    this->options.temperature = 1.0; // top-k / top-p alone sample at T = 1
}

int64_t Sampler::sample(const float *logits) {
  if (greedy)
    return std::max_element(logits, logits + vocab) - logits;
  std::vector<int64_t> order(static_cast<size_t>(vocab));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return logits[a] > logits[b];
  });
  size_t keep = order.size();
  if (options.topK > 0)
    keep = std::min<size_t>(keep, size_t(options.topK));
  std::vector<double> weights(keep);
  double maxLogit = logits[order[0]], total = 0;
  for (size_t i = 0; i < keep; ++i) {
    weights[i] = std::exp((logits[order[i]] - maxLogit) / options.temperature);
    total += weights[i];
  }
  if (options.topP < 1.0) {
    double mass = 0;
    size_t i = 0;
    while (i < keep && mass < options.topP * total)
      mass += weights[i++];
    keep = std::max<size_t>(i, 1);
    weights.resize(keep);
  }
  std::discrete_distribution<size_t> pick(weights.begin(), weights.end());
  return order[pick(random)];
}
