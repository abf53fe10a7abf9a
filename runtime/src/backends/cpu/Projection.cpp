//===- Projection.cpp - the CPU code's GEMM entry points ------------------===//
//
// Compiled CPU modules do not generate their own GEMMs: the pass
// --densessm-lower-projections-to-blas turns every projection
// y[b, l, o] += sum_i x[b, l, i] * w[o, i] into a call of one of these
// functions:
//   densessm_cpu_linear_f32       f32 weights: OpenBLAS (GEMV for a single
//                                 row, as in batch-1 decode, where the
//                                 weights stream through once at memory
//                                 bandwidth);
//   densessm_cpu_linear_f32_bf16  bf16 weights (--weight-type=bf16): the
//                                 runtime's own GEMV, which widens each
//                                 weight to f32 as it streams it (half the
//                                 bytes of f32), and for several rows
//                                 OpenBLAS's SGEMM on blocks of weights
//                                 widened once per call;
//   densessm_cpu_linear_f32_f16   f16 weights (--weight-type=f16): blocks
//                                 of weights widened once per call, then
//                                 OpenBLAS's SGEMV or SGEMM on them (no
//                                 GEMV of its own: bf16 is the decode
//                                 format on the CPU).
// All accumulate in f32.
//
// The symbols are resolved when the runtime loads a module, so they are
// part of the runtime's ABI with compiled code (docs/module-format.md).
//
// Threads: the compiled code's loops run on OpenMP threads, and OpenBLAS
// (Debian's is the pthreads build) would bring a second pool of as many
// threads. Between the 100-odd projections of a decode step the two pools
// took turns spinning on the same cores (perf: a fifth of a DenseRetNet
// decode step in libomp's spin-wait, more in sched_yield). So OpenBLAS runs
// single-threaded and the runtime splits each projection's output features
// over the OpenMP threads itself: one pool, already hot between calls.
//
//===----------------------------------------------------------------------===//

#include "backends/StridedMemRef.h"

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <vector>

