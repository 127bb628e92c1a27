// Sequence layers against hand-written oracles and across executors: the shapes and footprints
// they declare, GRU/LSTM/Conv1D/LayerNorm against direct formulas on odd sizes, the SIMD
// backend against the scalar one (forward and gradients), and training with Trainer and
// DataParallel.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <ctnn/ctnn.hpp>
#include <ctnn/parallel/data_parallel.hpp>
#include <memory>
#include <vector>

#include "seeded_net.hpp"

using namespace ctnn;

namespace {
using ctnn_test::seeded;
std::vector<float> wave(std::size_t n, float f) {
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = std::sin(f * static_cast<float>(i)) + 0.3f * std::cos(2.1f * f * static_cast<float>(i));
  return v;
}
double sig(double x) { return 1 / (1 + std::exp(-x)); }
}  // namespace

TEST(Sequence, ShapesAndFootprints) {
  using N = Net<Input<17, 3>, Conv1D<5, 3, 2>, GRU<7>, LSTM<4, Returns::last>, LayerNorm, Dense<2>>;
  static_assert(std::is_same_v<N::layer<0>::output_shape, Shape<17, 5>>);
  static_assert(std::is_same_v<N::layer<1>::output_shape, Shape<17, 7>>);
  static_assert(std::is_same_v<N::output_shape_t, Shape<2>>);
  // Conv1D: K·C·Out + Out; GRU: 3H(F + H + 2); LSTM: 4H(F + H + 2); LayerNorm 2F.
  static_assert(N::param_sizes[0] == 3 * 3 * 5 + 5);
  static_assert(N::param_sizes[1] == 3 * 7 * (5 + 7 + 2));
  static_assert(N::param_sizes[2] == 4 * 4 * (7 + 4 + 2));
  static_assert(N::param_sizes[3] == 8);
  // Training keeps each recurrent step's aux values and state (GRU 4H + H, LSTM 4H + 2H) and
  // the initial state, and Conv1D the (K-1)·D rows before the window; truncated BPTT carries
  // the state (GRU H, LSTM 2H) and those rows (4 of 3 channels).
  static_assert(N::saved_sizes[1] == 17 * 5 * 7 + 7 && N::saved_sizes[2] == 17 * 6 * 4 + 8 && N::saved_sizes[0] == 12);
  static_assert(N::activation_count == 17 * 5 + 17 * 7 + 4 + 4 + 2 + 12 + (17 * 5 * 7 + 7) + (17 * 6 * 4 + 8));
  static_assert(N::carry_sizes[0] == 12 && N::carry_sizes[1] == 7 && N::carry_sizes[2] == 8 && N::carry_count == 27 &&
                N::carry_offsets[2] == 19);
  EXPECT_EQ(net_name<N>(), "ctnn::Net<ctnn::Input<17, 3>, ctnn::Conv1D<5, 3, 2>, ctnn::GRU<7>, ctnn::LSTM<4, "
                           "ctnn::Returns::last>, ctnn::LayerNorm, ctnn::Dense<2>>");
}

// The GRU written out from PyTorch's equations, per step, in double.
TEST(Sequence, GruMatchesEquations) {
  constexpr std::size_t T = 9, F = 3, H = 5;
  using N = Net<Input<T, F>, GRU<H>>;
  auto net = seeded<N>(3);
  const auto x = wave(T * F, 0.37f);
  const auto y = net->forward(std::span<const float, N::input_size>(x.data(), N::input_size));
  const float* p = net->params().data();
  const std::size_t G = 3 * H, wh = F * G, bx = wh + H * G, bh = bx + G;
  std::vector<double> h(H, 0.0);
  for (std::size_t t = 0; t < T; ++t) {
    std::vector<double> a(G), b(G);
    for (std::size_t j = 0; j < G; ++j) {
      a[j] = p[bx + j];
      b[j] = p[bh + j];
      for (std::size_t k = 0; k < F; ++k) a[j] += x[t * F + k] * p[k * G + j];
      for (std::size_t k = 0; k < H; ++k) b[j] += h[k] * p[wh + k * G + j];
    }
    std::vector<double> hn(H);
    for (std::size_t j = 0; j < H; ++j) {
      const double r = sig(a[j] + b[j]), z = sig(a[H + j] + b[H + j]);
      const double n = std::tanh(a[2 * H + j] + r * b[2 * H + j]);
      hn[j] = (1 - z) * n + z * h[j];
      EXPECT_NEAR(y[t * H + j], hn[j], 1e-5) << "t=" << t << " j=" << j;
    }
    h = hn;
  }
}

