// ctnn::Predictor (packed batch-1 inference) against the scalar oracle, on every SIMD
// backend this build runs; the rational tanh against std::tanh over the float range.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <ctnn/ctnn.hpp>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "simd_support.hpp"

using namespace ctnn;
using ctnn_test::for_each_backend;
using ctnn_test::random;

namespace {
using namespace ctnn::expr;
inline constexpr auto swish = x * sigmoid(x);
inline constexpr auto dswish = sigmoid(x) * (1.0f + x * (1.0f - sigmoid(x)));
using Swish = Custom<swish, dswish>;

// Output ≤ 1e-5·(1 + |y|) from the scalar network in double-checked float: the products
// differ only in summation order (≤ 2γ_In relative to Σ|x·w|) and tanh by ≤ 3.3e-7.
template <class N, class Be>
void matches_scalar(Be, std::uint64_t seed, const char* name) {
  auto net = std::make_unique<N>();
  net->init(init::XavierUniform{}, seed);
  auto pred = std::make_unique<Predictor<N, Be>>(*net);
  for (std::uint64_t s = 0; s < 3; ++s) {
    const auto x = random(N::input_size, seed * 10 + s);
    const std::span<const float, N::input_size> xs(x.data(), N::input_size);
    const auto want = net->template forward<backend::scalar>(xs);
    const auto got = pred->forward(xs);
    for (std::size_t j = 0; j < N::output_size; ++j)
      ASSERT_NEAR(got[j], want[j], 1e-5 * (1 + std::abs(want[j])))
          << name << " backend lanes=" << kernel::simd::lanes<Be> << " sample " << s << " output " << j;
  }
}

using W1 = Net<Input<16>, Dense<64>, Tanh, Dense<64>, Tanh, Dense<16>>;
using Odd = Net<Input<17>, Dense<33>, Tanh, Dense<7>, Sigmoid, Dense<3>>;
using Tiny = Net<Input<1>, Dense<1>, Tanh, Dense<3>>;
using Wide = Net<Input<100>, Dense<100>, ReLU, Dense<31>, GELU, Dense<1>>;
using Mnist = Net<Input<784>, Dense<256>, ReLU, Dense<128>, ReLU, Dense<10>>;
// Non-dense nodes between and after dense ones: the registers go to a buffer and back.
using Mixed = Net<Input<19>, Dense<33>, Swish, Dropout<200>, Dense<17>, Tanh, Sigmoid, Dense<5>, Softmax>;
using Leading = Net<Input<13>, ReLU, Dense<3>, Tanh>;
using Cnn = Net<Input<1, 12, 12>, Conv2D<4, 3, 1, 1>, ReLU, MaxPool2D<2>, Flatten, Dense<20>, Tanh, Dense<10>>;
}  // namespace

TEST(Predictor, MatchesScalarOnEveryBackend) {
  for_each_backend([](auto be) {
    matches_scalar<W1>(be, 1, "W1");
    matches_scalar<Odd>(be, 2, "17-33-7-3");
    matches_scalar<Tiny>(be, 3, "1-1-3");
    matches_scalar<Wide>(be, 4, "100-100-31-1");
    matches_scalar<Mnist>(be, 5, "784-256-128-10");
    matches_scalar<Mixed>(be, 6, "mixed");
    matches_scalar<Leading>(be, 7, "leading relu");
    matches_scalar<Cnn>(be, 8, "cnn");
  });
}

TEST(Predictor, MatchesNetForwardOnTheScalarBackend) {
  auto net = std::make_unique<Odd>();
  net->init(9);
  const Predictor<Odd, backend::scalar> pred(*net);
  const auto x = random(Odd::input_size, 10);
  const std::span<const float, Odd::input_size> xs(x.data(), x.size());
  EXPECT_EQ(pred.forward(xs), net->forward<backend::scalar>(xs));
  static_assert(Predictor<Odd, backend::scalar>::packed_count == 0);
}

TEST(Predictor, IsASnapshotUntilLoadedAgain) {
  auto net = std::make_unique<W1>();
  net->init(11);
  Predictor<W1> pred(*net);
  const auto x = random(W1::input_size, 12);
  const std::span<const float, W1::input_size> xs(x.data(), x.size());
  const auto before = pred.forward(xs);
  for (float& p : net->params()) p *= 0.5f;
  EXPECT_EQ(pred.forward(xs), before);
  pred.load(*net);
  const auto after = pred.forward(xs), want = net->forward<backend::scalar>(xs);
  for (std::size_t j = 0; j < W1::output_size; ++j) {
    EXPECT_NE(after[j], before[j]);
    EXPECT_NEAR(after[j], want[j], 1e-5 * (1 + std::abs(want[j])));
  }
}

TEST(Predictor, NanInTheInputReachesTheOutput) {
  auto net = std::make_unique<W1>();
  net->init(13);
  const Predictor<W1> pred(*net);
  auto x = random(W1::input_size, 14);
  x[5] = std::numeric_limits<float>::quiet_NaN();
  const auto y = pred.forward(std::span<const float, W1::input_size>(x.data(), x.size()));
  for (float v : y) EXPECT_TRUE(std::isnan(v));
}

// Every lane of the vector tanh against tanh in double, over a sweep of the float range.
TEST(SimdTanh, WithinStatedErrorOverTheFloatRange) {
  for_each_backend([](auto be) {
    using Be = decltype(be);
    using V = kernel::simd::vec<Be>;
    constexpr std::size_t W = V::size;
    double worst = 0;
    float worst_at = 0;
    alignas(64) float in[W], out[W];
    std::size_t n = 0;
    auto flush = [&] {
      kernel::simd::vector_activation<Tanh>::value(V::load_aligned(in)).store_aligned(out);
      for (std::size_t l = 0; l < n; ++l) {
        const double want = std::tanh(static_cast<double>(in[l]));
        const double rel = want == 0 ? std::abs(out[l]) : std::abs(out[l] / want - 1);
        if (rel > worst) worst = rel, worst_at = in[l];
        ASSERT_LE(std::abs(out[l]), 1.0f) << in[l];
      }
      n = 0;
    };
    for (std::uint32_t bits = 0x00000001u; bits < 0x41a00000u; bits += 257) {  // (0, 20]
      for (float sign : {1.0f, -1.0f}) {
        float v;
        std::memcpy(&v, &bits, 4);
        in[n++] = sign * v;
        if (n == W) flush();
      }
    }
    if (n > 0) flush();
    EXPECT_LE(worst, 3.3e-7) << "at " << worst_at << ", lanes " << W;
    RecordProperty("worst_relative_error_lanes_" + std::to_string(W), testing::PrintToString(worst));
    const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
    const float special[] = {nan, inf, -inf, 0.0f, -0.0f, 1e30f, -1e30f, 8.0f, -8.0f, 8.000001f};
    for (float s : special) {
      kernel::simd::vector_activation<Tanh>::value(V(s)).store_aligned(out);
      if (std::isnan(s)) {
        EXPECT_TRUE(std::isnan(out[0]));
      } else {
        EXPECT_NEAR(out[0], std::tanh(static_cast<double>(s)), 3.3e-7) << s;
        EXPECT_EQ(std::signbit(out[0]), std::signbit(s)) << s;
      }
    }
  });
}
