// Whole networks on the native SIMD backend against the scalar oracle: the fusion plan,
// fused forward (batch 1 and batched), fused backward through the trainer, gradient
// checks, and training to the same accuracy.
#include <gtest/gtest.h>

#include <cmath>
#include <ctnn/ctnn.hpp>
#include <memory>
#include <vector>

using namespace ctnn;
using Simd = backend::native;
static_assert(SimdBackend<Simd>, "build with -march=native (or -msse4.2 at least)");

namespace {
using Mlp = Net<Input<784>, Dense<256>, ReLU, Dense<128>, ReLU, Dense<10>>;
using Every = Net<Input<17>, Dense<33>, GELU, Dense<31>, Tanh, Dense<7>, Sigmoid, Dense<16>, LeakyReLU, Dense<3>, Softmax>;
using W1 = Net<Input<16>, Dense<64>, Tanh, Dense<64>, Tanh, Dense<16>>;

// The plan: every Dense+activation pair fuses; the Softmax stays a node of its own.
static_assert(FusionPlan<Mlp>::count == 3);
static_assert(FusionPlan<Mlp>::first[1] == 2 && FusionPlan<Mlp>::length[1] == 2 && FusionPlan<Mlp>::length[2] == 1);
static_assert(FusionPlan<Every>::count == 6 && FusionPlan<Every>::first[5] == 9);
using Unfused = Net<Input<4>, ReLU, Dense<3>, Softmax>;
static_assert(FusionPlan<Unfused>::count == 3);

using namespace ctnn::expr;
inline constexpr auto swish = x * sigmoid(x);
inline constexpr auto dswish = sigmoid(x) * (1.0f + x * (1.0f - sigmoid(x)));
using Swish = Custom<swish, dswish>;
using WithSwish = Net<Input<19>, Dense<33>, Swish, Dense<17>, Swish, Dense<4>>;
// A user expression fuses into the Dense epilogue like a built-in activation.
static_assert(FusionPlan<WithSwish>::count == 3 && FusionPlan<WithSwish>::length[0] == 2);
static_assert(kernel::simd::vector_activation<Swish>::supported);
// A chain of element-wise activations behind a Dense fuses into one epilogue.
using Chained = Net<Input<13>, Dense<21>, Tanh, Sigmoid, Dense<17>, ReLU, Swish, GELU, Dense<5>, Softmax>;
static_assert(FusionPlan<Chained>::count == 4 && FusionPlan<Chained>::length[0] == 3 &&
              FusionPlan<Chained>::length[1] == 4 && FusionPlan<Chained>::first[2] == 7);
static_assert(std::is_same_v<detail::node_activation<Chained, 0>, kernel::simd::Chain<Tanh, Sigmoid>>);
// What the plan says of each node: op, epilogue, parameter slice, saved activations.
using PM = FusionPlan<Mlp>;
static_assert(PM::dense_node<1> && std::is_same_v<PM::head<1>, Mlp::layer<2>> && std::is_same_v<PM::activation<1>, ReLU>);
static_assert(std::is_same_v<PM::activation<2>, Identity>);
static_assert(PM::param_begin[1] == 784 * 256 + 256 && PM::param_size[1] == 256 * 128 + 128 &&
              PM::param_begin[2] + PM::param_size[2] == Mlp::param_count);
static_assert(PM::output_slot[0] == Mlp::activation_offsets[1] && PM::output_slot[2] == Mlp::activation_offsets[4]);
static_assert(!PM::saves_pre_activation[0]);  // ReLU's derivative reads its output
using PE = FusionPlan<Every>;
static_assert(PE::saves_pre_activation[0] && !PE::saves_pre_activation[1] && !PE::saves_pre_activation[4]);
static_assert(!PE::dense_node<5> && PE::param_size[5] == 0);  // the Softmax
static_assert(FusionPlan<Chained>::saves_pre_activation[0]);   // a chain recomputes from z

std::vector<float> random(std::size_t n, std::uint64_t seed, float scale = 1.0f) {
  Rng rng(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = rng.uniform(scale);
  return v;
}

template <class N, std::size_t B>
void forward_matches() {
  auto net = std::make_unique<N>();
  net->init(init::XavierUniform{}, 3);
  const auto x = random(B * N::input_size, 4);
  auto ws = std::make_unique<Workspace<N, Batch<B>>>();
  std::vector<float> ys(B * N::output_size), yv(B * N::output_size);
  net->template forward<B, backend::scalar>(*ws, std::span<const float, B * N::input_size>(x.data(), x.size()),
                                            std::span<float, B * N::output_size>(ys.data(), ys.size()));
  net->template forward<B, Simd>(*ws, std::span<const float, B * N::input_size>(x.data(), x.size()),
                                 std::span<float, B * N::output_size>(yv.data(), yv.size()));
  for (std::size_t k = 0; k < ys.size(); ++k) ASSERT_NEAR(yv[k], ys[k], 1e-4 * (1 + std::abs(ys[k]))) << "B=" << B << " k=" << k;
  const auto y1 = net->template forward<Simd>(std::span<const float, N::input_size>(x.data(), N::input_size));
  for (std::size_t j = 0; j < N::output_size; ++j) ASSERT_NEAR(y1[j], ys[j], 1e-4 * (1 + std::abs(ys[j])));
}

template <class N, class L, class O, std::size_t B, class T>
std::vector<float> one_step_gradients(const std::vector<float>& x, const std::vector<T>& t, bool simd) {
  auto net = std::make_unique<N>();
  net->init(init::XavierUniform{}, 8);
  std::vector<float> g;
  if (simd) {
    Trainer<N, L, O, Batch<B>, Simd> tr{*net};
    tr.step(x, t);
    g.assign(tr.gradients().begin(), tr.gradients().end());
  } else {
    Trainer<N, L, O, Batch<B>, backend::scalar> tr{*net};
    tr.step(x, t);
    g.assign(tr.gradients().begin(), tr.gradients().end());
  }
  return g;
}

template <class N, std::size_t B>
void gradients_match() {
  const auto x = random(B * N::input_size, 11);
  std::vector<int> labels(B);
  for (std::size_t s = 0; s < B; ++s) labels[s] = static_cast<int>((s * 7) % N::output_size);
  const auto gs = one_step_gradients<N, loss::SoftmaxCrossEntropy, optim::SGD, B>(x, labels, false);
  const auto gv = one_step_gradients<N, loss::SoftmaxCrossEntropy, optim::SGD, B>(x, labels, true);
  double gmax = 0;
  for (float g : gs) gmax = std::max(gmax, static_cast<double>(std::abs(g)));
  ASSERT_GT(gmax, 0.0);
  for (std::size_t k = 0; k < gs.size(); ++k) ASSERT_NEAR(gv[k], gs[k], 1e-4 * gmax) << "B=" << B << " param " << k;
}
}  // namespace

TEST(SimdNetwork, ForwardMatchesScalar) {
  forward_matches<Mlp, 1>();
  forward_matches<Mlp, 3>();
  forward_matches<Mlp, 64>();
  forward_matches<W1, 1>();
  forward_matches<W1, 257>();
  forward_matches<Every, 1>();
  forward_matches<Every, 17>();
  forward_matches<Unfused, 5>();
  forward_matches<WithSwish, 1>();
  forward_matches<WithSwish, 33>();
  forward_matches<Chained, 1>();
  forward_matches<Chained, 19>();
}

TEST(SimdNetwork, TrainerGradientsMatchScalar) {
  gradients_match<Mlp, 64>();
  gradients_match<Mlp, 3>();
  gradients_match<W1, 1>();
  gradients_match<W1, 33>();
  gradients_match<WithSwish, 7>();
  gradients_match<Net<Input<13>, Dense<21>, Tanh, Sigmoid, Dense<17>, ReLU, Swish, GELU, Dense<5>>, 9>();
  gradients_match<Net<Input<17>, Dense<33>, GELU, Dense<31>, Tanh, Dense<7>, Sigmoid, Dense<16>, LeakyReLU, Dense<3>>, 5>();
}

// Finite differences straight on the SIMD float path: smooth activations, h = 1e-2,
// central differences; agreement within 2% of the largest gradient (float rounding
// in the loss, ~1e-7 / h, and O(h²) truncation, bound it well below that).
TEST(SimdNetwork, GradientCheckOnSimdBackend) {
  using N = Net<Input<5>, Dense<7>, Tanh, Dense<6>, GELU, Dense<4>, Sigmoid, Dense<3>>;
  constexpr std::size_t B = 3;
  const auto x = random(B * 5, 21);
  const std::vector<int> labels{0, 2, 1};
  auto net = std::make_unique<N>();
  net->init(init::XavierUniform{}, 5);
  Trainer<N, loss::SoftmaxCrossEntropy, optim::SGD, Batch<B>, Simd> tr{*net, {.lr = 0.0f}};
  tr.step(x, labels);  // lr 0: parameters unchanged, gradients kept
  const std::vector<float> g(tr.gradients().begin(), tr.gradients().end());
  double gmax = 0;
  for (float v : g) gmax = std::max(gmax, static_cast<double>(std::abs(v)));
  auto loss_at = [&](std::size_t k, float delta) {
    auto copy = std::make_unique<N>(*net);
    copy->params()[k] += delta;
    Trainer<N, loss::SoftmaxCrossEntropy, optim::SGD, Batch<B>, Simd> t2{*copy, {.lr = 0.0f}};
    return static_cast<double>(t2.step(x, labels));
  };
  const float h = 1e-2f;
  for (std::size_t k = 0; k < N::param_count; ++k) {
    const double numeric = (loss_at(k, h) - loss_at(k, -h)) / (2.0 * h);
    ASSERT_NEAR(g[k], numeric, 0.02 * gmax) << "param " << k;
  }
}

TEST(SimdNetwork, TrainsLikeScalar) {
  // A smooth 3-class problem; the two backends follow nearly the same trajectory.
  constexpr std::size_t n = 512, B = 32;
  using C = Net<Input<4>, Dense<32>, Tanh, Dense<32>, ReLU, Dense<3>>;
  Rng rng(2);
  std::vector<float> x(n * 4);
  std::vector<int> y(n);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t k = 0; k < 4; ++k) x[i * 4 + k] = rng.uniform(1.0f);
    const float s = x[i * 4] * x[i * 4 + 1] + 0.5f * x[i * 4 + 2] - x[i * 4 + 3] * x[i * 4 + 3];
    y[i] = s < -0.15f ? 0 : (s < 0.15f ? 1 : 2);
  }
  auto run = [&](auto be) {
    auto net = std::make_unique<C>();
    net->init(init::HeUniform{}, 1);
    Trainer<C, loss::SoftmaxCrossEntropy, optim::Adam, Batch<B>, decltype(be)> tr{*net, {.lr = 0.01f}};
    for (int e = 0; e < 40; ++e)
      for (std::size_t b = 0; b < n / B; ++b)
        tr.step(std::span<const float>(x).subspan(b * B * 4, B * 4), std::span<const int>(y).subspan(b * B, B));
    return accuracy(*net, std::span<const float>(x), std::span<const int>(y));
  };
  const double acc_scalar = run(backend::scalar{});
  const double acc_simd = run(Simd{});
  EXPECT_GT(acc_scalar, 0.9);
  EXPECT_NEAR(acc_simd, acc_scalar, 0.02);
}
