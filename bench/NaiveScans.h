//===- NaiveScans.h - the naive loops benchmarks compare to -----*- C++ -*-===//
//
// The selective scan, retention and the causal convolution written as the
// plain single-threaded scalar loops a first implementation would be: the
// baseline the compiled kernels are measured against (bench/README.md).
//
//===----------------------------------------------------------------------===//
#ifndef DENSESSM_BENCH_NAIVESCANS_H
#define DENSESSM_BENCH_NAIVESCANS_H

#include <cstdint>

namespace densessm::bench {

/// Mamba's S6 with D, z, delta_bias and softplus; [B, L, D] activations,
/// A [D, N], B/C [B, L, N]; writes y [B, L, D] and the state [B, D, N].
void naiveSelectiveScan(int64_t batch, int64_t length, int64_t channels,
                        int64_t stateSize, const float *u, const float *delta,
                        const float *A, const float *B, const float *C,
                        const float *D, const float *z, const float *bias,
                        float *y, float *state);

/// Retention with the authors' normalisation, from position 0:
/// q, k [B, L, H, K], v [B, L, H, V]; writes o [B, L, H, V], state
/// [B, H, K, V].
void naiveRetention(int64_t batch, int64_t length, int64_t heads,
                    int64_t keyDim, int64_t valueDim, const float *q,
                    const float *k, const float *v, const float *decay,
                    float *o, float *state);

/// Mamba's depthwise causal convolution from a zero window, with bias and
/// SiLU: x [B, L, C], weight [C, K], bias [C]; writes y [B, L, C].
void naiveCausalConv1d(int64_t batch, int64_t length, int64_t channels,
                       int64_t kernel, const float *x, const float *weight,
                       const float *bias, float *y);

} // namespace densessm::bench

#endif // DENSESSM_BENCH_NAIVESCANS_H
