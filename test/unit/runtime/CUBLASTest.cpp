//===- CUBLASTest.cpp - the cuBLAS loader and projection mapping ----------===//
//
// Run by test/Integration/CUDA/cublas.test, on any machine (no GPU needed):
//   - linearOnCUBLAS (runtime/src/backends/cuda/CUBLASLinear.h), the
//     row-major projection y += x w^T as column-major cuBLAS calls, on a
//     host implementation of SGEMM and SGEMV written from the BLAS
//     definitions (with cuBLAS's argument checks), against a direct
//     double-precision sum over the memrefs, for every layout the CPU entry
//     point takes: contiguous, a single token, strided slices, batches that
//     do not collapse, non-unit innermost strides, transposed weights;
//   - the loader: a missing library gives an error naming what was tried,
//     $DENSESSM_CUBLAS_LIBRARY replaces the default list, a library without
//     the entry points is refused, and the installed cuBLAS (when there is
//     one) resolves every entry point.
//
//===----------------------------------------------------------------------===//

#include "CUBLAS.h"
#include "CUBLASLinear.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <vector>

using namespace densessm::runtime;

namespace {

//===----------------------------------------------------------------------===//
// A host cuBLAS: column-major SGEMM and SGEMV, as the BLAS reference
// defines them, with cuBLAS's checks of the sizes, leading dimensions and
// increments (CUBLAS_STATUS_INVALID_VALUE).
//===----------------------------------------------------------------------===//

struct Calls {
  int gemm = 0, gemv = 0;
  cublasStatus_t failWith = kCublasSuccess;
};
Calls calls;

cublasHandle_t fakeHandle() {
  return reinterpret_cast<cublasHandle_t>(uintptr_t(0x1000));
}

cublasStatus_t hostSgemm(cublasHandle_t handle, cublasOperation_t transa,
                         cublasOperation_t transb, int m, int n, int k,
                         const float *alpha, const float *a, int lda,
                         const float *b, int ldb, const float *beta, float *c,
                         int ldc) {
  ++calls.gemm;
  if (calls.failWith != kCublasSuccess)
    return calls.failWith;
  bool ta = transa == kCublasTranspose, tb = transb == kCublasTranspose;
  if (handle != fakeHandle() || m < 0 || n < 0 || k < 0 ||
      lda < std::max(1, ta ? k : m) || ldb < std::max(1, tb ? n : k) ||
      ldc < std::max(1, m))
    return kCublasInvalidValue;
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < m; ++i) {
      double sum = 0;
      for (int p = 0; p < k; ++p) {
        float av = ta ? a[p + int64_t(i) * lda] : a[i + int64_t(p) * lda];
        float bv = tb ? b[j + int64_t(p) * ldb] : b[p + int64_t(j) * ldb];
        sum += double(av) * bv;
      }
      float &cv = c[i + int64_t(j) * ldc];
      cv = float(*alpha * sum + *beta * cv);
    }
  return kCublasSuccess;
}

cublasStatus_t hostSgemv(cublasHandle_t handle, cublasOperation_t trans,
                         int m, int n, const float *alpha, const float *a,
                         int lda, const float *x, int incx, const float *beta,
                         float *y, int incy) {
  ++calls.gemv;
  if (calls.failWith != kCublasSuccess)
    return calls.failWith;
  if (handle != fakeHandle() || m < 0 || n < 0 || lda < std::max(1, m) ||
      incx == 0 || incy == 0)
    return kCublasInvalidValue;
  // The tests only use positive increments (negative ones start at the
  // end, which linearOnCUBLAS never asks for).
  if (incx < 0 || incy < 0)
    return kCublasInvalidValue;
  bool t = trans == kCublasTranspose;
  int rows = t ? n : m, columns = t ? m : n;
  for (int i = 0; i < rows; ++i) {
    double sum = 0;
    for (int j = 0; j < columns; ++j) {
      float av = t ? a[j + int64_t(i) * lda] : a[i + int64_t(j) * lda];
      sum += double(av) * x[int64_t(j) * incx];
    }
    float &yv = y[int64_t(i) * incy];
    yv = float(*alpha * sum + *beta * yv);
  }
  return kCublasSuccess;
}

CUBLAS hostCUBLAS() {
  CUBLAS blas{};
  blas.cublasSgemm = hostSgemm;
  blas.cublasSgemv = hostSgemv;
  blas.library = "host";
  return blas;
}