TEST(Sequence, LstmMatchesEquations) {
  constexpr std::size_t T = 7, F = 2, H = 3;
  using N = Net<Input<T, F>, LSTM<H, Returns::last>>;
  auto net = seeded<N>(5);
  const auto x = wave(T * F, 0.53f);
  const auto y = net->forward(std::span<const float, N::input_size>(x.data(), N::input_size));
  const float* p = net->params().data();
  const std::size_t G = 4 * H, wh = F * G, bx = wh + H * G, bh = bx + G;
  std::vector<double> h(H, 0.0), c(H, 0.0);
  for (std::size_t t = 0; t < T; ++t) {
    std::vector<double> a(G);
    for (std::size_t j = 0; j < G; ++j) {
      a[j] = p[bx + j] + p[bh + j];
      for (std::size_t k = 0; k < F; ++k) a[j] += x[t * F + k] * p[k * G + j];
      for (std::size_t k = 0; k < H; ++k) a[j] += h[k] * p[wh + k * G + j];
    }
    for (std::size_t j = 0; j < H; ++j) {
      c[j] = sig(a[H + j]) * c[j] + sig(a[j]) * std::tanh(a[2 * H + j]);
      h[j] = sig(a[3 * H + j]) * std::tanh(c[j]);
    }
  }
  for (std::size_t j = 0; j < H; ++j) EXPECT_NEAR(y[j], h[j], 1e-5);
}

TEST(Sequence, Conv1DAndLayerNormMatchFormulas) {
  constexpr std::size_t T = 11, C = 3, O = 4, K = 3, D = 3;
  using N = Net<Input<T, C>, Conv1D<O, K, D>, LayerNorm>;
  auto net = seeded<N>(7);
  const auto x = wave(T * C, 0.71f);
  const auto y = net->forward(std::span<const float, N::input_size>(x.data(), N::input_size));
  const float* w = net->params().data();
  const float* ln = w + N::param_offsets[1];
  for (std::size_t t = 0; t < T; ++t) {
    std::vector<double> z(O);
    for (std::size_t o = 0; o < O; ++o) {
      z[o] = w[K * C * O + o];
      for (std::size_t k = 0; k < K; ++k) {
        const long src = static_cast<long>(t) - static_cast<long>((K - 1 - k) * D);
        if (src < 0) continue;
        for (std::size_t c = 0; c < C; ++c) z[o] += x[src * C + c] * w[(k * C + c) * O + o];
      }
    }
    double mean = 0, var = 0;
    for (double v : z) mean += v / O;
    for (double v : z) var += (v - mean) * (v - mean) / O;
    for (std::size_t o = 0; o < O; ++o)
      EXPECT_NEAR(y[t * O + o], (z[o] - mean) / std::sqrt(var + 1e-5) * ln[o] + ln[O + o], 1e-4) << t << "," << o;
  }
}

// The SIMD backend (fused per-step Dense, vector activations) against the scalar reference.
template <class N, std::size_t B>
void simd_matches_scalar() {
  auto net = seeded<N>(11);
  const auto x = wave(B * N::input_size, 0.29f);
  std::vector<float> t(B * N::output_size, 0.25f);
  auto copy = std::make_unique<N>(*net);
  Trainer<N, loss::MSE, optim::SGD, Batch<B>, backend::scalar> ref(*net, {.lr = 0.0f});
  Trainer<N, loss::MSE, optim::SGD, Batch<B>> fast(*copy, {.lr = 0.0f});
  const float l0 = ref.step(x, t), l1 = fast.step(x, t);
  EXPECT_NEAR(l0, l1, 1e-5f * std::max(1.0f, std::abs(l0)));
  for (std::size_t k = 0; k < N::output_size * B; ++k) ASSERT_NEAR(ref.outputs()[k], fast.outputs()[k], 1e-5f) << k;
  float gmax = 0;
  for (float g : ref.gradients()) gmax = std::max(gmax, std::abs(g));
  for (std::size_t k = 0; k < N::param_count; ++k)
    ASSERT_NEAR(ref.gradients()[k], fast.gradients()[k], 1e-4f * std::max(1.0f, gmax)) << "parameter " << k;
}

