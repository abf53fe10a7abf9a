//===- NaiveScans.cpp - the naive scalar loops benchmarks compare to ------===//

#include "NaiveScans.h"

#include <cmath>

using namespace densessm::bench;

void densessm::bench::naiveSelectiveScan(int64_t batch, int64_t length,
                                         int64_t channels, int64_t stateSize,
                                         const float *u, const float *delta,
                                         const float *A, const float *B,
                                         const float *C, const float *D,
                                         const float *z, const float *bias,
                                         float *y, float *state) {
  for (int64_t b = 0; b < batch; ++b) {
    float *s = state + b * channels * stateSize;
    for (int64_t i = 0; i < channels * stateSize; ++i)
      s[i] = 0.0f;
    for (int64_t t = 0; t < length; ++t) {
      int64_t token = b * length + t;
      for (int64_t d = 0; d < channels; ++d) {
        int64_t at = token * channels + d;
        float dt = delta[at] + bias[d];
        dt = dt > 20.0f ? dt : std::log1p(std::exp(dt));
        float acc = 0.0f;
        for (int64_t n = 0; n < stateSize; ++n) {
          float &sn = s[d * stateSize + n];
          sn = std::exp(dt * A[d * stateSize + n]) * sn +
               dt * B[token * stateSize + n] * u[at];
          acc += C[token * stateSize + n] * sn;
        }
        acc += D[d] * u[at];
        y[at] = acc * (z[at] / (1.0f + std::exp(-z[at])));
      }
    }
  }
}

void densessm::bench::naiveRetention(int64_t batch, int64_t length,
                                     int64_t heads, int64_t keyDim,
                                     int64_t valueDim, const float *q,
                                     const float *k, const float *v,
                                     const float *decay, float *o,
                                     float *state) {
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t h = 0; h < heads; ++h) {
      float *S = state + (b * heads + h) * keyDim * valueDim;
      for (int64_t i = 0; i < keyDim * valueDim; ++i)
        S[i] = 0.0f;
      float gamma = decay[h], c = 0.0f;
      for (int64_t t = 0; t < length; ++t) {
        // c_t = γ c_{t-1} + 1; S_t = S_{t-1} γ sqrt(c_{t-1}/c_t) +
        // kᵀv/sqrt(c_t).
        float previous = c;
        c = gamma * c + 1.0f;
        float keep = gamma * std::sqrt(previous / c),
              scale = 1.0f / std::sqrt(c);
        int64_t row = ((b * length + t) * heads + h);
        const float *qt = q + row * keyDim, *kt = k + row * keyDim;
        const float *vt = v + row * valueDim;
        float *ot = o + row * valueDim;
        for (int64_t j = 0; j < valueDim; ++j)
          ot[j] = 0.0f;
        for (int64_t i = 0; i < keyDim; ++i)
          for (int64_t j = 0; j < valueDim; ++j) {
            float &sij = S[i * valueDim + j];
            sij = sij * keep + kt[i] * vt[j] * scale;
            ot[j] += qt[i] * sij;
          }
      }
    }
  }
}

void densessm::bench::naiveCausalConv1d(int64_t batch, int64_t length,
                                        int64_t channels, int64_t kernel,
                                        const float *x, const float *weight,
                                        const float *bias, float *y) {
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t t = 0; t < length; ++t)
      for (int64_t c = 0; c < channels; ++c) {
        float acc = bias[c];
        for (int64_t k = 0; k < kernel; ++k) {
          int64_t source = t - kernel + 1 + k;
          if (source >= 0)
            acc += weight[c * kernel + k] *
                   x[(b * length + source) * channels + c];
        }
        y[(b * length + t) * channels + c] = acc / (1.0f + std::exp(-acc));
      }
}
