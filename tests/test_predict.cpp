// predict and evaluate over a run-time number of samples, against per-sample forward.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include <ctnn/ctnn.hpp>

using namespace ctnn;
using Mlp = Net<Input<37>, Dense<33>, Tanh, Dense<17>, ReLU, Dense<5>>;
using Cnn = Net<Input<2, 10, 10>, Conv2D<3, 3>, ReLU, MaxPool2D<2>, Flatten, Dense<4>>;

namespace {
template <class NetT>
std::vector<float> random_inputs(std::size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<float> x(n * NetT::input_size);
  for (auto& v : x) v = u(gen);
  return x;
}

template <class NetT>
void check_predict() {
  static NetT net;
  net.init(9);
  for (std::size_t n : {0u, 1u, 63u, 64u, 65u, 1000u}) {
    const auto x = random_inputs<NetT>(n, static_cast<unsigned>(n));
    std::vector<float> y(n * NetT::output_size, -7.0f);
    predict(net, x, y);
    for (std::size_t s = 0; s < n; ++s) {
      const auto want = net.forward(std::span<const float, NetT::input_size>(x.data() + s * NetT::input_size, NetT::input_size));
      for (std::size_t k = 0; k < NetT::output_size; ++k)
        ASSERT_NEAR(y[s * NetT::output_size + k], want[k], 1e-5f * (1 + std::fabs(want[k])))
            << "n=" << n << " sample " << s << " output " << k;
    }
  }
}
}  // namespace

TEST(Predict, MatchesPerSampleForwardForAnyCountMlp) { check_predict<Mlp>(); }
TEST(Predict, MatchesPerSampleForwardForAnyCountCnn) { check_predict<Cnn>(); }

TEST(Predict, OwnWorkspaceAndBatchSize) {
  static Mlp net;
  net.init(3);
  const auto x = random_inputs<Mlp>(70, 1);
  std::vector<float> a(70 * 5), b(70 * 5);
  static Workspace<Mlp, Batch<16>> ws;
  predict(net, ws, x, a);
  predict<32>(net, x, b);
  for (std::size_t k = 0; k < a.size(); ++k) ASSERT_NEAR(a[k], b[k], 1e-5f * (1 + std::fabs(b[k])));
}

TEST(Predict, SizeMismatchesAreErrors) {
  static Mlp net;
  std::vector<float> x(37 * 3 + 1), y(15);
  EXPECT_THROW(predict(net, x, y), Error);
  x.resize(37 * 3);
  y.resize(14);
  try {
    predict(net, x, y);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("3 samples need 15 output values, got 14"), std::string::npos) << e.what();
  }
}

TEST(Evaluate, LossAndAccuracyEqualTheirDefinitions) {
  static Mlp net;
  net.init(5);
  for (std::size_t n : {1u, 63u, 64u, 65u, 1000u}) {
    const auto x = random_inputs<Mlp>(n, 7);
    std::vector<int> labels(n);
    for (std::size_t s = 0; s < n; ++s) labels[s] = static_cast<int>((s * 7) % 5);
    const Evaluation e = evaluate(net, loss::SoftmaxCrossEntropy{}, std::span<const float>(x), std::span<const int>(labels));
    double loss = 0;
    std::size_t correct = 0;
    for (std::size_t s = 0; s < n; ++s) {
      const auto z = net.forward(std::span<const float, 37>(x.data() + s * 37, 37));
      double m = z[0], sum = 0;
      for (float v : z) m = std::max(m, double(v));
      for (float v : z) sum += std::exp(double(v) - m);
      loss += m + std::log(sum) - z[static_cast<std::size_t>(labels[s])];
      correct += argmax(z.data(), 5) == static_cast<std::size_t>(labels[s]);
    }
    EXPECT_EQ(e.count, n);
    EXPECT_NEAR(e.loss, loss / double(n), 1e-5);
    EXPECT_DOUBLE_EQ(e.accuracy, double(correct) / double(n));
    EXPECT_DOUBLE_EQ(e.accuracy, accuracy(net, std::span<const float>(x), std::span<const int>(labels)));
  }
}

TEST(Evaluate, RegressionHasLossButNoAccuracy) {
  static Mlp net;
  net.init(6);
  const auto x = random_inputs<Mlp>(65, 2);
  std::vector<float> t(65 * 5, 0.25f);
  const Evaluation e = evaluate(net, loss::MSE{}, std::span<const float>(x), std::span<const float>(t));
  double sum = 0;
  for (std::size_t s = 0; s < 65; ++s) {
    const auto y = net.forward(std::span<const float, 37>(x.data() + s * 37, 37));
    for (float v : y) sum += (double(v) - 0.25) * (double(v) - 0.25);
  }
  EXPECT_NEAR(e.loss, sum / (65 * 5), 1e-6);
  EXPECT_TRUE(std::isnan(e.accuracy));
  std::vector<int> bad(65, 5);  // labels must be in [0, 5)
  EXPECT_THROW(evaluate(net, loss::SoftmaxCrossEntropy{}, std::span<const float>(x), std::span<const int>(bad)), Error);
  EXPECT_EQ(evaluate(net, loss::MSE{}, std::span<const float>(), std::span<const float>()).count, 0u);
}