TEST(Sequence, SimdMatchesScalarOnOddShapes) {
  simd_matches_scalar<Net<Input<100>, Dense<33>, Residual<Dense<17>, ReLU, Dense<33>>, Tanh, Dense<3>>, 3>();
  simd_matches_scalar<Net<Input<17, 2>, Conv1D<3, 2>, Residual<LayerNorm, Dense<33>, GELU, Dense<3>>, GRU<5>, Dense<1>>, 2>();
  simd_matches_scalar<Net<Input<17, 3>, Dense<33>, Tanh, GRU<17>, Dense<1>>, 3>();
  simd_matches_scalar<Net<Input<1, 1>, LSTM<1>, Dense<3>, ReLU, Dense<1>>, 1>();
  simd_matches_scalar<Net<Input<33, 2>, Conv1D<17, 3, 2>, GELU, LayerNorm, LSTM<3, Returns::last>, Dense<100>, Dense<2>>,
                      5>();
}

// The recurrent step's row product (registers of every width, two partial sums) against the
// reference dense kernel on odd sizes.
template <std::size_t M, std::size_t N>
void row_times_matches_reference() {
  const auto x = wave(M, 0.7f), W = wave(M * N, 0.13f), b = wave(N, 0.41f);
  std::vector<float> fast(N), ref(N);
  kernel::simd::row_times<M, N>(default_backend{}, x.data(), W.data(), b.data(), fast.data());
  kernel::dense_forward<M, N, 1>(backend::scalar{}, W.data(), b.data(), x.data(), ref.data());
  for (std::size_t j = 0; j < N; ++j) ASSERT_NEAR(fast[j], ref[j], 1e-5f * (1.0f + std::abs(ref[j]))) << M << "x" << N;
}

TEST(Sequence, RowTimesMatchesTheReferenceKernel) {
  if constexpr (SimdBackend<default_backend>) {
    row_times_matches_reference<1, 1>();
    row_times_matches_reference<3, 17>();
    row_times_matches_reference<17, 3>();
    row_times_matches_reference<33, 100>();
    row_times_matches_reference<100, 33>();
    row_times_matches_reference<16, 48>();
    row_times_matches_reference<64, 256>();
    row_times_matches_reference<2, 500>();  // more registers than a group holds
  } else {
    GTEST_SKIP() << "no SIMD backend in this build";
  }
}

// Learning a task that needs memory: output the input of 3 steps earlier.
TEST(Sequence, TrainerLearnsADelayLine) {
  constexpr std::size_t T = 12, B = 16;
  using N = Net<Input<T, 1>, GRU<8>, Dense<1>>;
  auto net = seeded<N>(2);
  Trainer<N, loss::MSE, optim::Adam, Batch<B>> tr(*net, {.lr = 0.02f});
  Rng rng(9);
  float first = 0, last = 0;
  for (int s = 0; s < 400; ++s) {
    std::vector<float> x(B * T), y(B * T, 0.0f);
    for (auto& v : x) v = rng.uniform(1.0f);
    for (std::size_t b = 0; b < B; ++b)
      for (std::size_t t = 3; t < T; ++t) y[b * T + t] = x[b * T + t - 3];
    const float l = tr.step(x, y);
    if (s == 0) first = l;
    last = l;
  }
  EXPECT_LT(last, 0.1f * first) << "first " << first << " last " << last;
}

// DataParallel over sequences gives the Trainer's update (the same mean gradient).
TEST(Sequence, DataParallelMatchesTrainer) {
  using N = Net<Input<10, 2>, Conv1D<4, 2>, Tanh, LSTM<5>, Dense<1>>;
  constexpr std::size_t B = 8;
  auto a = seeded<N>(4);
  auto b = std::make_unique<N>(*a);
  using T = Trainer<N, loss::MSE, optim::SGD, Batch<B>>;
  T one(*a, {.lr = 0.1f});
  DataParallel<T, Threads<2>> two(*b, {.lr = 0.1f});
  const auto x = wave(B * N::input_size, 0.43f);
  const auto y = wave(B * N::output_size, 0.91f);
  for (int s = 0; s < 3; ++s) EXPECT_NEAR(one.step(x, y), two.step(x, y), 1e-5f);
  for (std::size_t k = 0; k < N::param_count; ++k) ASSERT_NEAR(a->params()[k], b->params()[k], 1e-5f) << k;
}

