//===- KernelBenchmarks.cpp - compiled scans vs the naive loops -----------===//
//
// Google Benchmark of the kernels in bench/kernels/, compiled ahead of time
// through densessm-opt --densessm-cpu-pipeline, side by side with the naive
// single-threaded scalar loops of NaiveScans.cpp on the same inputs. Each
// row reports state updates per second (one update = one element of the
// recurrent state advanced by one token) and the bytes of the operands and
// results moved per second.
//
//===----------------------------------------------------------------------===//

#include "MemRef.h"
#include "NaiveScans.h"

#include <benchmark/benchmark.h>

#include <cmath>

using namespace densessm::bench;

extern "C" {
struct SelectiveScanResults {
  MemRef<3> y;
  MemRef<3> state;
};
void _mlir_ciface_selective_scan(SelectiveScanResults *, MemRef<3> *u,
                                 MemRef<3> *delta, MemRef<2> *A, MemRef<3> *B,
                                 MemRef<3> *C, MemRef<1> *D, MemRef<3> *z,
                                 MemRef<1> *bias);
struct RetentionResults {
  MemRef<4> o;
  MemRef<4> state;
};
void _mlir_ciface_retention(RetentionResults *, MemRef<4> *q, MemRef<4> *k,
                            MemRef<4> *v, MemRef<1> *decay);
#define DENSE_RETENTION_SIGNATURE                                              \
  (MemRef<4> * out, MemRef<4> * q, MemRef<4> * k, MemRef<3> * v,               \
   MemRef<3> * v1, MemRef<3> * v2, MemRef<3> * x, MemRef<2> * fc1,             \
   MemRef<2> * fc2, MemRef<1> * norm, MemRef<1> * decay)
void _mlir_ciface_dense_retention_fused DENSE_RETENTION_SIGNATURE;
void _mlir_ciface_dense_retention_unfused DENSE_RETENTION_SIGNATURE;
}

namespace {

/// Deterministic values in [lo, hi).
template <int Rank>
Tensor<Rank> filled(std::array<int64_t, Rank> shape, float lo, float hi,
                    unsigned seed) {
  Tensor<Rank> t(shape);
  uint32_t x = 2463534242u + seed;
  for (float &v : t.data) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    v = lo + (hi - lo) * static_cast<float>(x % 10000) / 10000.0f;
  }
  return t;
}

struct SelectiveScanInputs {
  int64_t batch, length, channels, state;
  Tensor<3> u, delta, B, C, z;
  Tensor<2> A;
  Tensor<1> D, bias;

  SelectiveScanInputs(int64_t b, int64_t l, int64_t d, int64_t n)
      : batch(b), length(l), channels(d), state(n),
        u(filled<3>({b, l, d}, -1, 1, 1)),
        delta(filled<3>({b, l, d}, -1, 1, 2)),
        B(filled<3>({b, l, n}, -1, 1, 3)), C(filled<3>({b, l, n}, -1, 1, 4)),
        z(filled<3>({b, l, d}, -1, 1, 5)), A(filled<2>({d, n}, -2, -0.1f, 6)),
        D(filled<1>({d}, -1, 1, 7)), bias(filled<1>({d}, -0.5f, 0.5f, 8)) {}

  void report(benchmark::State &s) const {
    double updates = double(batch) * length * channels * state;
    double bytes = u.bytes() * 3 + delta.bytes() + B.bytes() + C.bytes() +
                   A.bytes() + D.bytes() + bias.bytes() +
                   4.0 * batch * channels * state;
    s.counters["updates/s"] = benchmark::Counter(
        updates, benchmark::Counter::kIsIterationInvariantRate);
    s.counters["bytes/s"] =
        benchmark::Counter(bytes, benchmark::Counter::kIsIterationInvariantRate,
                           benchmark::Counter::kIs1000);
  }
};

void selectiveScanCompiled(benchmark::State &s) {
  SelectiveScanInputs in(s.range(0), s.range(1), s.range(2), 16);
  auto u = in.u.view(), delta = in.delta.view(), B = in.B.view(),
       C = in.C.view(), z = in.z.view();
  auto A = in.A.view();
  auto D = in.D.view(), bias = in.bias.view();
  for (auto _ : s) {
    SelectiveScanResults out;
    _mlir_ciface_selective_scan(&out, &u, &delta, &A, &B, &C, &D, &z, &bias);
    benchmark::DoNotOptimize(out.y.aligned);
    out.y.release();
    out.state.release();
  }
  in.report(s);
}

void selectiveScanNaive(benchmark::State &s) {
  SelectiveScanInputs in(s.range(0), s.range(1), s.range(2), 16);
  Tensor<3> y({in.batch, in.length, in.channels});
  Tensor<3> state({in.batch, in.channels, in.state});
  for (auto _ : s) {
    naiveSelectiveScan(in.batch, in.length, in.channels, in.state,
                       in.u.data.data(), in.delta.data.data(), in.A.data.data(),
                       in.B.data.data(), in.C.data.data(), in.D.data.data(),
                       in.z.data.data(), in.bias.data.data(), y.data.data(),
                       state.data.data());
    benchmark::DoNotOptimize(y.data.data());
  }
  in.report(s);
}

