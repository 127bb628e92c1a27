// Optimizers against their update formulas written out independently, step by step.
#include <gtest/gtest.h>

#include <cmath>
#include <ctnn/ctnn.hpp>
#include <vector>

using namespace ctnn;

namespace {
std::vector<float> grads_at(std::size_t step) {
  return {0.5f - 0.1f * static_cast<float>(step), -1.0f, 2.0f, 0.0f, 1e-3f};
}
}  // namespace

TEST(Optimizers, PlainSgd) {
  optim::SGD sgd({.lr = 0.1f});
  std::vector<float> p{1, 2, 3, 4, 5}, st(5);
  const auto g = grads_at(0);
  sgd.update(p, g, st);
  for (std::size_t k = 0; k < 5; ++k) EXPECT_FLOAT_EQ(p[k], static_cast<float>(k + 1) - 0.1f * g[k]);
}

TEST(Optimizers, SgdMomentumAndNesterovOverThreeSteps) {
  for (bool nesterov : {false, true}) {
    optim::SGD sgd({.lr = 0.05f, .momentum = 0.9f, .nesterov = nesterov, .weight_decay = 0.01f});
    std::vector<float> p{1, -2, 3, 0.5f, 5}, st(5);
    std::vector<double> ref(p.begin(), p.end()), v(5, 0.0);
    for (std::size_t t = 0; t < 3; ++t) {
      const auto g = grads_at(t);
      sgd.update(p, g, st);
      for (std::size_t k = 0; k < 5; ++k) {
        const double gk = g[k] + 0.01 * ref[k];
        v[k] = 0.9 * v[k] + gk;
        ref[k] -= 0.05 * (nesterov ? gk + 0.9 * v[k] : v[k]);
      }
    }
    for (std::size_t k = 0; k < 5; ++k) EXPECT_NEAR(p[k], ref[k], 1e-5) << "nesterov=" << nesterov << " k=" << k;
    EXPECT_EQ(sgd.steps(), 3u);
  }
}

TEST(Optimizers, AdamAndAdamWOverFiveSteps) {
  for (bool decoupled : {false, true}) {
    const float wd = 0.1f;
    std::vector<float> p{1, -2, 3, 0.5f, 5}, st(10);
    std::vector<double> ref(p.begin(), p.end()), m(5, 0.0), v(5, 0.0);
    optim::Adam adam({.lr = 0.01f, .weight_decay = wd});
    optim::AdamW adamw({.lr = 0.01f, .weight_decay = wd});
    for (std::size_t t = 1; t <= 5; ++t) {
      const auto g = grads_at(t);
      if (decoupled)
        adamw.update(p, g, st);
      else
        adam.update(p, g, st);
      for (std::size_t k = 0; k < 5; ++k) {
        double gk = g[k];
        if (decoupled)
          ref[k] *= 1.0 - 0.01 * wd;
        else
          gk += wd * ref[k];
        m[k] = 0.9 * m[k] + 0.1 * gk;
        v[k] = 0.999 * v[k] + 0.001 * gk * gk;
        const double mh = m[k] / (1 - std::pow(0.9, t)), vh = v[k] / (1 - std::pow(0.999, t));
        ref[k] -= 0.01 * mh / (std::sqrt(vh) + 1e-8);
      }
    }
    for (std::size_t k = 0; k < 5; ++k) EXPECT_NEAR(p[k], ref[k], 2e-5) << "decoupled=" << decoupled << " k=" << k;
  }
}

TEST(Optimizers, AdamWDefaultsDiffer) {
  EXPECT_EQ(optim::Adam::Options{}.weight_decay, 0.0f);
  EXPECT_EQ(optim::AdamW::Options{}.weight_decay, 0.01f);
  static_assert(Optimizer<optim::SGD> && Optimizer<optim::Adam> && Optimizer<optim::AdamW>);
}

TEST(Optimizers, LionMinimisesAQuadratic) {
  // Lion moves every parameter by lr a step until it oscillates around the minimum.
  optim::Lion lion({.lr = 0.01f});
  std::vector<float> p(7, 0.0f), st(7), g(7);
  for (int it = 0; it < 1500; ++it) {
    for (std::size_t k = 0; k < 7; ++k) g[k] = 2.0f * (p[k] - static_cast<float>(k));
    lion.update(p, g, st);
  }
  for (std::size_t k = 0; k < 7; ++k) EXPECT_NEAR(p[k], static_cast<float>(k), 5e-2f);
}

TEST(Optimizers, AdamMinimisesAQuadratic) {
  // f(p) = Σ (p_k - k)², gradient 2 (p_k - k).
  optim::Adam adam({.lr = 0.05f});
  std::vector<float> p(7, 0.0f), st(14), g(7);
  for (int it = 0; it < 2000; ++it) {
    for (std::size_t k = 0; k < 7; ++k) g[k] = 2.0f * (p[k] - static_cast<float>(k));
    adam.update(p, g, st);
  }
  for (std::size_t k = 0; k < 7; ++k) EXPECT_NEAR(p[k], static_cast<float>(k), 1e-2f);
}