// Truncated BPTT: consecutive windows with carry_state(true) continue each stream; the outputs
// equal a whole-sequence forward over the concatenated windows, and the gradient is that of
// the window's loss with its starting state held fixed.
template <std::size_t T, template <std::size_t> class Layers>
void truncated_bptt_case() {
  constexpr std::size_t B = 3, W = 4;  // 4 windows of T steps per stream
  using Window = Layers<T>;
  using Whole = Layers<W * T>;
  static_assert(Window::param_count == Whole::param_count);
  auto net = seeded<Window>(6);
  auto whole = std::make_unique<Whole>();
  std::copy(net->params().begin(), net->params().end(), whole->params().begin());
  const auto streams = wave(B * W * T * 2, 0.23f);  // stream b: W·T steps of 2 features
  Trainer<Window, loss::MSE, optim::SGD, Batch<B>> tr(*net, {.lr = 0.0f});
  tr.carry_state(true);
  std::vector<float> x(B * T * 2), y(B * T, 0.1f);
  for (std::size_t w = 0; w < W; ++w) {
    for (std::size_t b = 0; b < B; ++b)
      std::copy_n(streams.begin() + static_cast<std::ptrdiff_t>((b * W * T + w * T) * 2), T * 2,
                  x.begin() + static_cast<std::ptrdiff_t>(b * T * 2));
    tr.step(x, y);
    for (std::size_t b = 0; b < B; ++b) {
      const auto full = whole->forward(std::span<const float, Whole::input_size>(streams.data() + b * W * T * 2, Whole::input_size));
      for (std::size_t t = 0; t < T; ++t)
        ASSERT_NEAR(tr.outputs()[b * T + t], full[w * T + t], 2e-6f) << "window " << w << " stream " << b << " step " << t;
    }
  }
  // The gradient of one more window against central differences with the carried state fixed.
  const std::vector<float> carried(tr.carried_state().begin(), tr.carried_state().end());
  auto loss_at = [&](std::vector<float>& grads) {
    std::copy(carried.begin(), carried.end(), tr.carried_state().begin());
    const float l = tr.compute_gradients(x, y);
    grads.assign(tr.gradient_block().begin(), tr.gradient_block().end());
    return l;
  };
  std::vector<float> g, unused;
  loss_at(g);
  float gmax = 0;
  for (float v : g) gmax = std::max(gmax, std::abs(v));
  EXPECT_GT(gmax, 1e-3f);
  const float h = 1e-2f;
  for (std::size_t k = 0; k < Window::param_count; ++k) {
    float& p = net->params()[k];
    const float keep = p;
    p = keep + h;
    const float lp = loss_at(unused);
    p = keep - h;
    const float lm = loss_at(unused);
    p = keep;
    const float numeric = (lp - lm) / (2 * h);
    ASSERT_NEAR(g[k], numeric, 5e-4f + 1e-2f * std::abs(numeric)) << "parameter " << k;
  }
  // A failing step leaves the carried state as it was; reset_state starts new streams.
  std::copy(carried.begin(), carried.end(), tr.carried_state().begin());
  x[5] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THROW(tr.step(x, y), Error);
  for (std::size_t k = 0; k < carried.size(); ++k) ASSERT_EQ(tr.carried_state()[k], carried[k]);
  tr.reset_state();
  for (float v : tr.carried_state()) ASSERT_EQ(v, 0.0f);
}

template <std::size_t T>
using Recurrent = Net<Input<T, 2>, LSTM<4>, GRU<3>, Dense<1>>;
template <std::size_t T>
using Convolutional = Net<Input<T, 2>, Conv1D<3, 3, 2>, Tanh, Residual<Conv1D<3, 2, 1>, Tanh>, GRU<3>, Dense<1>>;
template <std::size_t T>
using Dilated = Net<Input<T, 2>, Conv1D<2, 3, 3>, Dense<1>>;  // reaches 6 steps back: more than a window of 3

