//===- KernelBenchmarks.cpp - compiled scans vs the naive loops -----------===//
//
// Google Benchmark of the kernels in bench/kernels/, compiled ahead of time
// through densessm-opt --densessm-cpu-pipeline, side by side with the naive
// single-threaded scalar loops of NaiveScans.cpp on the same inputs, over a
// grid of shapes (sequence length, batch, state size) and both parallel
// schedules (sequential in time, parallel over channels / heads; or chunked
// over time with carries), plus the one-token decode steps.
//
// Benchmark names are `<kernel>.<impl>/<key>=<value>/...`; bench/report.py
// reads them back. Each row also reports `updates` (state elements advanced
// by one token, per call) and `bytes` (operands read and results written,
// per call); the report turns them into throughput and bound fractions.
// Inputs are a counter-based hash of the element index (filled()), which
// bench/torch_reference.py reproduces, so PyTorch runs on the same values.
//
//===----------------------------------------------------------------------===//

#include "MemRef.h"
#include "NaiveScans.h"

#include <benchmark/benchmark.h>

#include <cmath>
#include <functional>
#include <string>

using namespace densessm::bench;

extern "C" {
struct ScanResults {
  MemRef<3> y;
  MemRef<3> state;
};
#define SELECTIVE_SCAN_SIGNATURE                                               \
  (ScanResults *, MemRef<3> * u, MemRef<3> * delta, MemRef<2> * A,             \
   MemRef<3> * B, MemRef<3> * C, MemRef<1> * D, MemRef<3> * z,                 \
   MemRef<1> * bias)
void _mlir_ciface_selective_scan_n8 SELECTIVE_SCAN_SIGNATURE;
void _mlir_ciface_selective_scan_n16 SELECTIVE_SCAN_SIGNATURE;
void _mlir_ciface_selective_scan_n32 SELECTIVE_SCAN_SIGNATURE;
void _mlir_ciface_selective_scan_n64 SELECTIVE_SCAN_SIGNATURE;
void _mlir_ciface_selective_scan_n16_chunked SELECTIVE_SCAN_SIGNATURE;
void _mlir_ciface_selective_scan_step(ScanResults *, MemRef<3> *u,
                                      MemRef<3> *delta, MemRef<2> *A,
                                      MemRef<3> *B, MemRef<3> *C, MemRef<1> *D,
                                      MemRef<3> *z, MemRef<1> *bias,
                                      MemRef<3> *state);
struct RetentionResults {
  MemRef<4> o;
  MemRef<4> state;
};
void _mlir_ciface_retention(RetentionResults *, MemRef<4> *q, MemRef<4> *k,
                            MemRef<4> *v, MemRef<1> *decay);
void _mlir_ciface_retention_chunked(RetentionResults *, MemRef<4> *q,
                                    MemRef<4> *k, MemRef<4> *v,
                                    MemRef<1> *decay);
struct PositionRef {
  int64_t *allocated, *aligned, offset, sizes[1], strides[1];
};
void _mlir_ciface_retention_step(RetentionResults *, MemRef<4> *q,
                                 MemRef<4> *k, MemRef<4> *v, MemRef<1> *decay,
                                 PositionRef *position, MemRef<4> *state);
#define DENSE_RETENTION_SIGNATURE                                              \
  (MemRef<4> * out, MemRef<4> * q, MemRef<4> * k, MemRef<3> * v,               \
   MemRef<3> * v1, MemRef<3> * v2, MemRef<3> * x, MemRef<2> * fc1,             \
   MemRef<2> * fc2, MemRef<1> * norm, MemRef<1> * decay)
void _mlir_ciface_dense_retention_fused DENSE_RETENTION_SIGNATURE;
void _mlir_ciface_dense_retention_unfused DENSE_RETENTION_SIGNATURE;
struct ConvResults {
  MemRef<3> y;
  MemRef<3> window;
};
void _mlir_ciface_causal_conv1d(ConvResults *, MemRef<3> *x, MemRef<2> *w,
                                MemRef<1> *bias);
}