//===----------------------------------------------------------------------===//
// Memrefs over owned storage, and the reference.
//===----------------------------------------------------------------------===//

/// A memref view of `storage` with the given sizes, strides and offset.
template <int Rank>
StridedMemRefF32<Rank> view(std::vector<float> &storage, int64_t offset,
                            std::array<int64_t, Rank> sizes,
                            std::array<int64_t, Rank> strides) {
  StridedMemRefF32<Rank> ref{storage.data(), storage.data(), offset, {}, {}};
  for (int d = 0; d < Rank; ++d) {
    ref.sizes[d] = sizes[d];
    ref.strides[d] = strides[d];
  }
  return ref;
}

std::vector<float> randomStorage(size_t size, unsigned seed) {
  std::vector<float> values(size);
  uint32_t state = seed * 2654435761u + 1;
  for (float &value : values) {
    state = state * 1664525u + 1013904223u;
    value = float(int(state >> 8) % 2001 - 1000) / 1000.0f;
  }
  return values;
}

/// y + x w^T in double, element by element through the strides.
std::vector<double> reference(const StridedMemRefF32<3> &y,
                              const StridedMemRefF32<3> &x,
                              const StridedMemRefF32<2> &w) {
  std::vector<double> result;
  for (int64_t b = 0; b < x.sizes[0]; ++b)
    for (int64_t l = 0; l < x.sizes[1]; ++l)
      for (int64_t o = 0; o < w.sizes[0]; ++o) {
        double sum = y.data()[b * y.strides[0] + l * y.strides[1] +
                              o * y.strides[2]];
        for (int64_t i = 0; i < w.sizes[1]; ++i)
          sum += double(x.data()[b * x.strides[0] + l * x.strides[1] +
                                 i * x.strides[2]]) *
                 w.data()[o * w.strides[0] + i * w.strides[1]];
        result.push_back(sum);
      }
  return result;
}

std::vector<double> elements(const StridedMemRefF32<3> &y) {
  std::vector<double> result;
  for (int64_t b = 0; b < y.sizes[0]; ++b)
    for (int64_t l = 0; l < y.sizes[1]; ++l)
      for (int64_t o = 0; o < y.sizes[2]; ++o)
        result.push_back(
            y.data()[b * y.strides[0] + l * y.strides[1] + o * y.strides[2]]);
  return result;
}

/// Runs linearOnCUBLAS on the host cuBLAS and checks y against the
/// reference (and that storage outside y's elements is untouched).
void expectProjection(std::vector<float> &yStorage, StridedMemRefF32<3> y,
                      StridedMemRefF32<3> x, StridedMemRefF32<2> w) {
  std::vector<double> want = reference(y, x, w);
  std::vector<float> before = yStorage;
  std::vector<bool> inY(yStorage.size());
  for (int64_t b = 0; b < y.sizes[0]; ++b)
    for (int64_t l = 0; l < y.sizes[1]; ++l)
      for (int64_t o = 0; o < y.sizes[2]; ++o)
        inY[y.offset + b * y.strides[0] + l * y.strides[1] +
            o * y.strides[2]] = true;
  CUBLAS blas = hostCUBLAS();
  Status status = linearOnCUBLAS(blas, fakeHandle(), y, x, w);
  ASSERT_TRUE(status.isOk()) << status.message();
  std::vector<double> got = elements(y);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got[i], want[i], 1e-5 * (1 + std::fabs(want[i])))
        << "element " << i;
  for (size_t i = 0; i < yStorage.size(); ++i)
    if (!inY[i])
      EXPECT_EQ(yStorage[i], before[i]) << "storage " << i << " outside y";
}

class CUBLASLinear : public ::testing::Test {
protected:
  void SetUp() override { calls = Calls(); }
};

//===----------------------------------------------------------------------===//
// The layout mapping.
//===----------------------------------------------------------------------===//

TEST_F(CUBLASLinear, ContiguousRowsAreOneGEMM) {
  const int64_t B = 2, L = 3, I = 5, O = 4;
  auto xs = randomStorage(B * L * I, 1), ws = randomStorage(O * I, 2),
       ys = randomStorage(B * L * O, 3);
  expectProjection(ys, view<3>(ys, 0, {B, L, O}, {L * O, O, 1}),
                   view<3>(xs, 0, {B, L, I}, {L * I, I, 1}),
                   view<2>(ws, 0, {O, I}, {I, 1}));
  EXPECT_EQ(calls.gemm, 1);
  EXPECT_EQ(calls.gemv, 0);
}

