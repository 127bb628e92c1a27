// Learning-rate schedules against their closed forms (and PyTorch's, in interop.pytorch).
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include <ctnn/ctnn.hpp>

using namespace ctnn;

TEST(LrSchedule, ClosedForms) {
  EXPECT_EQ(lr::Constant{0.5f}(123), 0.5f);
  const lr::Step step{.base = 1.0f, .every = 10, .gamma = 0.5f};
  EXPECT_FLOAT_EQ(step(0), 1.0f);
  EXPECT_FLOAT_EQ(step(9), 1.0f);
  EXPECT_FLOAT_EQ(step(10), 0.5f);
  EXPECT_FLOAT_EQ(step(35), 0.125f);
  const lr::Cosine cos{.base = 2.0f, .total = 100, .min = 0.5f};
  EXPECT_FLOAT_EQ(cos(0), 2.0f);
  EXPECT_FLOAT_EQ(cos(50), 1.25f);
  EXPECT_FLOAT_EQ(cos(100), 0.5f);
  EXPECT_FLOAT_EQ(cos(1000), 0.5f);
  EXPECT_FLOAT_EQ(cos(25), static_cast<float>(0.5 + 1.5 * 0.5 * (1 + std::cos(std::numbers::pi / 4))));
  const lr::WarmupCosine wc{.base = 1.0f, .warmup = 10, .total = 110};
  EXPECT_FLOAT_EQ(wc(0), 0.1f);
  EXPECT_FLOAT_EQ(wc(4), 0.5f);
  EXPECT_FLOAT_EQ(wc(10), 1.0f);
  EXPECT_FLOAT_EQ(wc(60), 0.5f);
  EXPECT_FLOAT_EQ(wc(110), 0.0f);
  const lr::OneCycle oc{.max = 1.0f, .total = 101, .pct_start = 0.3f, .div = 25.0f, .final_div = 1e4f};
  EXPECT_FLOAT_EQ(oc(0), 0.04f);
  const double up = 0.3 * 101 - 1;  // the peak, as PyTorch places it
  EXPECT_NEAR(oc(static_cast<std::size_t>(up)), 1.0, 1e-3);
  EXPECT_FLOAT_EQ(oc(100), 0.04f / 1e4f);
  float prev = oc(0);
  for (std::size_t s = 1; s <= static_cast<std::size_t>(up); ++s) {
    EXPECT_GT(oc(s), prev);
    prev = oc(s);
  }
  prev = oc(static_cast<std::size_t>(up) + 1);  // the peak falls between two steps
  for (std::size_t s = static_cast<std::size_t>(up) + 2; s <= 100; ++s) {
    EXPECT_LT(oc(s), prev);
    prev = oc(s);
  }
}

TEST(LrSchedule, AppliesToAnyTrainer) {
  using N = Net<Input<3>, Dense<2>>;
  N net;
  Trainer<N, loss::MSE, optim::SGD, Batch<1>> t{net, {.lr = 9.0f}};
  const lr::Step s{.base = 1.0f, .every = 1, .gamma = 0.5f};
  const std::array<float, 3> x{1, 2, 3};
  const std::array<float, 2> y{0, 0};
  for (int k = 0; k < 3; ++k) {
    lr::apply(t, s);
    EXPECT_FLOAT_EQ(t.optimizer().options().lr, std::ldexp(1.0f, -k));
    t.step(x, y);
  }
}