namespace {

/// Deterministic values in [lo, hi): a hash of (element index, seed), which
/// bench/torch_reference.py computes the same way with numpy.
template <int Rank>
Tensor<Rank> filled(std::array<int64_t, Rank> shape, float lo, float hi,
                    uint32_t seed) {
  Tensor<Rank> t(shape);
  for (size_t i = 0; i < t.data.size(); ++i) {
    uint32_t x = uint32_t(i) * 2654435761u + seed * 40503u;
    x ^= x >> 15;
    x *= 2246822519u;
    x ^= x >> 13;
    x *= 3266489917u;
    x ^= x >> 16;
    t.data[i] = lo + (hi - lo) * float(x % 10000u) / 10000.0f;
  }
  return t;
}

void report(benchmark::State &s, double updates, double bytes) {
  s.counters["updates"] = updates;
  s.counters["bytes"] = bytes;
}

//===-- Selective scan (Mamba) --------------------------------------------===//

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
    // u, delta, z read, y written; B, C per token; A, D, bias; final state.
    ::report(s, double(batch) * length * channels * state,
             u.bytes() * 4.0 + B.bytes() + C.bytes() + A.bytes() + D.bytes() +
                 bias.bytes() + 4.0 * batch * channels * state);
  }
};

using SelectiveScanKernel = void SELECTIVE_SCAN_SIGNATURE;

void selectiveScanCompiled(benchmark::State &s, SelectiveScanKernel *kernel,
                           int64_t b, int64_t l, int64_t d, int64_t n) {
  SelectiveScanInputs in(b, l, d, n);
  auto u = in.u.view(), delta = in.delta.view(), B = in.B.view(),
       C = in.C.view(), z = in.z.view();
  auto A = in.A.view();
  auto D = in.D.view(), bias = in.bias.view();
  for (auto _ : s) {
    ScanResults out;
    kernel(&out, &u, &delta, &A, &B, &C, &D, &z, &bias);
    benchmark::DoNotOptimize(out.y.aligned);
    out.y.release();
    out.state.release();
  }
  in.report(s);
}

void selectiveScanNaive(benchmark::State &s, int64_t b, int64_t l, int64_t d,
                        int64_t n) {
  SelectiveScanInputs in(b, l, d, n);
  Tensor<3> y({b, l, d});
  Tensor<3> state({b, d, n});
  for (auto _ : s) {
    naiveSelectiveScan(b, l, d, n, in.u.data.data(), in.delta.data.data(),
                       in.A.data.data(), in.B.data.data(), in.C.data.data(),
                       in.D.data.data(), in.z.data.data(),
                       in.bias.data.data(), y.data.data(), state.data.data());
    benchmark::DoNotOptimize(y.data.data());
  }
  in.report(s);
}

/// One decode step (recurrent schedule): a token per sequence, state in and
/// out.
void selectiveScanStep(benchmark::State &s, int64_t b, int64_t d) {
  SelectiveScanInputs in(b, 1, d, 16);
  Tensor<3> state = filled<3>({b, d, 16}, -1, 1, 9);
  auto u = in.u.view(), delta = in.delta.view(), B = in.B.view(),
       C = in.C.view(), z = in.z.view(), stateView = state.view();
  auto A = in.A.view();
  auto D = in.D.view(), bias = in.bias.view();
  for (auto _ : s) {
    ScanResults out;
    _mlir_ciface_selective_scan_step(&out, &u, &delta, &A, &B, &C, &D, &z,
                                     &bias, &stateView);
    benchmark::DoNotOptimize(out.y.aligned);
    out.y.release();
    out.state.release();
  }
  // The state is read and written once per step.
  report(s, double(b) * d * 16, in.u.bytes() * 4.0 + 8.0 * b * d * 16);
}

//===-- Retention (RetNet) ------------------------------------------------===//

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
    ::report(s, double(batch) * length * heads * keyDim * valueDim,
             q.bytes() + k.bytes() + 2.0 * v.bytes() +
                 4.0 * batch * heads * keyDim * valueDim);
  }
};

using RetentionKernel = void(RetentionResults *, MemRef<4> *, MemRef<4> *,
                             MemRef<4> *, MemRef<1> *);

void retentionCompiled(benchmark::State &s, RetentionKernel *kernel,
                       int64_t b, int64_t l) {
  RetentionInputs in(b, l, 4, 192, 768);
  auto q = in.q.view(), k = in.k.view(), v = in.v.view();
  auto decay = in.decay.view();
  for (auto _ : s) {
    RetentionResults out;
    kernel(&out, &q, &k, &v, &decay);
    benchmark::DoNotOptimize(out.o.aligned);
    out.o.release();
    out.state.release();
  }
  in.report(s);
}

