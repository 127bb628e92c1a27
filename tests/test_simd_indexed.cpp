// The GEMM micro-kernel with an indexed A operand (samples picked from a data set by
// index, as DataParallel::step_rows reads them) against the double-precision oracle, and
// bit for bit against the plain operand on the gathered copy: X·W with the samples as
// rows, Xᵀ·dZ with them as columns, over odd sizes (1, 3, 17, 33, 100) on every backend.
#include <gtest/gtest.h>

#include "simd_support.hpp"

#include <cmath>
#include <cstdint>
#include <ctnn/ctnn.hpp>
#include <vector>

using namespace ctnn;
using ctnn_test::for_each_backend;
using ctnn_test::gamma;
using ctnn_test::random;
namespace ks = kernel::simd;

namespace {
constexpr std::size_t samples = 41;  // the data set's rows
constexpr std::size_t stride = 37;   // floats per sample, wider than any product below reads

// B rows picked from the data set: repeats and descending runs included.
std::vector<std::uint32_t> pick(std::size_t b) {
  std::vector<std::uint32_t> rows(b);
  for (std::size_t k = 0; k < b; ++k) rows[k] = std::uint32_t((k * 29 + 7) % samples);
  if (b > 2) rows[b - 1] = rows[0];
  return rows;
}

// C[M][N] = X[rows][c0 … c0+K) · W[K][N]: samples as A's rows.
template <std::size_t M, std::size_t K, std::size_t N, class Be>
void check_rows(Be be, std::size_t c0) {
  const auto data = random(samples * stride, 21), w = random(K * N, 22);
  const auto rows = pick(M);
  std::vector<float> gathered(M * K), c(M * N), plain(M * N);
  for (std::size_t m = 0; m < M; ++m)
    for (std::size_t k = 0; k < K; ++k) gathered[m * K + k] = data[rows[m] * stride + c0 + k];
  using S = ks::GemmShape<M, N, K, stride, 1, N>;
  ks::StoreEpilogue<Be, N> epi{be, c.data()};
  ks::gemm<S>(be, ks::IndexedA<stride, true>{data.data() + c0, rows.data()}, w.data(), epi);
  using SP = ks::GemmShape<M, N, K, K, 1, N>;
  ks::StoreEpilogue<Be, N> pepi{be, plain.data()};
  ks::gemm<SP>(be, gathered.data(), w.data(), pepi);
  ASSERT_EQ(c, plain) << "rows M=" << M << " K=" << K << " N=" << N;
  for (std::size_t m = 0; m < M; ++m)
    for (std::size_t j = 0; j < N; ++j) {
      double exact = 0, mag = 0;
      for (std::size_t k = 0; k < K; ++k) {
        const double p = double(data[rows[m] * stride + c0 + k]) * w[k * N + j];
        exact += p, mag += std::abs(p);
      }
      ASSERT_NEAR(c[m * N + j], exact, 2 * gamma(K) * mag) << "rows M=" << M << " K=" << K << " N=" << N << " m=" << m;
    }
}

// C[M][N] = X[rows][c0 … c0+M)ᵀ · D[K][N]: samples as A's columns (the weight gradient).
template <std::size_t M, std::size_t K, std::size_t N, class Be>
void check_columns(Be be, std::size_t c0) {
  const auto data = random(samples * stride, 23), d = random(K * N, 24);
  const auto rows = pick(K);
  std::vector<float> gathered(K * M), c(M * N), plain(M * N);
  for (std::size_t k = 0; k < K; ++k)
    for (std::size_t m = 0; m < M; ++m) gathered[k * M + m] = data[rows[k] * stride + c0 + m];
  using S = ks::GemmShape<M, N, K, 1, stride, N>;
  ks::StoreEpilogue<Be, N> epi{be, c.data()};
  ks::gemm<S>(be, ks::IndexedA<stride, false>{data.data() + c0, rows.data()}, d.data(), epi);
  using SP = ks::GemmShape<M, N, K, 1, M, N>;
  ks::StoreEpilogue<Be, N> pepi{be, plain.data()};
  ks::gemm<SP>(be, gathered.data(), d.data(), pepi);
  ASSERT_EQ(c, plain) << "columns M=" << M << " K=" << K << " N=" << N;
  for (std::size_t m = 0; m < M; ++m)
    for (std::size_t j = 0; j < N; ++j) {
      double exact = 0, mag = 0;
      for (std::size_t k = 0; k < K; ++k) {
        const double p = double(data[rows[k] * stride + c0 + m]) * d[k * N + j];
        exact += p, mag += std::abs(p);
      }
      ASSERT_NEAR(c[m * N + j], exact, 2 * gamma(K) * mag) << "columns M=" << M << " K=" << K << " N=" << N << " m=" << m;
    }
}
}  // namespace

TEST(SimdIndexedOperand, SamplesAsRows) {
  for_each_backend([](auto be) {
    SCOPED_TRACE(typeid(be).name());
    check_rows<1, 1, 1>(be, 0);
    check_rows<3, 17, 33>(be, 5);
    check_rows<17, 33, 100>(be, 3);
    check_rows<33, 3, 17>(be, 1);
    check_rows<100, 33, 3>(be, 4);
  });
}

TEST(SimdIndexedOperand, SamplesAsColumns) {
  for_each_backend([](auto be) {
    SCOPED_TRACE(typeid(be).name());
    check_columns<1, 1, 1>(be, 0);
    check_columns<3, 17, 33>(be, 5);
    check_columns<17, 33, 100>(be, 3);
    check_columns<33, 3, 17>(be, 1);
    check_columns<33, 100, 3>(be, 4);
  });
}
