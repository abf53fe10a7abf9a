//===- CUBLASLinear.cpp - a projection as cuBLAS calls --------------------===//
//
// cuBLAS is column-major; the memrefs are row-major. A row-major matrix
// with leading dimension ld is the same memory as its transpose in
// column-major order with the same ld, so over R rows
//   y[R, O] += x[R, I] w[O, I]^T      (row-major)
// is, column-major,
//   y^T[O, R] += (w^T)^T[O, I] x^T[I, R]
// where w^T is w's memory read as an I x O column-major matrix (lda = w's
// row stride) and x^T, y^T are x's and y's (ldb, ldc = their row strides):
// SGEMM(op(A) = T, op(B) = N, m = O, n = R, k = I, A = w, B = x, C = y,
// beta = 1). A single row is the matrix-vector product y += w x, SGEMV
// with op = T on the same A (decode: one pass over the weights).
//
//===----------------------------------------------------------------------===//

#include "CUBLASLinear.h"

#include <algorithm>
#include <climits>

namespace densessm::runtime {
namespace {

constexpr float kOne = 1.0f;

bool fitsInt(int64_t value) { return value >= 0 && value <= INT_MAX; }

/// Whether a dimension of `size` elements with `stride` is unit-stride; a
/// dimension of one element never steps, so its stride does not matter.
bool unitStride(int64_t stride, int64_t size) {
  return stride == 1 || size <= 1;
}

/// The leading dimension to give cuBLAS for a dimension of `count`
/// elements `stride` apart, where it must be at least `minimum`: any value
/// is valid when the dimension has one element, so the smallest legal one
/// then (memrefs give size-1 dimensions arbitrary strides).
int64_t leading(int64_t stride, int64_t count, int64_t minimum) {
  return count <= 1 ? std::max<int64_t>(minimum, 1) : stride;
}

/// An increment to give cuBLAS for a vector of `count` elements.
int64_t increment(int64_t stride, int64_t count) {
  return count <= 1 ? 1 : stride;
}

class LinearCalls {
public:
  LinearCalls(const CUBLAS &blas, cublasHandle_t handle,
              const StridedMemRefF32<3> &y, const StridedMemRefF32<3> &x,
              const StridedMemRefF32<2> &w)
      : blas(blas), handle(handle), y(y), x(x), w(w), out(w.sizes[0]),
        in(w.sizes[1]) {}

  Status run() {
    int64_t batch = x.sizes[0], length = x.sizes[1];
    // Nothing to add (in == 0: every sum is empty, y is unchanged).
    if (batch == 0 || length == 0 || out == 0 || in == 0)
      return Status::ok();
    if (!fitsInt(out) || !fitsInt(in) || !fitsInt(batch) ||
        !fitsInt(length) || !fitsInt(batch * length))
      return errorOf("a projection of ", batch, "x", length, " tokens from ",
                     in, " to ", out,
                     " features is beyond cuBLAS's 32-bit sizes");
    int64_t ldw = leading(w.strides[0], out, in);
    bool unitRows = unitStride(x.strides[2], in) &&
                    unitStride(y.strides[2], out) &&
                    unitStride(w.strides[1], in) && ldw >= in && fitsInt(ldw);
    if (!unitRows)
      return eachRow();
    // [B, L] as one matrix of rows where it is one: a single batch, single
    // tokens, or batches one after another.
    if (batch == 1)
      return rows(y.data(), y.strides[1], x.data(), x.strides[1], length,
                  ldw);
    if (length == 1)
      return rows(y.data(), y.strides[0], x.data(), x.strides[0], batch, ldw);
    if (x.strides[0] == length * x.strides[1] &&
        y.strides[0] == length * y.strides[1])
      return rows(y.data(), y.strides[1], x.data(), x.strides[1],
                  batch * length, ldw);
    for (int64_t b = 0; b < batch; ++b)
      DSSM_RETURN_IF_ERROR(rows(y.data() + b * y.strides[0], y.strides[1],
                                x.data() + b * x.strides[0], x.strides[1],
                                length, ldw));
    return Status::ok();
  }

private:
  /// y[count, O] += x[count, I] w^T for rows `ldy`/`ldx` apart, each row
  /// unit-stride; w's rows `ldw` apart.
  Status rows(float *yRows, int64_t ldy, const float *xRows, int64_t ldx,
              int64_t count, int64_t ldw) {
    if (count == 1)
      return check(blas.cublasSgemv(handle, kCublasTranspose, int(in),
                                    int(out), &kOne, w.data(), int(ldw),
                                    xRows, 1, &kOne, yRows, 1),
                   "cublasSgemv");
    ldx = leading(ldx, count, in);
    ldy = leading(ldy, count, out);
    if (ldx < in || ldy < out || !fitsInt(ldx) || !fitsInt(ldy)) {
      // Rows that overlap or run backwards: one at a time.
      for (int64_t r = 0; r < count; ++r)
        DSSM_RETURN_IF_ERROR(
            row(yRows + r * ldy, 1, xRows + r * ldx, 1));
      return Status::ok();
    }
    return check(blas.cublasSgemm(handle, kCublasTranspose,
                                  kCublasNoTranspose, int(out), int(count),
                                  int(in), &kOne, w.data(), int(ldw), xRows,
                                  int(ldx), &kOne, yRows, int(ldy)),
                 "cublasSgemm");
  }