TEST_F(CUBLASLinear, OneTokenIsOneGEMV) {
  // Decode: [1, 1, I], size-1 dimensions with arbitrary strides.
  const int64_t I = 7, O = 3;
  auto xs = randomStorage(I, 4), ws = randomStorage(O * I + 2, 5),
       ys = randomStorage(O, 6);
  expectProjection(ys, view<3>(ys, 0, {1, 1, O}, {0, 0, 1}),
                   view<3>(xs, 0, {1, 1, I}, {99, 0, 1}),
                   view<2>(ws, 2, {O, I}, {I, 1}));
  EXPECT_EQ(calls.gemm, 0);
  EXPECT_EQ(calls.gemv, 1);
}

TEST_F(CUBLASLinear, BatchOfSingleTokensIsOneGEMM) {
  const int64_t B = 3, I = 4, O = 6;
  auto xs = randomStorage(B * I, 7), ws = randomStorage(O * I, 8),
       ys = randomStorage(B * O, 9);
  expectProjection(ys, view<3>(ys, 0, {B, 1, O}, {O, 1, 1}),
                   view<3>(xs, 0, {B, 1, I}, {I, 1, 1}),
                   view<2>(ws, 0, {O, I}, {I, 1}));
  EXPECT_EQ(calls.gemm, 1);
}

TEST_F(CUBLASLinear, StridedSliceIsALeadingDimension) {
  // Mamba's dt: the first 2 columns of x_proj's 18 per token.
  const int64_t L = 8, I = 2, O = 5;
  auto xs = randomStorage(L * 18, 10), ws = randomStorage(O * I, 11),
       ys = randomStorage(L * O, 12);
  expectProjection(ys, view<3>(ys, 0, {1, L, O}, {L * O, O, 1}),
                   view<3>(xs, 3, {1, L, I}, {L * 18, 18, 1}),
                   view<2>(ws, 0, {O, I}, {I, 1}));
  EXPECT_EQ(calls.gemm, 1);
}

TEST_F(CUBLASLinear, BatchesThatDoNotCollapseAreAGEMMEach) {
  const int64_t B = 3, L = 2, I = 3, O = 4, yBatch = L * O + 5;
  auto xs = randomStorage(B * L * I, 13), ws = randomStorage(O * I, 14),
       ys = randomStorage(B * yBatch, 15);
  expectProjection(ys, view<3>(ys, 0, {B, L, O}, {yBatch, O, 1}),
                   view<3>(xs, 0, {B, L, I}, {L * I, I, 1}),
                   view<2>(ws, 0, {O, I}, {I, 1}));
  EXPECT_EQ(calls.gemm, B);
}

TEST_F(CUBLASLinear, NonUnitInnermostStridesAreAGEMVPerToken) {
  // x and y read every other element.
  const int64_t B = 2, L = 2, I = 3, O = 4;
  auto xs = randomStorage(B * L * I * 2, 16), ws = randomStorage(O * I, 17),
       ys = randomStorage(B * L * O * 2, 18);
  expectProjection(ys, view<3>(ys, 1, {B, L, O}, {L * O * 2, O * 2, 2}),
                   view<3>(xs, 1, {B, L, I}, {L * I * 2, I * 2, 2}),
                   view<2>(ws, 0, {O, I}, {I, 1}));
  EXPECT_EQ(calls.gemm, 0);
  EXPECT_EQ(calls.gemv, B * L);
}

TEST_F(CUBLASLinear, TransposedWeights) {
  // w stored as [I, O]: element (o, i) at i * O + o.
  const int64_t L = 3, I = 5, O = 2;
  auto xs = randomStorage(L * I * 3, 19), ws = randomStorage(O * I, 20),
       ys = randomStorage(L * O, 21);
  expectProjection(ys, view<3>(ys, 0, {1, L, O}, {L * O, O, 1}),
                   view<3>(xs, 0, {1, L, I}, {L * I * 3, I * 3, 3}),
                   view<2>(ws, 0, {O, I}, {1, O}));
  EXPECT_EQ(calls.gemv, L);
}

