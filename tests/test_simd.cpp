// The SIMD backends against the scalar oracle: every fused kernel over many shapes
// (odd sizes, tails), whole networks forward and backward, gradient checks, training.
//
// Error bound (stated): a float dot product of length K computed in any order, with or
// without FMA, differs from the exact value by at most γ_K · Σ|a_k b_k|, γ_K = K·u/(1-K·u),
// u = 2⁻²⁴ (Higham, Accuracy and Stability of Numerical Algorithms, §3.1). The tests take
// a double-precision reference as exact and allow 2·γ_K·Σ|a b| (the vector and scalar
// orders both err) plus, after a transcendental activation, 2e-6·(1 + |y|).
#include <gtest/gtest.h>

#include "simd_support.hpp"

#include <cmath>
#include <ctnn/ctnn.hpp>
#include <tuple>
#include <type_traits>
#include <vector>

using namespace ctnn;
using ctnn_test::for_each_backend;
using ctnn_test::gamma;
using ctnn_test::random;

namespace {

template <class Act>
double act_d(double z) {
  return Act::value(z);
}

// Forward y = act(xW + b) on backend Be against the double reference.
template <std::size_t In, std::size_t Out, std::size_t B, class Act, class Be>
void check_forward(Be be) {
  const auto W = random(In * Out, 1), b = random(Out, 2), x = random(B * In, 3, 2.0f);
  std::vector<float> y(B * Out), z(B * Out);
  kernel::dense_act_forward<In, Out, B, Act>(be, W.data(), b.data(), x.data(), y.data(), z.data());
  for (std::size_t s = 0; s < B; ++s)
    for (std::size_t j = 0; j < Out; ++j) {
      double exact = b[j], mag = std::abs(b[j]);
      for (std::size_t k = 0; k < In; ++k) {
        exact += static_cast<double>(x[s * In + k]) * W[k * Out + j];
        mag += std::abs(static_cast<double>(x[s * In + k]) * W[k * Out + j]);
      }
      const double tol_z = 2 * gamma(In + 1) * mag;
      ASSERT_NEAR(z[s * Out + j], exact, tol_z) << "z In=" << In << " Out=" << Out << " B=" << B << " s=" << s << " j=" << j;
      const double ya = act_d<Act>(exact);
      ASSERT_NEAR(y[s * Out + j], ya, 1.2 * tol_z + 2e-6 * (1 + std::abs(ya)))
          << "y In=" << In << " Out=" << Out << " B=" << B << " s=" << s << " j=" << j;
    }
}

// Backward against the double reference: dz = dy ⊙ act', dW += xᵀdz, db += Σdz, dx = dz Wᵀ.
template <std::size_t In, std::size_t Out, std::size_t B, class Act, class Be>
void check_backward(Be be) {
  const auto W = random(In * Out, 4), x = random(B * In, 5), dy = random(B * Out, 6), b = random(Out, 7);
  std::vector<float> y(B * Out), z(B * Out);
  kernel::dense_act_forward<In, Out, B, Act>(be, W.data(), b.data(), x.data(), y.data(), z.data());
  auto dW = random(In * Out, 8), db = random(Out, 9);  // accumulation onto existing values
  const auto dW0 = dW, db0 = db;
  std::vector<float> dx(B * In), scratch(kernel::simd::dense_backward_scratch<In, Out, B>);
  kernel::dense_act_backward<In, Out, B, Act>(be, W.data(), x.data(), z.data(), y.data(), dy.data(), dx.data(), dW.data(),
                                              db.data(), scratch.data());
  std::vector<double> dz(B * Out);
  for (std::size_t k = 0; k < B * Out; ++k) dz[k] = static_cast<double>(dy[k]) * Act::derivative(static_cast<double>(z[k]), static_cast<double>(y[k]));
  for (std::size_t j = 0; j < Out; ++j) {
    double e = db0[j], mag = std::abs(db0[j]);
    for (std::size_t s = 0; s < B; ++s) e += dz[s * Out + j], mag += std::abs(dz[s * Out + j]);
    ASSERT_NEAR(db[j], e, 2 * gamma(B + 1) * mag + 1e-6 * mag) << "db j=" << j;
  }
  for (std::size_t i = 0; i < In; ++i)
    for (std::size_t j = 0; j < Out; ++j) {
      double e = dW0[i * Out + j], mag = std::abs(e);
      for (std::size_t s = 0; s < B; ++s) e += x[s * In + i] * dz[s * Out + j], mag += std::abs(x[s * In + i] * dz[s * Out + j]);
      ASSERT_NEAR(dW[i * Out + j], e, 2 * gamma(B + 1) * mag + 1e-6 * mag) << "dW i=" << i << " j=" << j;
    }
  for (std::size_t s = 0; s < B; ++s)
    for (std::size_t i = 0; i < In; ++i) {
      double e = 0, mag = 0;
      for (std::size_t j = 0; j < Out; ++j) e += dz[s * Out + j] * W[i * Out + j], mag += std::abs(dz[s * Out + j] * W[i * Out + j]);
      ASSERT_NEAR(dx[s * In + i], e, 2 * gamma(Out) * mag + 1e-6 * mag) << "dx s=" << s << " i=" << i;
    }
}

template <std::size_t In, std::size_t Out, class Act = Identity>
void shape_all_batches() {
  for_each_backend([](auto be) {
    SCOPED_TRACE(typeid(be).name());
    check_forward<In, Out, 1, Act>(be);
    check_forward<In, Out, 3, Act>(be);
    check_forward<In, Out, 64, Act>(be);
    check_forward<In, Out, 257, Act>(be);
    check_backward<In, Out, 1, Act>(be);
    check_backward<In, Out, 3, Act>(be);
    check_backward<In, Out, 64, Act>(be);
    check_backward<In, Out, 257, Act>(be);
  });
}

}  // namespace