void retentionNaive(benchmark::State &s, int64_t b, int64_t l) {
  RetentionInputs in(b, l, 4, 192, 768);
  Tensor<4> o({b, l, 4, 768});
  Tensor<4> state({b, 4, 192, 768});
  for (auto _ : s) {
    naiveRetention(b, l, 4, 192, 768, in.q.data.data(), in.k.data.data(),
                   in.v.data.data(), in.decay.data.data(), o.data.data(),
                   state.data.data());
    benchmark::DoNotOptimize(o.data.data());
  }
  in.report(s);
}

void retentionStep(benchmark::State &s, int64_t b) {
  RetentionInputs in(b, 1, 4, 192, 768);
  Tensor<4> state = filled<4>({b, 4, 192, 768}, -1, 1, 14);
  std::vector<int64_t> positions(size_t(b), 1000);
  PositionRef position{positions.data(), positions.data(), 0, {b}, {1}};
  auto q = in.q.view(), k = in.k.view(), v = in.v.view(),
       stateView = state.view();
  auto decay = in.decay.view();
  for (auto _ : s) {
    RetentionResults out;
    _mlir_ciface_retention_step(&out, &q, &k, &v, &decay, &position,
                                &stateView);
    benchmark::DoNotOptimize(out.o.aligned);
    out.o.release();
    out.state.release();
  }
  report(s, double(b) * 4 * 192 * 768, 8.0 * b * 4 * 192 * 768);
}

/// DenseRetNet-350M's v path: the dense connection (m = 2) feeding
/// retention, with the connection folded into the scan or materialised.
void denseRetention(benchmark::State &s,
                    void (*kernel) DENSE_RETENTION_SIGNATURE, int64_t B,
                    int64_t L) {
  const int64_t H = 1536, E = 3072, R = 48;
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
    kernel(&out, &q, &k, &vv, &v1v, &v2v, &xv, &fc1v, &fc2v, &normv, &decay);
    benchmark::DoNotOptimize(out.aligned);
    out.release();
  }
  in.report(s);
}

//===-- Causal convolution (Mamba) ----------------------------------------===//

struct ConvInputs {
  int64_t batch, length, channels;
  Tensor<3> x;
  Tensor<2> w;
  Tensor<1> bias;
  ConvInputs(int64_t b, int64_t l, int64_t c)
      : batch(b), length(l), channels(c), x(filled<3>({b, l, c}, -1, 1, 31)),
        w(filled<2>({c, 4}, -0.5f, 0.5f, 32)),
        bias(filled<1>({c}, -0.5f, 0.5f, 33)) {}
  // x read once and y written once: a streaming kernel.
  void report(benchmark::State &s) const {
    ::report(s, double(batch) * length * channels, 2.0 * x.bytes());
  }
};

void convCompiled(benchmark::State &s, int64_t b, int64_t l, int64_t c) {
  ConvInputs in(b, l, c);
  auto x = in.x.view();
  auto w = in.w.view();
  auto bias = in.bias.view();
  for (auto _ : s) {
    ConvResults out;
    _mlir_ciface_causal_conv1d(&out, &x, &w, &bias);
    benchmark::DoNotOptimize(out.y.aligned);
    out.y.release();
    out.window.release();
  }
  in.report(s);
}

void convNaive(benchmark::State &s, int64_t b, int64_t l, int64_t c) {
  ConvInputs in(b, l, c);
  Tensor<3> y({b, l, c});
  for (auto _ : s) {
    naiveCausalConv1d(b, l, c, 4, in.x.data.data(), in.w.data.data(),
                      in.bias.data.data(), y.data.data());
    benchmark::DoNotOptimize(y.data.data());
  }
  in.report(s);
}

//===-- The grid ----------------------------------------------------------===//

void add(const std::string &name,
         std::function<void(benchmark::State &)> body) {
  benchmark::RegisterBenchmark(name.c_str(), [body](benchmark::State &s) { body(s); })
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
}

std::string shape(std::initializer_list<std::pair<const char *, int64_t>> kv) {
  std::string out;
  for (const auto &[key, value] : kv)
    out += "/" + std::string(key) + "=" + std::to_string(value);
  return out;
}

SelectiveScanKernel *scanForStateSize(int64_t n) {
  switch (n) {
  case 8:
    return _mlir_ciface_selective_scan_n8;
  case 16:
    return _mlir_ciface_selective_scan_n16;
  case 32:
    return _mlir_ciface_selective_scan_n32;
  default:
    return _mlir_ciface_selective_scan_n64;
  }
}

