//===- CPULinearTest.cpp - the CPU projections against a reference --------===//
//
// The runtime's CPU projection entry points, which compiled code calls for
// every linear layer (runtime/src/backends/cpu/Projection.cpp):
// y[b, l, o] += Σ_i x[b, l, i] · w[o, i] with f32 weights (OpenBLAS) and
// with bf16 weights (the runtime's own GEMV for one row, widened blocks
// and SGEMM for several) and with f16 weights (widened blocks, then SGEMV
// or SGEMM), each checked against a double-precision reference fed the
// same weights (bf16 values, which f16 holds exactly), for every path: one row
// (decode), several rows in one GEMM, batches whose rows do not collapse,
// a weight view with a non-unit inner stride, and sizes that leave the
// vector loops' tails (16 columns, 4 rows, 64-row widened blocks, the
// 16-feature thread split).
//
//===----------------------------------------------------------------------===//

#include "backends/StridedMemRef.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

namespace {
using densessm::runtime::BF16;
using densessm::runtime::F16;
template <typename T, int Rank>
using MemRef = densessm::runtime::StridedMemRef<T, Rank>;
} // namespace

extern "C" void _mlir_ciface_densessm_cpu_linear_f32(MemRef<float, 3> *y,
                                                     MemRef<float, 3> *x,
                                                     MemRef<float, 2> *w);
extern "C" void
_mlir_ciface_densessm_cpu_linear_f32_bf16(MemRef<float, 3> *y,
                                          MemRef<float, 3> *x,
                                          MemRef<BF16, 2> *w);
extern "C" void
_mlir_ciface_densessm_cpu_linear_f32_f16(MemRef<float, 3> *y,
                                         MemRef<float, 3> *x,
                                         MemRef<F16, 2> *w);

namespace {

float bf16Value(uint16_t bits) {
  uint32_t word = uint32_t(bits) << 16;
  float value;
  std::memcpy(&value, &word, sizeof(value));
  return value;
}

/// The f16 bits of a bf16 value of exponent 2^-9 .. 2^0, exactly: the sign,
/// the exponent rebiased (127 -> 15), the 7 mantissa bits at the top of
/// f16's 10.
uint16_t halfBitsOfBF16(uint16_t bits) {
  uint16_t sign = bits & 0x8000, exponent = (bits >> 7) & 0xff,
           mantissa = bits & 0x7f;
  return uint16_t(sign | ((exponent - 127 + 15) << 10) | (mantissa << 3));
}

/// One projection: x [B, L, in] (row stride `ldx` >= in, batch stride
/// `batchStride` >= L * ldx), w [out, in] with inner stride `wStride`, y
/// starting from `y0` values so that the accumulation is checked too.
struct Case {
  int64_t batch, length, out, in;
  int64_t ldx = 0, batchStride = 0, wStride = 1;
};

struct Problem {
  Case shape;
  std::vector<float> x, y, weights32;
  std::vector<BF16> weights16;
  std::vector<F16> weightsHalf;
  std::vector<double> expected;

  explicit Problem(Case c) : shape(c) {
    if (!shape.ldx)
      shape.ldx = c.in;
    if (!shape.batchStride)
      shape.batchStride = c.length * shape.ldx;
    std::mt19937 rng(unsigned(c.out * 131 + c.in * 7 + c.length));
    std::uniform_real_distribution<float> uniform(-1, 1);
    x.resize(size_t(c.batch * shape.batchStride));
    for (float &v : x)
      v = uniform(rng);
    y.resize(size_t(c.batch * c.length * c.out));
    for (float &v : y)
      v = uniform(rng);
    weights16.resize(size_t(c.out * c.in * shape.wStride));
    weights32.resize(weights16.size());
    weightsHalf.resize(weights16.size());
    for (size_t i = 0; i < weights16.size(); ++i) {
      // A random bf16 (sign, a small exponent range, any mantissa), so
      // that the f32 and bf16 entry points see the same values.
      weights16[i].bits = uint16_t(((rng() & 1) << 15) |
                                   ((118 + rng() % 10) << 7) | (rng() & 127));
      weights32[i] = bf16Value(weights16[i].bits);
      weightsHalf[i].bits = halfBitsOfBF16(weights16[i].bits);
    }
    expected.resize(y.size());
    for (int64_t b = 0; b < c.batch; ++b)
      for (int64_t l = 0; l < c.length; ++l)
        for (int64_t o = 0; o < c.out; ++o) {
          double sum = y[size_t((b * c.length + l) * c.out + o)];
          for (int64_t i = 0; i < c.in; ++i)
            sum += double(x[size_t(b * shape.batchStride + l * shape.ldx + i)]) *
                   double(weights32[size_t((o * c.in + i) * shape.wStride)]);
          expected[size_t((b * c.length + l) * c.out + o)] = sum;
        }
  }

