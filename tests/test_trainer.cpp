// The trainer: it learns, it is deterministic, and it refuses bad input and NaN.
#include <gtest/gtest.h>

#include <cmath>
#include <ctnn/ctnn.hpp>
#include <limits>
#include <vector>

using namespace ctnn;

namespace {
// Two interleaved spirals: not linearly separable, so a hidden layer must learn.
void spirals(std::size_t n, std::uint64_t seed, std::vector<float>& x, std::vector<int>& y) {
  Rng rng(seed);
  x.resize(2 * n);
  y.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    const int cls = static_cast<int>(i % 2);
    const float r = rng.uniform() * 3.0f + 0.2f;
    const float th = r * 2.2f + (cls ? 3.14159265f : 0.0f);
    x[2 * i] = r * std::cos(th) / 3.2f + rng.uniform(0.03f);
    x[2 * i + 1] = r * std::sin(th) / 3.2f + rng.uniform(0.03f);
    y[i] = cls;
  }
}
using Clf = Net<Input<2>, Dense<64>, ReLU, Dense<64>, ReLU, Dense<2>>;
}  // namespace

TEST(Trainer, LearnsSpiralsWithAdam) {
  std::vector<float> x;
  std::vector<int> y;
  spirals(1024, 1, x, y);
  Clf net;
  net.init(init::XavierUniform{}, 5);
  const double before = accuracy(net, std::span<const float>(x), std::span<const int>(y));
  Trainer<Clf, loss::SoftmaxCrossEntropy, optim::Adam, Batch<32>> tr{net, {.lr = 0.01f}};
  float first = 0, last = 0;
  for (int epoch = 0; epoch < 60; ++epoch)
    for (std::size_t b = 0; b < 1024 / 32; ++b) {
      const float l = tr.step(std::span<const float>(x).subspan(b * 64, 64), std::span<const int>(y).subspan(b * 32, 32));
      if (epoch == 0 && b == 0) first = l;
      last = l;
    }
  const double after = accuracy(net, std::span<const float>(x), std::span<const int>(y));
  EXPECT_LT(before, 0.7);
  EXPECT_GT(after, 0.97);
  EXPECT_LT(last, 0.25f * first);
  EXPECT_EQ(tr.steps(), 60u * 32);
}

TEST(Trainer, RegressionWithMseAndSgdMomentum) {
  // y = sin(3x) on [-1, 1].
  using R = Net<Input<1>, Dense<24>, Tanh, Dense<1>>;
  R net;
  net.init(init::XavierUniform{}, 2);
  Trainer<R, loss::MSE, optim::SGD, Batch<16>> tr{net, {.lr = 0.05f, .momentum = 0.9f}};
  Rng rng(4);
  std::vector<float> x(16), t(16);
  float early = 0, late = 0;
  for (int it = 0; it < 6000; ++it) {
    for (std::size_t k = 0; k < 16; ++k) {
      x[k] = rng.uniform(1.0f);
      t[k] = std::sin(3.0f * x[k]);
    }
    const float l = tr.step(x, t);
    if (it < 100) early += l / 100;
    if (it >= 5900) late += l / 100;
  }
  EXPECT_LT(late, 0.01f);
  EXPECT_LT(late, 0.05f * early);
  const auto y = net.forward(std::array<float, 1>{0.5f});
  EXPECT_NEAR(y[0], std::sin(1.5f), 0.1f);
}

TEST(Trainer, SameSeedSameBits) {
  std::vector<float> x;
  std::vector<int> y;
  spirals(64, 3, x, y);
  auto train = [&] {
    auto net = std::make_unique<Clf>();
    net->init(init::HeNormal{}, 9);
    Trainer<Clf, loss::SoftmaxCrossEntropy, optim::AdamW, Batch<8>> tr{*net};
    for (int e = 0; e < 3; ++e)
      for (std::size_t b = 0; b < 8; ++b)
        tr.step(std::span<const float>(x).subspan(b * 16, 16), std::span<const int>(y).subspan(b * 8, 8));
    return std::vector<float>(net->params().begin(), net->params().end());
  };
  EXPECT_EQ(train(), train());
}