void registerGrid() {
  const int64_t D = 1536; // Mamba-130M's d_inner
  // Selective scan: length sweep (B=1, N=16), batch sweep (L=2048, N=16),
  // state-size sweep (B=1, L=2048); the naive loop everywhere. The
  // time-chunked schedule (for when batch x channel blocks cannot fill the
  // cores, not the case here) at L <= 2048 and B <= 4: beyond, one call
  // takes 10-30 s and would alone exceed the report's time budget.
  struct ScanPoint {
    int64_t b, l, n;
    bool chunked;
  };
  std::vector<ScanPoint> scanPoints = {
      {1, 128, 16, true},    {1, 512, 16, true},   {1, 2048, 16, true},
      {1, 8192, 16, false},  {1, 16384, 16, false}, {4, 2048, 16, true},
      {16, 2048, 16, false}, {1, 2048, 8, false},   {1, 2048, 32, false},
      {1, 2048, 64, false}};
  for (const ScanPoint &p : scanPoints) {
    std::string at = shape({{"B", p.b}, {"L", p.l}, {"D", D}, {"N", p.n}});
    add("selective_scan.compiled" + at, [=](benchmark::State &s) {
      selectiveScanCompiled(s, scanForStateSize(p.n), p.b, p.l, D, p.n);
    });
    if (p.chunked)
      add("selective_scan.chunked" + at, [=](benchmark::State &s) {
        selectiveScanCompiled(s, _mlir_ciface_selective_scan_n16_chunked, p.b,
                              p.l, D, p.n);
      });
    add("selective_scan.naive" + at, [=](benchmark::State &s) {
      selectiveScanNaive(s, p.b, p.l, D, p.n);
    });
  }
  for (int64_t b : {1, 16})
    add("selective_scan.step" + shape({{"B", b}, {"L", 1}, {"D", D}, {"N", 16}}),
        [=](benchmark::State &s) { selectiveScanStep(s, b, D); });

  // Retention at DenseRetNet-350M's head shape (4 heads, dk 192, dv 768).
  for (auto [batch, length] : std::vector<std::pair<int64_t, int64_t>>{
           {1, 128}, {1, 512}, {1, 2048}, {1, 8192}, {4, 512}}) {
    int64_t b = batch, l = length; // (lambdas capture variables, not bindings)
    std::string at = shape({{"B", b}, {"L", l}, {"H", 4}, {"dk", 192}});
    add("retention.compiled" + at, [=](benchmark::State &s) {
      retentionCompiled(s, _mlir_ciface_retention, b, l);
    });
    if (l <= 2048) // (as for the scan: 20 s a call at L = 8192)
      add("retention.chunked" + at, [=](benchmark::State &s) {
        retentionCompiled(s, _mlir_ciface_retention_chunked, b, l);
      });
    add("retention.naive" + at,
        [=](benchmark::State &s) { retentionNaive(s, b, l); });
  }
  for (int64_t b : {1, 8})
    add("retention.step" + shape({{"B", b}, {"L", 1}, {"H", 4}, {"dk", 192}}),
        [=](benchmark::State &s) { retentionStep(s, b); });

  // DenseRetNet-350M's v path, the dense connection folded in or not.
  for (int64_t l : {512, 2048}) {
    std::string at = shape({{"B", 1}, {"L", l}, {"H", 4}, {"dk", 192}});
    add("dense_retention.fused" + at, [=](benchmark::State &s) {
      denseRetention(s, _mlir_ciface_dense_retention_fused, 1, l);
    });
    add("dense_retention.unfused" + at, [=](benchmark::State &s) {
      denseRetention(s, _mlir_ciface_dense_retention_unfused, 1, l);
    });
  }

  // Causal convolution (K = 4) at Mamba-130M's width.
  for (auto [batch, length] : std::vector<std::pair<int64_t, int64_t>>{
           {1, 2048}, {1, 16384}, {8, 2048}}) {
    int64_t b = batch, l = length;
    std::string at = shape({{"B", b}, {"L", l}, {"D", D}});
    add("causal_conv1d.compiled" + at,
        [=](benchmark::State &s) { convCompiled(s, b, l, D); });
    add("causal_conv1d.naive" + at,
        [=](benchmark::State &s) { convNaive(s, b, l, D); });
  }
}

} // namespace

int main(int argc, char **argv) {
  registerGrid();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv))
    return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
