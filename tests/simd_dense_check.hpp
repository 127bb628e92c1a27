// The SIMD dense kernels against a double-precision reference, shared by the test_simd
// translation units (split so that the suite compiles in parallel).
//
// Error bound (stated): a float dot product of length K computed in any order, with or
// without FMA, differs from the exact value by at most γ_K · Σ|a_k b_k|, γ_K = K·u/(1-K·u),
// u = 2⁻²⁴ (Higham, Accuracy and Stability of Numerical Algorithms, §3.1). The tests take
// a double-precision reference as exact and allow 2·γ_K·Σ|a b| (the vector and scalar
// orders both err) plus, after a transcendental activation, 2e-6·(1 + |y|).
#pragma once
#include <gtest/gtest.h>

#include "simd_support.hpp"

#include <cmath>
#include <ctnn/ctnn.hpp>
#include <vector>

namespace simd_dense_check {
using namespace ctnn;
using ctnn_test::for_each_backend;
using ctnn_test::gamma;
using ctnn_test::random;

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

}  // namespace simd_dense_check