namespace {

using densessm::runtime::BF16;
using densessm::runtime::F16;
template <int Rank> using MemRefF32 = densessm::runtime::StridedMemRef<float, Rank>;
template <int Rank> using MemRefBF16 = densessm::runtime::StridedMemRef<BF16, Rank>;
template <int Rank> using MemRefF16 = densessm::runtime::StridedMemRef<F16, Rank>;

float widen(float value) { return value; }
/// A bf16 is the upper half of the f32 with the same sign, exponent and
/// leading mantissa bits.
float widen(BF16 value) {
  uint32_t bits = uint32_t(value.bits) << 16;
  float result;
  std::memcpy(&result, &bits, sizeof(result));
  return result;
}
/// The compiler converts a half (F16C's vcvtph2ps where the CPU has it,
/// else compiler-rt's __extendhfsf2).
float widen(F16 value) {
  _Float16 half;
  std::memcpy(&half, &value.bits, sizeof(half));
  return float(half);
}

//===-- The bf16 GEMV ------------------------------------------------------===//
//
// The GEMV reads 32 bf16 weights (64 bytes) at a time as 16 32-bit words,
// each holding two neighbouring weights, the even-indexed one in the low
// half (little endian). Shifting a word left by 16 gives the even weight as
// an f32, clearing its low half gives the odd one: two integer operations
// widen 32 weights. So x is split once per call into its even- and odd-
// indexed elements, and each 64-byte load feeds two FMAs. (Widening 16
// weights at a time with a zero-extending load streamed ~10% slower.)

typedef float Floats16 __attribute__((vector_size(64)));
typedef uint32_t Words16 __attribute__((vector_size(64)));

// The helpers below are always inlined, so that each copy of the GEMV
// (gemvAVX512, gemvBaseline) compiles them for its own instruction set.
#define DENSESSM_INLINE inline __attribute__((always_inline))

DENSESSM_INLINE Floats16 asFloats(Words16 words) {
  Floats16 result;
  std::memcpy(&result, &words, sizeof(result));
  return result;
}

/// y[r] += x · w[r] for `Rows` consecutive rows of w, 32 columns at a time
/// with two 16-wide partial sums per row (even and odd columns):
/// independent chains, and every weight byte is read once, in order.
/// `evens` and `odds` are x's even- and odd-indexed elements.
template <int Rows>
DENSESSM_INLINE void dotRows(float *y, const float *x, const float *evens,
                             const float *odds, const BF16 *w, int64_t ldw,
                             int64_t in) {
  Floats16 evenSums[Rows] = {}, oddSums[Rows] = {};
  const Words16 highHalf = Words16{} + 0xffff0000u;
  int64_t i = 0;
  for (; i + 32 <= in; i += 32) {
    Floats16 xEven, xOdd;
    std::memcpy(&xEven, evens + i / 2, sizeof(xEven));
    std::memcpy(&xOdd, odds + i / 2, sizeof(xOdd));
    for (int r = 0; r < Rows; ++r) {
      Words16 pairs;
      std::memcpy(&pairs, w + r * ldw + i, sizeof(pairs));
      evenSums[r] += xEven * asFloats(pairs << 16);
      oddSums[r] += xOdd * asFloats(pairs & highHalf);
    }
  }
  for (int r = 0; r < Rows; ++r) {
    Floats16 sums = evenSums[r] + oddSums[r];
    float sum = 0;
    for (int lane = 0; lane < 16; ++lane)
      sum += sums[lane];
    for (int64_t j = i; j < in; ++j)
      sum += x[j] * widen(w[r * ldw + j]);
    y[r] += sum;
  }
}

/// y += w x over `out` rows: four rows at a time (four weight streams in
/// flight), then the rest one by one.
DENSESSM_INLINE void gemvBody(float *y, const float *x, const BF16 *w,
                              int64_t ldw, int64_t out, int64_t in) {
  thread_local std::vector<float> split;
  split.resize(size_t(in));
  float *evens = split.data(), *odds = split.data() + in / 2;
  for (int64_t k = 0; k < in / 2; ++k) {
    evens[k] = x[2 * k];
    odds[k] = x[2 * k + 1];
  }
  int64_t o = 0;
  for (; o + 4 <= out; o += 4)
    dotRows<4>(y + o, x, evens, odds, w + o * ldw, ldw, in);
  for (; o < out; ++o)
    dotRows<1>(y + o, x, evens, odds, w + o * ldw, ldw, in);
}

// The same loop compiled twice: for AVX-512 (16-wide vectors in one
// register, with FMA), picked at run time where the CPU has it, and for
// the baseline the runtime is built for.
__attribute__((target("avx512f"))) void
gemvAVX512(float *y, const float *x, const BF16 *w, int64_t ldw, int64_t out,
           int64_t in) {
  gemvBody(y, x, w, ldw, out, in);
}

void gemvBaseline(float *y, const float *x, const BF16 *w, int64_t ldw,
                  int64_t out, int64_t in) {
  gemvBody(y, x, w, ldw, out, in);
}

void gemvBF16(float *y, const float *x, const BF16 *w, int64_t ldw,
              int64_t out, int64_t in) {
  static const bool avx512 = __builtin_cpu_supports("avx512f");
  (avx512 ? gemvAVX512 : gemvBaseline)(y, x, w, ldw, out, in);
}

//===-- Blocks of output features, on the calling thread -------------------===//

/// y += x w^T over `rows` rows of x and y with the given row strides.
void linearBlock(float *y, int64_t ldy, const float *x, int64_t ldx,
                 const float *w, int64_t ldw, int64_t rows, int64_t out,
                 int64_t in) {
  if (rows == 1)
    cblas_sgemv(CblasRowMajor, CblasNoTrans, int(out), int(in), 1.0f, w,
                int(ldw), x, 1, 1.0f, y, 1);
  else
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(rows), int(out),
                int(in), 1.0f, x, int(ldx), w, int(ldw), 1.0f, y, int(ldy));
}

/// Output features whose bf16 weights are widened together for SGEMM: a
/// block of 64 rows of 4096 columns is 1 MiB of f32.
constexpr int64_t kWidenedRows = 64;

/// Narrow weights widened a block of rows at a time into a per-thread f32
/// buffer (in cache), then multiplied by OpenBLAS.
template <typename Weight>
void widenedBlocks(float *y, int64_t ldy, const float *x, int64_t ldx,
                   const Weight *w, int64_t ldw, int64_t rows, int64_t out,
                   int64_t in) {
  thread_local std::vector<float> widened;
  widened.resize(size_t(std::min(out, kWidenedRows) * in));
  for (int64_t o0 = 0; o0 < out; o0 += kWidenedRows) {
    int64_t block = std::min(kWidenedRows, out - o0);
    for (int64_t o = 0; o < block; ++o)
      for (int64_t i = 0; i < in; ++i)
        widened[o * in + i] = widen(w[(o0 + o) * ldw + i]);
    linearBlock(y + o0, ldy, x, ldx, widened.data(), in, rows, block, in);
  }
}

void linearBlock(float *y, int64_t ldy, const float *x, int64_t ldx,
                 const BF16 *w, int64_t ldw, int64_t rows, int64_t out,
                 int64_t in) {
  if (rows == 1)
    return gemvBF16(y, x, w, ldw, out, in);
  // Several rows of x reuse each weight: widen a block of weights once and
  // let SGEMM do the arithmetic.
  widenedBlocks(y, ldy, x, ldx, w, ldw, rows, out, in);
}

