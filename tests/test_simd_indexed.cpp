// The GEMM micro-kernel with an indexed A operand (samples picked from a data set by
// index, as DataParallel::step_rows reads them) against the double-precision oracle, and
// bit for bit against the plain operand on the gathered copy: X·W with the samples as
// rows, Xᵀ·dZ with them as columns, over odd sizes (1, 3, 17, 33, 100) on every backend.
#include <gtest/gtest.h>

#include "simd_support.hpp"

#include <cmath>
#include <cstdint>
#include <type_traits>
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

// C[M][N] = A · W[K][N] with A = X[rows][c0 … c0+K) (OnRows: samples as A's rows, X·W)
// or A = X[rows][c0 … c0+M)ᵀ (samples as A's columns, the weight gradient Xᵀ·dZ).
template <bool OnRows, std::size_t M, std::size_t K, std::size_t N, class Be>
void check(Be be, std::size_t c0) {
  const auto data = random(samples * stride, OnRows ? 21 : 23), w = random(K * N, OnRows ? 22 : 24);
  const auto rows = pick(OnRows ? M : K);
  auto a = [&](std::size_t m, std::size_t k) { return OnRows ? data[rows[m] * stride + c0 + k] : data[rows[k] * stride + c0 + m]; };
  std::vector<float> gathered(M * K), c(M * N), plain(M * N);  // gathered: A as a plain M × K matrix
  for (std::size_t m = 0; m < M; ++m)
    for (std::size_t k = 0; k < K; ++k) gathered[m * K + k] = a(m, k);
  using S = std::conditional_t<OnRows, ks::GemmShape<M, N, K, stride, 1, N>, ks::GemmShape<M, N, K, 1, stride, N>>;
  ks::StoreEpilogue<Be, N> epi{be, c.data()};
  ks::gemm<S>(be, ks::IndexedA<stride, OnRows>{data.data() + c0, rows.data()}, w.data(), epi);
  ks::StoreEpilogue<Be, N> pepi{be, plain.data()};
  ks::gemm<ks::GemmShape<M, N, K, K, 1, N>>(be, gathered.data(), w.data(), pepi);
  const char* what = OnRows ? "rows" : "columns";
  ASSERT_EQ(c, plain) << what << " M=" << M << " K=" << K << " N=" << N;
  for (std::size_t m = 0; m < M; ++m)
    for (std::size_t j = 0; j < N; ++j) {
      double exact = 0, mag = 0;
      for (std::size_t k = 0; k < K; ++k) {
        const double p = double(a(m, k)) * w[k * N + j];
        exact += p, mag += std::abs(p);
      }
      ASSERT_NEAR(c[m * N + j], exact, 2 * gamma(K) * mag) << what << " M=" << M << " K=" << K << " N=" << N << " m=" << m;
    }
}

// Every shape on one backend; the long side (100) on the dimension the data set's stride
// does not bound (the samples): M when they are A's rows, K when they are its columns.
template <bool OnRows, class Be>
void check_shapes(Be be) {
  SCOPED_TRACE(typeid(be).name());
  check<OnRows, 1, 1, 1>(be, 0);
  check<OnRows, 3, 17, 33>(be, 5);
  check<OnRows, 17, 33, 100>(be, 3);
  check<OnRows, 33, 3, 17>(be, 1);
  check<OnRows, OnRows ? 100 : 33, OnRows ? 33 : 100, 3>(be, 4);
}
}  // namespace

TEST(SimdIndexedOperand, SamplesAsRows) {
  for_each_backend([](auto be) { check_shapes<true>(be); });
}

TEST(SimdIndexedOperand, SamplesAsColumns) {
  for_each_backend([](auto be) { check_shapes<false>(be); });
}