  MemRef<float, 3> xRef() {
    return {x.data(), x.data(), 0,
            {shape.batch, shape.length, shape.in},
            {shape.batchStride, shape.ldx, 1}};
  }
  MemRef<float, 3> yRef(std::vector<float> &out) {
    return {out.data(), out.data(), 0,
            {shape.batch, shape.length, shape.out},
            {shape.length * shape.out, shape.out, 1}};
  }
  template <typename T> MemRef<T, 2> wRef(std::vector<T> &w) {
    return {w.data(), w.data(), 0,
            {shape.out, shape.in},
            {shape.in * shape.wStride, shape.wStride}};
  }

  /// The largest |got - expected| / (1 + Σ|x·w|) over y.
  double error(const std::vector<float> &got) const {
    double worst = 0;
    for (size_t i = 0; i < got.size(); ++i)
      worst = std::max(worst, std::abs(got[i] - expected[i]) /
                                  (1 + std::abs(expected[i]) + shape.in));
    return worst;
  }
};

/// f32 accumulation of `in` products: within a few ulps of the sum's scale.
constexpr double kTolerance = 1e-6;

class CPULinear : public ::testing::TestWithParam<Case> {};

/// Runs `linear` on a copy of p's y with the given weights and returns its
/// error.
template <typename Weight, typename Linear>
double errorOf(Problem &p, std::vector<Weight> &weights, Linear linear) {
  std::vector<float> y = p.y;
  auto yRef = p.yRef(y);
  auto xRef = p.xRef();
  auto wRef = p.wRef(weights);
  linear(&yRef, &xRef, &wRef);
  return p.error(y);
}

TEST_P(CPULinear, F32WeightsMatchTheReference) {
  Problem p(GetParam());
  EXPECT_LE(errorOf(p, p.weights32, _mlir_ciface_densessm_cpu_linear_f32),
            kTolerance);
}

TEST_P(CPULinear, BF16WeightsMatchTheReference) {
  Problem p(GetParam());
  EXPECT_LE(
      errorOf(p, p.weights16, _mlir_ciface_densessm_cpu_linear_f32_bf16),
      kTolerance);
}

TEST_P(CPULinear, F16WeightsMatchTheReference) {
  Problem p(GetParam());
  EXPECT_LE(
      errorOf(p, p.weightsHalf, _mlir_ciface_densessm_cpu_linear_f32_f16),
      kTolerance);
}

INSTANTIATE_TEST_SUITE_P(
    Paths, CPULinear,
    ::testing::Values(
        // One row (GEMV): tails of 16 columns and 4 rows, one thread below
        // 32 outputs, the 16-feature thread split above.
        Case{1, 1, 1, 1}, Case{1, 1, 3, 15}, Case{1, 1, 7, 33},
        Case{1, 1, 37, 100}, Case{1, 1, 130, 1024}, Case{1, 1, 515, 64},
        // Several rows in one GEMM, across 64-row widened blocks.
        Case{1, 5, 130, 48}, Case{2, 3, 67, 31},
        // A strided input (a slice of a wider row) and batch rows that do
        // not collapse into one GEMM.
        Case{2, 3, 40, 20, /*ldx=*/36, /*batchStride=*/200},
        Case{3, 1, 33, 17, /*ldx=*/17, /*batchStride=*/40},
        // A weight view with a non-unit inner stride (the scalar path).
        Case{1, 2, 9, 11, 0, 0, /*wStride=*/2}),
    [](const ::testing::TestParamInfo<Case> &info) {
      const Case &c = info.param;
      return "B" + std::to_string(c.batch) + "_L" + std::to_string(c.length) +
             "_out" + std::to_string(c.out) + "_in" + std::to_string(c.in) +
             (c.ldx ? "_strided" : "") + (c.wStride > 1 ? "_wstride" : "");
    });

} // namespace