struct RetentionInputs {
  int64_t batch, length, heads, keyDim, valueDim;
  Tensor<4> q, k, v;
  Tensor<1> decay;

  RetentionInputs(int64_t b, int64_t l, int64_t h, int64_t dk, int64_t dv)
      : batch(b), length(l), heads(h), keyDim(dk), valueDim(dv),
        q(filled<4>({b, l, h, dk}, -1, 1, 11)),
        k(filled<4>({b, l, h, dk}, -1, 1, 12)),
        v(filled<4>({b, l, h, dv}, -1, 1, 13)), decay(Tensor<1>({h})) {
    for (int64_t j = 0; j < h; ++j)
      decay.data[j] = 1.0f - std::ldexp(1.0f, -5 - static_cast<int>(j));
  }

  void report(benchmark::State &s) const {
    double updates = double(batch) * length * heads * keyDim * valueDim;
    double bytes = q.bytes() + k.bytes() + 2.0 * v.bytes() +
                   4.0 * batch * heads * keyDim * valueDim;
    s.counters["updates/s"] = benchmark::Counter(
        updates, benchmark::Counter::kIsIterationInvariantRate);
    s.counters["bytes/s"] =
        benchmark::Counter(bytes, benchmark::Counter::kIsIterationInvariantRate,
                           benchmark::Counter::kIs1000);
  }
};

void retentionCompiled(benchmark::State &s) {
  RetentionInputs in(s.range(0), s.range(1), s.range(2), s.range(3), 768);
  auto q = in.q.view(), k = in.k.view(), v = in.v.view();
  auto decay = in.decay.view();
  for (auto _ : s) {
    RetentionResults out;
    _mlir_ciface_retention(&out, &q, &k, &v, &decay);
    benchmark::DoNotOptimize(out.o.aligned);
    out.o.release();
    out.state.release();
  }
  in.report(s);
}

void retentionNaive(benchmark::State &s) {
  RetentionInputs in(s.range(0), s.range(1), s.range(2), s.range(3), 768);
  Tensor<4> o({in.batch, in.length, in.heads, in.valueDim});
  Tensor<4> state({in.batch, in.heads, in.keyDim, in.valueDim});
  for (auto _ : s) {
    naiveRetention(in.batch, in.length, in.heads, in.keyDim, in.valueDim,
                   in.q.data.data(), in.k.data.data(), in.v.data.data(),
                   in.decay.data.data(), o.data.data(), state.data.data());
    benchmark::DoNotOptimize(o.data.data());
  }
  in.report(s);
}

/// DenseRetNet-350M's v path: the dense connection (m = 2) feeding
/// retention, with the connection folded into the scan or materialised.
template <auto Kernel> void denseRetention(benchmark::State &s) {
  const int64_t B = s.range(0), L = s.range(1), H = 1536, E = 3072, R = 48;
  RetentionInputs in(B, L, 4, 192, 768);
  Tensor<3> v = filled<3>({B, L, E}, -1, 1, 21),
            v1 = filled<3>({B, L, E}, -1, 1, 22),
            v2 = filled<3>({B, L, E}, -1, 1, 23),
            x = filled<3>({B, L, H}, -1, 1, 24);
  Tensor<2> fc1 = filled<2>({R, H}, -0.05f, 0.05f, 25),
            fc2 = filled<2>({E, R}, -0.2f, 0.2f, 26);
  Tensor<1> norm = filled<1>({E}, 0.5f, 1.5f, 27);
  auto q = in.q.view(), k = in.k.view();
  auto vv = v.view(), v1v = v1.view(), v2v = v2.view(), xv = x.view();
  auto fc1v = fc1.view(), fc2v = fc2.view();
  auto normv = norm.view(), decay = in.decay.view();
  for (auto _ : s) {
    MemRef<4> out;
    Kernel(&out, &q, &k, &vv, &v1v, &v2v, &xv, &fc1v, &fc2v, &normv, &decay);
    benchmark::DoNotOptimize(out.aligned);
    out.release();
  }
  in.report(s);
}

} // namespace

// Mamba-130M-shaped scan (d_inner = 1536, N = 16) over 2048 tokens.
BENCHMARK(selectiveScanCompiled)
    ->ArgNames({"B", "L", "D"})
    ->Args({1, 2048, 1536})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(selectiveScanNaive)
    ->ArgNames({"B", "L", "D"})
    ->Args({1, 2048, 1536})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
// DenseRetNet-350M-shaped retention: 4 heads, dk = 192, dv = 768.
BENCHMARK(retentionCompiled)
    ->ArgNames({"B", "L", "H", "dk"})
    ->Args({1, 512, 4, 192})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(retentionNaive)
    ->ArgNames({"B", "L", "H", "dk"})
    ->Args({1, 512, 4, 192})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// DenseRetNet-350M's v path, the connection folded in or not.
BENCHMARK(denseRetention<_mlir_ciface_dense_retention_fused>)
    ->Name("denseRetentionFused")
    ->ArgNames({"B", "L"})
    ->Args({1, 512})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(denseRetention<_mlir_ciface_dense_retention_unfused>)
    ->Name("denseRetentionUnfused")
    ->ArgNames({"B", "L"})
    ->Args({1, 512})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

BENCHMARK_MAIN();
