// Softmax cross-entropy on the SIMD backends (kernel::simd::softmax_cross_entropy) against
// a double-precision reference and the scalar loss, over class counts below, at and past
// the vector width (1, 3, 10, 16, 17, 33) and batches 1, 3, 17, 64.
//
// Error bound (stated): with exact exponentials, a float sum of N positive terms errs by at
// most γ_N relative; xsimd's exp and libm's expf each err by a few ulps (≤ 4 u taken here).
// Per sample the loss m + log Σe − z_label then errs by at most (γ_N + 4u)·(1 + |terms|)
// relative to its largest term, and the batch mean adds γ_B of Σ|loss_s|; dz = e/Σe/B errs
// by (γ_N + 8u)·|dz| plus u/B. The tests allow twice those.
#include <gtest/gtest.h>

#include "simd_support.hpp"

#include <cmath>
#include <cstdint>
#include <ctnn/ctnn.hpp>
#include <limits>
#include <vector>

using namespace ctnn;
using ctnn_test::for_each_backend;
using ctnn_test::gamma;

namespace {

constexpr double u = 0x1p-24;

template <std::size_t N, std::size_t B>
void check_shape(float scale) {
  Rng rng(N * 131 + B);
  std::vector<float> z(B * N);
  for (auto& v : z) v = rng.uniform(scale);
  std::vector<std::uint8_t> labels(B);
  for (std::size_t s = 0; s < B; ++s) labels[s] = static_cast<std::uint8_t>((s * 7 + 3) % N);
  // Double reference.
  std::vector<double> dref(B * N);
  double lref = 0, lmag = 0;
  for (std::size_t s = 0; s < B; ++s) {
    double m = z[s * N];
    for (std::size_t i = 1; i < N; ++i) m = std::max(m, double(z[s * N + i]));
    double sum = 0;
    for (std::size_t i = 0; i < N; ++i) sum += std::exp(double(z[s * N + i]) - m);
    const double ls = m + std::log(sum) - z[s * N + labels[s]];
    lref += ls;
    lmag += std::abs(m) + std::abs(std::log(sum)) + std::abs(double(z[s * N + labels[s]]));
    for (std::size_t i = 0; i < N; ++i)
      dref[s * N + i] = (std::exp(double(z[s * N + i]) - m) / sum - (i == labels[s] ? 1.0 : 0.0)) / double(B);
  }
  lref /= double(B);
  const double ltol = 2 * ((gamma(N) + 4 * u) * (lmag + double(B)) + gamma(B) * lmag) / double(B);
  std::vector<float> dscalar(B * N);
  const float lscalar = loss::SoftmaxCrossEntropy::value_and_gradient<N, B>(z.data(), labels.data(), dscalar.data());
  EXPECT_NEAR(lscalar, lref, ltol) << "scalar loss, N=" << N << " B=" << B;
  for_each_backend([&](auto be) {
    std::vector<float> d(B * N, -7.0f);
    const float l = kernel::simd::softmax_cross_entropy<N, B>(be, z.data(), labels.data(), d.data());
    EXPECT_NEAR(l, lref, ltol) << "N=" << N << " B=" << B << " lanes=" << kernel::simd::lanes<decltype(be)>;
    for (std::size_t k = 0; k < B * N; ++k) {
      const double tol = 2 * ((gamma(N) + 8 * u) * std::abs(dref[k]) + u / double(B));
      ASSERT_NEAR(d[k], dref[k], tol) << "dz[" << k << "], N=" << N << " B=" << B;
    }
    // The value alone (no gradient) is the same number.
    EXPECT_EQ((kernel::simd::softmax_cross_entropy<N, B>(be, z.data(), labels.data(), nullptr)), l);
  });
}

template <std::size_t N>
void check_batches() {
  for (float scale : {1.0f, 30.0f}) {
    check_shape<N, 1>(scale);
    check_shape<N, 3>(scale);
    check_shape<N, 17>(scale);
    check_shape<N, 64>(scale);
  }
}

}  // namespace

TEST(SimdLoss, SoftmaxCrossEntropy_N1) { check_batches<1>(); }
TEST(SimdLoss, SoftmaxCrossEntropy_N3) { check_batches<3>(); }
TEST(SimdLoss, SoftmaxCrossEntropy_N10) { check_batches<10>(); }
TEST(SimdLoss, SoftmaxCrossEntropy_N16) { check_batches<16>(); }
TEST(SimdLoss, SoftmaxCrossEntropy_N17) { check_batches<17>(); }
TEST(SimdLoss, SoftmaxCrossEntropy_N33) { check_batches<33>(); }

// Logits far from zero: the largest is subtracted first, so nothing overflows or
// underflows to a zero sum.
TEST(SimdLoss, ExtremeLogitsStayFinite) {
  for_each_backend([](auto be) {
    std::vector<float> z{1e30f, 1e30f - 1e24f, -1e30f, -3e38f, -3e38f, -3e38f};
    const std::uint8_t labels[2] = {0, 2};
    std::vector<float> d(6);
    const float l = kernel::simd::softmax_cross_entropy<3, 2>(be, z.data(), labels, d.data());
    float* no_gradient = nullptr;
    const float ref = loss::SoftmaxCrossEntropy::value_and_gradient<3, 2>(z.data(), labels, no_gradient);
    EXPECT_TRUE(std::isfinite(l));
    EXPECT_NEAR(l, ref, 1e-6 * std::abs(ref));
    // Sample 1: three equal logits, softmax 1/3 each, label 2.
    EXPECT_NEAR(d[3], 1.0 / 6, 1e-7);
    EXPECT_NEAR(d[5], 1.0 / 6 - 0.5, 1e-7);
  });
}

// A NaN or infinite logit makes the loss NaN (the trainers then refuse the step), as the
// scalar loss does.
TEST(SimdLoss, NonFiniteLogitGivesNaN) {
  for_each_backend([](auto be) {
    const std::uint8_t labels[1] = {1};
    for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
      for (std::size_t at : {0u, 9u, 16u}) {
        std::vector<float> z(17, 0.5f), d(17);
        z[at] = bad;
        EXPECT_TRUE(std::isnan(kernel::simd::softmax_cross_entropy<17, 1>(be, z.data(), labels, d.data())))
            << "bad logit at " << at;
        EXPECT_TRUE(std::isnan(loss::SoftmaxCrossEntropy::value_and_gradient<17, 1>(z.data(), labels, d.data())));
      }
    }
  });
}

// The trainers use it on SIMD backends: a Trainer step's loss on the native backend equals
// the kernel's value on the same logits.
TEST(SimdLoss, DispatchPicksTheKernelOnSimdBackendsOnly) {
  std::vector<float> z(2 * 10);
  for (std::size_t i = 0; i < z.size(); ++i) z[i] = 0.37f * float(i % 7) - 1.0f;
  const std::uint8_t labels[2] = {4, 9};
  for_each_backend([&](auto be) {
    using Be = decltype(be);
    EXPECT_EQ((detail::loss_value_and_gradient<loss::SoftmaxCrossEntropy, Be, 10, 2>(z.data(), labels, nullptr)),
              (kernel::simd::softmax_cross_entropy<10, 2>(be, z.data(), labels, nullptr)));
  });
  EXPECT_EQ((detail::loss_value_and_gradient<loss::SoftmaxCrossEntropy, backend::scalar, 10, 2>(z.data(), labels,
                                                                                                 nullptr)),
            (loss::SoftmaxCrossEntropy::value_and_gradient<10, 2>(z.data(), labels, static_cast<float*>(nullptr))));
}
