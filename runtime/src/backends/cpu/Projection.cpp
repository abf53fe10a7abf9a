//===- Projection.cpp - the CPU code's GEMM entry point -------------------===//
//
// Compiled CPU modules do not generate their own GEMMs: the pass
// --densessm-lower-projections-to-blas turns every projection
// y[b, l, o] += sum_i x[b, l, i] * w[o, i] into a call of this function,
// which hands it to OpenBLAS (GEMV for a single row, as in batch-1 decode,
// where the weights stream through once at memory bandwidth).
//
// The symbol is resolved when the runtime loads a module, so it is part of
// the runtime's ABI with compiled code (docs/module-format.md).
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

#include "backends/StridedMemRefF32.h"

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <mutex>

namespace {

template <int Rank> using MemRef = densessm::runtime::StridedMemRefF32<Rank>;

/// y += x w^T over `rows` rows of x and y with the given row strides, on
/// the calling thread.
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

/// Below this many multiply-adds a projection runs on one thread: waking
/// the others costs more than it saves.
constexpr int64_t kParallelWork = int64_t(1) << 15;

/// y += x w^T with the output features split over the OpenMP threads, in
/// blocks of whole cache lines of y (16 floats).
void linearRows(float *y, int64_t ldy, const float *x, int64_t ldx,
                const float *w, int64_t ldw, int64_t rows, int64_t out,
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
void linearStrided(const MemRef<3> &y, const MemRef<3> &x,
                   const MemRef<2> &w) {
  for (int64_t b = 0; b < x.sizes[0]; ++b)
    for (int64_t l = 0; l < x.sizes[1]; ++l)
      for (int64_t o = 0; o < w.sizes[0]; ++o) {
        float sum = 0;
        for (int64_t i = 0; i < w.sizes[1]; ++i)
          sum += x.data()[b * x.strides[0] + l * x.strides[1] +
                          i * x.strides[2]] *
                 w.data()[o * w.strides[0] + i * w.strides[1]];
        y.data()[b * y.strides[0] + l * y.strides[1] + o * y.strides[2]] +=
            sum;
      }
}

} // namespace

extern "C" __attribute__((visibility("default"))) void
_mlir_ciface_densessm_cpu_linear_f32(MemRef<3> *y, MemRef<3> *x,
                                     MemRef<2> *w) {
  int64_t batch = x->sizes[0], length = x->sizes[1];
  int64_t out = w->sizes[0], in = w->sizes[1];
  if (batch == 0 || length == 0 || out == 0)
    return;
  if (x->strides[2] != 1 || y->strides[2] != 1 || w->strides[1] != 1) {
    linearStrided(*y, *x, *w);
    return;
  }
  // [B, L] collapses into rows when each batch row follows the previous.
  bool collapsible = x->strides[0] == length * x->strides[1] &&
                     y->strides[0] == length * y->strides[1];
  if (collapsible || batch == 1) {
    linearRows(y->data(), y->strides[1], x->data(), x->strides[1], w->data(),
               w->strides[0], batch * length, out, in);
    return;
  }
  for (int64_t b = 0; b < batch; ++b)
    linearRows(y->data() + b * y->strides[0], y->strides[1],
               x->data() + b * x->strides[0], x->strides[1], w->data(),
               w->strides[0], length, out, in);
}