TEST(Sequence, TruncatedBpttContinuesTheStreams) {
  truncated_bptt_case<6, Recurrent>();
  truncated_bptt_case<5, Convolutional>();
  truncated_bptt_case<3, Dilated>();
}

// DataParallel's truncated BPTT continues the streams as Trainer's does.
TEST(Sequence, DataParallelTruncatedBpttMatchesTrainer) {
  constexpr std::size_t T = 5, B = 4;
  using N = Net<Input<T, 1>, GRU<6>, Dense<1>>;
  auto a = seeded<N>(12);
  auto b = std::make_unique<N>(*a);
  using Tr = Trainer<N, loss::MSE, optim::Adam, Batch<B>>;
  Tr one(*a, {.lr = 0.01f});
  DataParallel<Tr, Threads<2>, Chunks<2>> two(*b, {.lr = 0.01f});
  one.carry_state(true);
  two.carry_state(true);
  const auto stream = wave(B * 4 * T, 0.37f);
  for (std::size_t w = 0; w < 4; ++w) {
    std::vector<float> x(B * T), y(B * T);
    for (std::size_t s = 0; s < B; ++s)
      for (std::size_t t = 0; t < T; ++t) {
        x[s * T + t] = stream[s * 4 * T + w * T + t];
        y[s * T + t] = 0.5f * x[s * T + t];
      }
    EXPECT_NEAR(one.step(x, y), two.step(x, y), 1e-5f) << "window " << w;
  }
  for (std::size_t k = 0; k < N::param_count; ++k) ASSERT_NEAR(a->params()[k], b->params()[k], 1e-5f) << k;
  // With two chunks of two samples, the per-chunk layout equals the Trainer's [layer][sample] (one layer carries).
  for (std::size_t k = 0; k < one.carried_state().size(); ++k)
    ASSERT_NEAR(one.carried_state()[k], two.carried_state()[k], 1e-5f) << k;
}

// Residual: inference (scratch buffers) gives what a training forward (saved store) gives, and
// the inner layers' parameters are the outer block's slice; names and shapes.
TEST(Sequence, ResidualInferenceMatchesTraining) {
  using N = Net<Input<9, 2>, Dense<6>, Residual<LayerNorm, GRU<6>, Dense<6>>, Residual<Conv1D<6, 3, 2>, Tanh>, Dense<1>>;
  static_assert(N::param_sizes[1] == 12 + 3 * 6 * (6 + 6 + 2) + 6 * 6 + 6);
  static_assert(std::is_same_v<N::layer<1>::output_shape, Shape<9, 6>>);
  EXPECT_EQ(net_name<N>(), "ctnn::Net<ctnn::Input<9, 2>, ctnn::Dense<6>, ctnn::Residual<ctnn::LayerNorm, ctnn::GRU<6>, "
                           "ctnn::Dense<6>>, ctnn::Residual<ctnn::Conv1D<6, 3, 2>, ctnn::Tanh>, ctnn::Dense<1>>");
  constexpr std::size_t B = 3;
  auto net = seeded<N>(13);
  const auto x = wave(B * N::input_size, 0.61f);
  std::vector<float> t(B * N::output_size, 0.0f);
  Trainer<N, loss::MSE, optim::SGD, Batch<B>> tr(*net, {.lr = 0.0f});
  tr.step(x, t);
  for (std::size_t b = 0; b < B; ++b) {
    const auto y = net->forward(std::span<const float, N::input_size>(x.data() + b * N::input_size, N::input_size));
    for (std::size_t k = 0; k < N::output_size; ++k) ASSERT_NEAR(y[k], tr.outputs()[b * N::output_size + k], 1e-5f);
    const auto ys = Predictor<N>(*net).forward(std::span<const float, N::input_size>(x.data() + b * N::input_size, N::input_size));
    for (std::size_t k = 0; k < N::output_size; ++k) ASSERT_NEAR(ys[k], y[k], 1e-5f);
  }
  // Truncated BPTT reaches the GRU inside the Residual.
  using R = Net<Input<4, 1>, Residual<GRU<1>>, Dense<1>>;
  static_assert(R::carry_count == 1);
}