TEST(Trainer, NaNInputIsReportedWithTheStepAndChangesNothing) {
  Clf net;
  net.init(1);
  Trainer<Clf, loss::SoftmaxCrossEntropy, optim::SGD, Batch<2>> tr{net, {.lr = 0.1f}};
  std::vector<float> x{0.1f, 0.2f, 0.3f, 0.4f};
  const std::vector<int> y{0, 1};
  tr.step(x, y);
  tr.step(x, y);
  const std::vector<float> before(net.params().begin(), net.params().end());
  x[3] = std::numeric_limits<float>::quiet_NaN();
  try {
    tr.step(x, y);
    FAIL() << "NaN input was trained on";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("non-finite"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("at step 2"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(std::equal(before.begin(), before.end(), net.params().begin()));
  EXPECT_EQ(tr.steps(), 2u);
}

// The gradient scan names the layer and the parameter within it, for a NaN or an Inf
// anywhere in the block (first, middle of a layer, the very last bias).
TEST(Trainer, NonFiniteGradientNamesLayerAndParameter) {
  Clf net;
  net.init(1);
  Trainer<Clf, loss::SoftmaxCrossEntropy, optim::SGD, Batch<2>> tr{net, {.lr = 0.1f}};
  const std::vector<float> x{0.1f, 0.2f, 0.3f, 0.4f};
  const std::vector<int> y{0, 1};
  const std::vector<float> before(net.params().begin(), net.params().end());
  struct Case {
    std::size_t index;
    float value;
    const char* where;
  };
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  const std::size_t last = Clf::param_count - 1;
  for (const Case c : {Case{0, nan, "in layer 0 (parameter 0)"}, Case{Clf::param_offsets[2] + 70, -inf, "in layer 2 (parameter 70)"},
                       Case{last, inf, "in layer 4 (parameter 129)"}}) {
    const float loss = tr.compute_gradients(x, y);
    ASSERT_TRUE(std::isfinite(loss));
    tr.gradient_block()[c.index] = c.value;
    try {
      tr.apply_gradients(loss);
      FAIL() << "non-finite gradient applied";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(c.where), std::string::npos) << e.what();
    }
    EXPECT_TRUE(std::equal(before.begin(), before.end(), net.params().begin()));
  }
  EXPECT_EQ(tr.steps(), 0u);
}

TEST(Trainer, DivergenceToInfinityIsReported) {
  using R = Net<Input<1>, Dense<1>>;
  R net;
  net.init(1);
  Trainer<R, loss::MSE, optim::SGD, Batch<1>> tr{net, {.lr = 10.0f}};
  const std::vector<float> x{1e3f}, t{1.0f};
  bool threw = false;
  for (int i = 0; i < 50 && !threw; ++i) {
    try {
      tr.step(x, t);
    } catch (const Error& e) {
      threw = true;
      EXPECT_NE(std::string(e.what()).find("non-finite"), std::string::npos) << e.what();
      for (float p : net.params()) EXPECT_TRUE(std::isfinite(p));
    }
  }
  EXPECT_TRUE(threw);
}

TEST(Trainer, RejectsWrongSizesAndLabels) {
  Clf net;
  net.init(1);
  Trainer<Clf, loss::SoftmaxCrossEntropy, optim::Adam, Batch<2>> tr{net};
  const std::vector<float> x(4, 0.5f), short_x(3, 0.5f);
  EXPECT_THROW(tr.step(short_x, std::vector<int>{0, 1}), Error);
  EXPECT_THROW(tr.step(x, std::vector<int>{0}), Error);
  try {
    tr.step(x, std::vector<int>{0, 2});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("outside [0, 2)"), std::string::npos) << e.what();
  }
  EXPECT_THROW(tr.step(x, std::vector<int>{-1, 0}), Error);
  EXPECT_NO_THROW(tr.step(x, std::vector<std::uint8_t>{1, 0}));
  EXPECT_THROW(accuracy(net, std::span<const float>(x), std::span<const int>(std::vector<int>{0, 1, 1})), Error);
}

namespace {
// What a GradientReady hook sees: each call's offset, and the gradients from it to the end
// of the block as they were at that moment.
struct ReadyLog {
  std::span<const float> grads;
  std::vector<std::size_t> offsets;
  std::vector<std::vector<float>> seen;
  static void record(void* self, std::size_t begin) noexcept {
    auto& log = *static_cast<ReadyLog*>(self);
    log.offsets.push_back(begin);
    log.seen.emplace_back(log.grads.begin() + static_cast<std::ptrdiff_t>(begin), log.grads.end());
  }
};

// The hook's contract on one backend: called once per layer (scalar) or fused node (SIMD),
// with offsets that never grow and end at 0, and every gradient it declares final is
// already the value compute_gradients returns.
template <class NetT, class Be>
void check_gradient_ready(std::size_t expected_calls) {
  constexpr std::size_t B = 5;
  NetT net;
  net.init(init::XavierUniform{}, 3);
  Trainer<NetT, loss::SoftmaxCrossEntropy, optim::SGD, Batch<B>, Be> tr{net, {.lr = 0.1f}};
  Rng rng(9);
  std::vector<float> x(B * NetT::input_size);
  for (auto& v : x) v = rng.uniform(1.0f);
  std::vector<int> y(B);
  for (std::size_t k = 0; k < B; ++k) y[k] = static_cast<int>(k % NetT::output_size);
  ReadyLog log{tr.gradient_block(), {}, {}};
  tr.compute_gradients(x, y, GradientReady{&ReadyLog::record, &log});
  ASSERT_EQ(log.offsets.size(), expected_calls);
  EXPECT_EQ(log.offsets.back(), 0u);
  for (std::size_t i = 0; i < log.offsets.size(); ++i) {
    if (i > 0) {
      EXPECT_LE(log.offsets[i], log.offsets[i - 1]);
    }
    const std::size_t begin = log.offsets[i];
    for (std::size_t k = begin; k < NetT::param_count; ++k)
      ASSERT_EQ(log.seen[i][k - begin], tr.gradient_block()[k]) << "call " << i << " declared parameter " << k << " final";
  }
  // Without a hook the gradients are the same.
  const std::vector<float> with(tr.gradient_block().begin(), tr.gradient_block().end());
  tr.compute_gradients(x, y);
  EXPECT_TRUE(std::equal(with.begin(), with.end(), tr.gradient_block().begin()));
}
using ReadyNet = Net<Input<7>, Dense<17>, Tanh, Dense<3>, ReLU, Dense<4>>;
}  // namespace

TEST(Trainer, GradientReadyDeclaresOnlyFinalGradients) {
  check_gradient_ready<ReadyNet, backend::scalar>(5);  // every layer, activations included
  check_gradient_ready<ReadyNet, backend::native>(3);  // one call per fused Dense+activation node
}
