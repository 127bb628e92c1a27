// The reference backend against values computed by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <ctnn/ctnn.hpp>
#include <numeric>
#include <vector>

using namespace ctnn;

TEST(Reference, DenseByHand) {
  using N = Net<Input<2>, Dense<3>>;
  N net;
  // W [in][out] = [[1, 2, 3], [4, 5, 6]], b = [0.5, -1, 0]
  const float p[] = {1, 2, 3, 4, 5, 6, 0.5f, -1, 0};
  std::copy(std::begin(p), std::end(p), net.params().begin());
  const auto y = net.forward<backend::scalar>(std::array<float, 2>{1.0f, -2.0f});
  EXPECT_FLOAT_EQ(y[0], 1 - 8 + 0.5f);
  EXPECT_FLOAT_EQ(y[1], 2 - 10 - 1);
  EXPECT_FLOAT_EQ(y[2], 3 - 12);
}

TEST(Reference, ActivationsByHand) {
  EXPECT_EQ(ReLU::value(-2.0f), 0.0f);
  EXPECT_EQ(ReLU::value(3.0f), 3.0f);
  EXPECT_FLOAT_EQ(LeakyReLU::value(-2.0f), -0.02f);
  EXPECT_FLOAT_EQ((LeakyReLUSlope<1, 5>::value(-2.0f)), -0.4f);
  EXPECT_FLOAT_EQ(Tanh::value(0.5f), std::tanh(0.5f));
  EXPECT_FLOAT_EQ(Sigmoid::value(0.0f), 0.5f);
  EXPECT_FLOAT_EQ(Sigmoid::value(-100.0f), std::exp(-100.0f) / (1 + std::exp(-100.0f)));
  EXPECT_FLOAT_EQ(Sigmoid::value(100.0f), 1.0f);
  // GELU(1) = 1·Φ(1) = 0.841344746...
  EXPECT_NEAR(GELU::value(1.0), 0.8413447460685429, 1e-12);
  EXPECT_NEAR(GELU::value(-1.0), -0.15865525393145707, 1e-12);
  EXPECT_EQ(Identity::value(-7.5f), -7.5f);
  // NaN is never silently turned into a number.
  EXPECT_TRUE(std::isnan(ReLU::value(std::nanf(""))));
  EXPECT_TRUE(std::isnan(LeakyReLU::value(std::nanf(""))));
}

TEST(Reference, SoftmaxIsStableAndSumsToOne) {
  using N = Net<Input<4>, Identity, Softmax>;
  N net;
  const auto y = net.forward<backend::scalar>(std::array<float, 4>{1000.0f, 1001.0f, 1002.0f, -1000.0f});
  EXPECT_NEAR(std::accumulate(y.begin(), y.end(), 0.0f), 1.0f, 1e-6f);
  const double e0 = std::exp(-2.0), e1 = std::exp(-1.0), s = e0 + e1 + 1.0;
  EXPECT_NEAR(y[0], e0 / s, 1e-6);
  EXPECT_NEAR(y[2], 1.0 / s, 1e-6);
  EXPECT_EQ(y[3], 0.0f);
}

TEST(Reference, CrossEntropyByHandAndStable) {
  const float z[] = {1.0f, 2.0f, 3.0f, 1000.0f, 0.0f, -1000.0f};
  const int labels[] = {0, 1};
  float dz[6];
  const float l = loss::SoftmaxCrossEntropy::value_and_gradient<3, 2>(z, labels, dz);
  const double lse0 = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
  const double expected = ((lse0 - 1.0) + 1000.0) / 2.0;  // second sample: lse = 1000, z[label] = 0
  EXPECT_NEAR(l, expected, 1e-3);
  EXPECT_TRUE(std::isfinite(l));
  EXPECT_NEAR(dz[0], (std::exp(1.0 - lse0) - 1.0) / 2.0, 1e-6);
  EXPECT_NEAR(dz[2], std::exp(3.0 - lse0) / 2.0, 1e-6);
  EXPECT_NEAR(dz[3], 0.5, 1e-6);
  EXPECT_NEAR(dz[4], -0.5, 1e-6);
  EXPECT_EQ(dz[5], 0.0f);
}

TEST(Reference, MseByHand) {
  const float y[] = {1, 2, 3, 4};
  const float t[] = {0, 2, 5, 4};
  float dy[4];
  const float l = loss::MSE::value_and_gradient<2, 2>(y, t, dy);
  EXPECT_FLOAT_EQ(l, (1.0f + 0 + 4 + 0) / 4);
  EXPECT_FLOAT_EQ(dy[0], 2.0f * 1 / 4);
  EXPECT_FLOAT_EQ(dy[2], 2.0f * -2 / 4);
  EXPECT_EQ(dy[1], 0.0f);
}

// On the reference backend, batched forward equals batch-1 forward bit for bit.
template <std::size_t B>
void batch_matches_single() {
  using N = Net<Input<17>, Dense<33>, GELU, Dense<3>, Sigmoid, Dense<5>>;
  static N net;
  net.init(init::XavierNormal{}, 11);
  Rng rng(5);
  std::vector<float> x(B * 17);
  for (auto& v : x) v = rng.uniform(2.0f);
  auto ws = std::make_unique<Workspace<N, Batch<B>>>();
  std::array<float, B * 5> y{};
  net.forward<B, backend::scalar>(*ws, std::span<const float, B * 17>(x.data(), B * 17), std::span<float, B * 5>(y));
  for (std::size_t s = 0; s < B; ++s) {
    const auto y1 = net.forward<backend::scalar>(std::span<const float, 17>(x.data() + s * 17, 17));
    for (std::size_t j = 0; j < 5; ++j) EXPECT_EQ(y[s * 5 + j], y1[j]) << "B=" << B << " s=" << s << " j=" << j;
  }
}

TEST(Reference, BatchedForwardMatchesSingle) {
  batch_matches_single<1>();
  batch_matches_single<3>();
  batch_matches_single<17>();
  batch_matches_single<64>();
}

TEST(Reference, ForwardIsConstAndRepeatable) {
  using N = Net<Input<3>, Dense<4>, Tanh, Dense<2>>;
  N net;
  net.init(1);
  const N& cnet = net;
  const std::array<float, 3> x{0.3f, -0.1f, 0.7f};
  const auto a = cnet.forward(x);
  const auto b = cnet.forward(x);
  EXPECT_EQ(a, b);
  EXPECT_NE(a[0], 0.0f);
}