void linearBlock(float *y, int64_t ldy, const float *x, int64_t ldx,
                 const F16 *w, int64_t ldw, int64_t rows, int64_t out,
                 int64_t in) {
  widenedBlocks(y, ldy, x, ldx, w, ldw, rows, out, in);
}

/// Below this many multiply-adds a projection runs on one thread: waking
/// the others costs more than it saves.
constexpr int64_t kParallelWork = int64_t(1) << 15;

/// y += x w^T with the output features split over the OpenMP threads, in
/// blocks of whole cache lines of y (16 floats).
template <typename Weight>
void linearRows(float *y, int64_t ldy, const float *x, int64_t ldx,
                const Weight *w, int64_t ldw, int64_t rows, int64_t out,
                int64_t in) {
  static std::once_flag singleThreadedBLAS;
  std::call_once(singleThreadedBLAS, [] { openblas_set_num_threads(1); });
  int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  if (threads <= 1 || rows * out * in < kParallelWork || out < 32) {
    linearBlock(y, ldy, x, ldx, w, ldw, rows, out, in);
    return;
  }
  int64_t per = (out + threads - 1) / threads;
  per = (per + 15) / 16 * 16;
#pragma omp parallel num_threads(threads)
  {
    int64_t begin = std::min<int64_t>(out, omp_get_thread_num() * per);
    int64_t end = std::min<int64_t>(out, begin + per);
    if (begin < end)
      linearBlock(y + begin, ldy, x, ldx, w + begin * ldw, ldw, rows,
                  end - begin, in);
  }
}

/// The rare layouts BLAS cannot take (a non-unit innermost stride).
template <typename Weight>
void linearStrided(const MemRefF32<3> &y, const MemRefF32<3> &x,
                   const densessm::runtime::StridedMemRef<Weight, 2> &w) {
  for (int64_t b = 0; b < x.sizes[0]; ++b)
    for (int64_t l = 0; l < x.sizes[1]; ++l)
      for (int64_t o = 0; o < w.sizes[0]; ++o) {
        float sum = 0;
        for (int64_t i = 0; i < w.sizes[1]; ++i)
          sum += x.data()[b * x.strides[0] + l * x.strides[1] +
                          i * x.strides[2]] *
                 widen(w.data()[o * w.strides[0] + i * w.strides[1]]);
        y.data()[b * y.strides[0] + l * y.strides[1] + o * y.strides[2]] +=
            sum;
      }
}

/// y += x w^T for any [B, L] layout of x and y.
template <typename Weight>
void linear(const MemRefF32<3> &y, const MemRefF32<3> &x,
            const densessm::runtime::StridedMemRef<Weight, 2> &w) {
  int64_t batch = x.sizes[0], length = x.sizes[1];
  int64_t out = w.sizes[0], in = w.sizes[1];
  if (batch == 0 || length == 0 || out == 0)
    return;
  if (x.strides[2] != 1 || y.strides[2] != 1 || w.strides[1] != 1) {
    linearStrided(y, x, w);
    return;
  }
  // [B, L] collapses into rows when each batch row follows the previous.
  bool collapsible = x.strides[0] == length * x.strides[1] &&
                     y.strides[0] == length * y.strides[1];
  if (collapsible || batch == 1) {
    linearRows(y.data(), y.strides[1], x.data(), x.strides[1], w.data(),
               w.strides[0], batch * length, out, in);
    return;
  }
  for (int64_t b = 0; b < batch; ++b)
    linearRows(y.data() + b * y.strides[0], y.strides[1],
               x.data() + b * x.strides[0], x.strides[1], w.data(),
               w.strides[0], length, out, in);
}

} // namespace

extern "C" __attribute__((visibility("default"))) void
_mlir_ciface_densessm_cpu_linear_f32(MemRefF32<3> *y, MemRefF32<3> *x,
                                     MemRefF32<2> *w) {
  linear(*y, *x, *w);
}

extern "C" __attribute__((visibility("default"))) void
_mlir_ciface_densessm_cpu_linear_f32_bf16(MemRefF32<3> *y, MemRefF32<3> *x,
                                          MemRefBF16<2> *w) {
  linear(*y, *x, *w);
}

extern "C" __attribute__((visibility("default"))) void
_mlir_ciface_densessm_cpu_linear_f32_f16(MemRefF32<3> *y, MemRefF32<3> *x,
                                         MemRefF16<2> *w) {
  linear(*y, *x, *w);
}