  /// Layouts with a non-unit innermost stride (which SGEMM cannot take):
  /// one matrix-vector product per token.
  Status eachRow() {
    for (int64_t b = 0; b < x.sizes[0]; ++b)
      for (int64_t l = 0; l < x.sizes[1]; ++l)
        DSSM_RETURN_IF_ERROR(
            row(y.data() + b * y.strides[0] + l * y.strides[1], y.strides[2],
                x.data() + b * x.strides[0] + l * x.strides[1],
                x.strides[2]));
    return Status::ok();
  }

  /// yRow[O] += w xRow[I], the vectors `yStride`/`xStride` elements apart.
  Status row(float *yRow, int64_t yStride, const float *xRow,
             int64_t xStride) {
    int64_t incx = increment(xStride, in), incy = increment(yStride, out);
    if (incx <= 0 || incy <= 0 || !fitsInt(incx) || !fitsInt(incy))
      return errorOf("a projection with element strides ", xStride, " (x) and ",
                     yStride,
                     " (y) has no cuBLAS form (they must be positive)");
    // w's rows unit-stride: the transposed column-major I x O matrix.
    int64_t ldw = leading(w.strides[0], out, in);
    if (unitStride(w.strides[1], in) && ldw >= in && fitsInt(ldw))
      return check(blas.cublasSgemv(handle, kCublasTranspose, int(in),
                                    int(out), &kOne, w.data(), int(ldw), xRow,
                                    int(incx), &kOne, yRow, int(incy)),
                   "cublasSgemv");
    // w's columns unit-stride (w stored transposed): the column-major
    // O x I matrix itself.
    int64_t ldwT = leading(w.strides[1], in, out);
    if (unitStride(w.strides[0], out) && ldwT >= out && fitsInt(ldwT))
      return check(blas.cublasSgemv(handle, kCublasNoTranspose, int(out),
                                    int(in), &kOne, w.data(), int(ldwT), xRow,
                                    int(incx), &kOne, yRow, int(incy)),
                   "cublasSgemv");
    // Neither: each output is the product of a 1 x I matrix (w's row,
    // elements w.strides[1] apart) and x.
    int64_t step = leading(w.strides[1], in, 1);
    if (step <= 0 || !fitsInt(step))
      return errorOf("a projection whose weight has strides [", w.strides[0],
                     ", ", w.strides[1],
                     "] has no cuBLAS form (they must be positive)");
    for (int64_t o = 0; o < out; ++o)
      DSSM_RETURN_IF_ERROR(check(
          blas.cublasSgemv(handle, kCublasNoTranspose, 1, int(in), &kOne,
                           w.data() + o * w.strides[0], int(step), xRow,
                           int(incx), &kOne, yRow + o * incy, 1),
          "cublasSgemv"));
    return Status::ok();
  }

  Status check(cublasStatus_t status, const char *function) const {
    if (status == kCublasSuccess)
      return Status::ok();
    return Status::error(blas.describe(
        status, std::string(function) + " (a projection of " +
                    std::to_string(x.sizes[0]) + "x" +
                    std::to_string(x.sizes[1]) + " tokens from " +
                    std::to_string(in) + " to " + std::to_string(out) +
                    " features)"));
  }

  const CUBLAS &blas;
  cublasHandle_t handle;
  const StridedMemRefF32<3> &y;
  const StridedMemRefF32<3> &x;
  const StridedMemRefF32<2> &w;
  int64_t out, in;
};

} // namespace

Status linearOnCUBLAS(const CUBLAS &blas, cublasHandle_t handle,
                      const StridedMemRefF32<3> &y,
                      const StridedMemRefF32<3> &x,
                      const StridedMemRefF32<2> &w) {
  return LinearCalls(blas, handle, y, x, w).run();
}

} // namespace densessm::runtime