// Sizes 1, 3, 7, 16, 17, 31, 64, 100, 256, 784 on both axes, batches 1, 3, 64, 257.
TEST(SimdDense, Shapes_1x3) { shape_all_batches<1, 3>(); }
TEST(SimdDense, Shapes_3x1) { shape_all_batches<3, 1>(); }
TEST(SimdDense, Shapes_7x16) { shape_all_batches<7, 16>(); }
TEST(SimdDense, Shapes_16x17) { shape_all_batches<16, 17>(); }
TEST(SimdDense, Shapes_17x31) { shape_all_batches<17, 31>(); }
TEST(SimdDense, Shapes_31x64) { shape_all_batches<31, 64>(); }
TEST(SimdDense, Shapes_64x100) { shape_all_batches<64, 100>(); }
TEST(SimdDense, Shapes_100x7) { shape_all_batches<100, 7>(); }
TEST(SimdDense, Shapes_256x784) { shape_all_batches<256, 784>(); }
TEST(SimdDense, Shapes_784x256) { shape_all_batches<784, 256>(); }
TEST(SimdDense, Shapes_128x10) { shape_all_batches<128, 10>(); }

TEST(SimdDense, FusedActivations) {
  shape_all_batches<17, 33, ReLU>();
  shape_all_batches<33, 17, LeakyReLU>();
  shape_all_batches<16, 100, Tanh>();
  shape_all_batches<100, 3, Sigmoid>();
  shape_all_batches<7, 64, GELU>();
  shape_all_batches<17, 33, SiLU>();  // derivative from z
  shape_all_batches<31, 31, LeakyReLUSlope<-1, 4>>();  // negative slope: derivative from z
}

TEST(SimdDense, NaNPropagatesThroughFusedReLU) {
  for_each_backend([](auto be) {
    std::vector<float> W(2 * 3, 1.0f), b(3, 0.0f), x{std::nanf(""), 1.0f}, y(3);
    kernel::dense_act_forward<2, 3, 1, ReLU>(be, W.data(), b.data(), x.data(), y.data(), nullptr);
    for (float v : y) EXPECT_TRUE(std::isnan(v));
  });
}