TEST_F(CUBLASLinear, WeightsWithoutAUnitStride) {
  const int64_t L = 2, I = 3, O = 4;
  auto xs = randomStorage(L * I, 22), ws = randomStorage(O * I * 4, 23),
       ys = randomStorage(L * O, 24);
  expectProjection(ys, view<3>(ys, 0, {1, L, O}, {L * O, O, 1}),
                   view<3>(xs, 0, {1, L, I}, {L * I, I, 1}),
                   view<2>(ws, 0, {O, I}, {I * 4, 2}));
  EXPECT_EQ(calls.gemv, L * O);
}

TEST_F(CUBLASLinear, OverlappingInputRowsAreOneGEMVEach) {
  // x's rows overlap (a sliding window, row stride 1 < I).
  const int64_t L = 4, I = 3, O = 2;
  auto xs = randomStorage(L + I, 25), ws = randomStorage(O * I, 26),
       ys = randomStorage(L * O, 27);
  expectProjection(ys, view<3>(ys, 0, {1, L, O}, {L * O, O, 1}),
                   view<3>(xs, 0, {1, L, I}, {L + I, 1, 1}),
                   view<2>(ws, 0, {O, I}, {I, 1}));
  EXPECT_EQ(calls.gemm, 0);
  EXPECT_EQ(calls.gemv, L);
}

TEST_F(CUBLASLinear, EmptyProjectionsCallNothing) {
  std::vector<float> xs(4), ws(4), ys = randomStorage(4, 28);
  std::vector<float> before = ys;
  CUBLAS blas = hostCUBLAS();
  // No inputs (every sum empty): y unchanged.
  ASSERT_TRUE(linearOnCUBLAS(blas, fakeHandle(),
                             view<3>(ys, 0, {1, 2, 2}, {4, 2, 1}),
                             view<3>(xs, 0, {1, 2, 0}, {0, 0, 1}),
                             view<2>(ws, 0, {2, 0}, {0, 1}))
                  .isOk());
  // No tokens.
  ASSERT_TRUE(linearOnCUBLAS(blas, fakeHandle(),
                             view<3>(ys, 0, {0, 2, 2}, {4, 2, 1}),
                             view<3>(xs, 0, {0, 2, 2}, {4, 2, 1}),
                             view<2>(ws, 0, {2, 2}, {2, 1}))
                  .isOk());
  EXPECT_EQ(ys, before);
  EXPECT_EQ(calls.gemm + calls.gemv, 0);
}

TEST_F(CUBLASLinear, CUBLASFailuresAreReported) {
  const int64_t L = 2, I = 3, O = 4;
  auto xs = randomStorage(L * I, 29), ws = randomStorage(O * I, 30),
       ys = randomStorage(L * O, 31);
  calls.failWith = 13; // CUBLAS_STATUS_EXECUTION_FAILED
  CUBLAS blas = hostCUBLAS();
  Status status = linearOnCUBLAS(blas, fakeHandle(),
                                 view<3>(ys, 0, {1, L, O}, {L * O, O, 1}),
                                 view<3>(xs, 0, {1, L, I}, {L * I, I, 1}),
                                 view<2>(ws, 0, {O, I}, {I, 1}));
  ASSERT_FALSE(status.isOk());
  EXPECT_EQ(status.message(),
            "cublasSgemm (a projection of 1x2 tokens from 3 to 4 features): "
            "cuBLAS error 13 (CUBLAS_STATUS_EXECUTION_FAILED)");
}

TEST_F(CUBLASLinear, SizesBeyond32BitsAreAnError) {
  std::vector<float> storage(1);
  CUBLAS blas = hostCUBLAS();
  Status status = linearOnCUBLAS(
      blas, fakeHandle(), view<3>(storage, 0, {1, int64_t(1) << 31, 4}, {0, 4, 1}),
      view<3>(storage, 0, {1, int64_t(1) << 31, 4}, {0, 4, 1}),
      view<2>(storage, 0, {4, 4}, {4, 1}));
  ASSERT_FALSE(status.isOk());
  EXPECT_NE(status.message().find("beyond cuBLAS's 32-bit sizes"),
            std::string::npos)
      << status.message();
  EXPECT_EQ(calls.gemm + calls.gemv, 0);
}

//===----------------------------------------------------------------------===//
// The loader.
//===----------------------------------------------------------------------===//

TEST(CUBLASLoader, AMissingLibraryNamesWhatWasTried) {
  CUBLAS blas{};
  Status status = openCUBLAS(
      {"/nonexistent/libcublas.so.13", "libdensessm-no-such-cublas.so"}, blas);
  ASSERT_FALSE(status.isOk());
  const std::string &message = status.message();
  EXPECT_NE(message.find("cannot load cuBLAS"), std::string::npos) << message;
  EXPECT_NE(message.find("/nonexistent/libcublas.so.13: "), std::string::npos)
      << message;
  EXPECT_NE(message.find("libdensessm-no-such-cublas.so: "), std::string::npos)
      << message;
  EXPECT_NE(message.find("DENSESSM_CUBLAS_LIBRARY"), std::string::npos)
      << message;
}

TEST(CUBLASLoader, ALibraryWithoutTheEntryPointsIsRefused) {
  CUBLAS blas{};
  Status status = openCUBLAS({"libm.so.6"}, blas);
  ASSERT_FALSE(status.isOk());
  EXPECT_NE(status.message().find("libm.so.6 lacks cublasCreate, "
                                  "cublasDestroy, cublasSetStream, "
                                  "cublasSetMathMode, cublasSgemm, "
                                  "cublasSgemv"),
            std::string::npos)
      << status.message();
}

TEST(CUBLASLoader, TheEnvironmentChoosesTheLibrary) {
  const char *saved = std::getenv(kCublasLibraryVariable);
  std::string previous = saved ? saved : "";
  setenv(kCublasLibraryVariable, "/opt/cublas/libcublas.so.12", 1);
  EXPECT_EQ(cublasLibraryCandidates(),
            std::vector<std::string>{"/opt/cublas/libcublas.so.12"});
  unsetenv(kCublasLibraryVariable);
  if (saved)
    setenv(kCublasLibraryVariable, previous.c_str(), 1);
}

TEST(CUBLASLoader, TheLoaderSearchesThenTheToolkits) {
  const char *names[] = {kCublasLibraryVariable, "CUDA_HOME", "CUDA_PATH"};
  std::vector<std::optional<std::string>> saved;
  for (const char *name : names) {
    const char *value = std::getenv(name);
    saved.push_back(value ? std::optional<std::string>(value) : std::nullopt);
    unsetenv(name);
  }
  // The loader's search by name first; then each toolkit's lib64, once.
  setenv("CUDA_HOME", "/opt/cuda-13", 1);
  setenv("CUDA_PATH", "/usr/local/cuda", 1);
  EXPECT_EQ(cublasLibraryCandidates(),
            (std::vector<std::string>{
                "libcublas.so.13", "libcublas.so.12", "libcublas.so.11",
                "libcublas.so", "/opt/cuda-13/lib64/libcublas.so.13",
                "/opt/cuda-13/lib64/libcublas.so.12",
                "/usr/local/cuda/lib64/libcublas.so.13",
                "/usr/local/cuda/lib64/libcublas.so.12"}));
  for (size_t i = 0; i < saved.size(); ++i) {
    if (saved[i])
      setenv(names[i], saved[i]->c_str(), 1);
    else
      unsetenv(names[i]);
  }
}

TEST(CUBLASLoader, TheInstalledCUBLASHasEveryEntryPoint) {
  CUBLAS blas{};
  Status status = openCUBLAS(cublasLibraryCandidates(), blas);
  if (!status.isOk() &&
      status.message().find("cannot load cuBLAS") != std::string::npos)
    GTEST_SKIP() << "no cuBLAS on this machine: " << status.message();
  ASSERT_TRUE(status.isOk()) << status.message();
  EXPECT_TRUE(blas.cublasCreate && blas.cublasDestroy &&
              blas.cublasSetStream && blas.cublasSetMathMode &&
              blas.cublasSgemm && blas.cublasSgemv);
  std::cout << "cuBLAS: " << blas.library << "\n";
  EXPECT_NE(blas.describe(kCublasInvalidValue, "a call")
                .find("a call: cuBLAS error 7 (CUBLAS_STATUS_INVALID_VALUE"),
            std::string::npos)
      << blas.describe(kCublasInvalidValue, "a call");
}

} // namespace
