// Streaming: Stream<Net> fed one step at a time equals the whole-sequence forward at every
// step (within 1e-6), restarts with reset(), runs past the training length, is noexcept, and
// allocates nothing (every global operator new is counted).
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <ctnn/ctnn.hpp>
#include <memory>
#include <new>
#include <vector>

#include "alloc_counter.hpp"

#include "seeded_net.hpp"

using namespace ctnn;

namespace {
using ctnn_test::seeded;

// Runs the whole sequence and the stream over the same input; returns the largest difference.
template <class N>
double stream_vs_sequence(std::uint64_t seed) {
  auto net = seeded<N>(seed);
  constexpr std::size_t T = N::input_shape_t::dims[0], F = Stream<N>::features, O = Stream<N>::outputs;
  std::vector<float> x(N::input_size);
  Rng rng(seed);
  for (auto& v : x) v = rng.uniform(1.0f);
  const auto whole = net->forward(std::span<const float, N::input_size>(x.data(), N::input_size));
  auto s = std::make_unique<Stream<N>>(*net);
  double worst = 0;
  for (int pass = 0; pass < 2; ++pass) {  // the second pass checks reset()
    s->reset();
    for (std::size_t t = 0; t < T; ++t) {
      std::array<float, O> y;
      s->step(std::span<const float, F>(x.data() + t * F, F), y);
      const bool every_step = N::output_shape_t::rank == 2;
      if (!every_step && t + 1 < T) continue;
      for (std::size_t j = 0; j < O; ++j)
        worst = std::max(worst, double(std::abs(y[j] - whole[(every_step ? t * O : 0) + j])));
    }
  }
  return worst;
}
}  // namespace

TEST(Stream, EqualsTheSequenceForward) {
  EXPECT_LE((stream_vs_sequence<Net<Input<64, 1>, GRU<16>, Dense<1>>>(1)), 1e-6);
  EXPECT_LE((stream_vs_sequence<Net<Input<33, 3>, LSTM<17>, Tanh, Dense<2>>>(2)), 1e-6);
  EXPECT_LE((stream_vs_sequence<Net<Input<40, 2>, Conv1D<5, 3, 4>, Tanh, Conv1D<3, 2, 8>, ReLU, Dense<1>>>(3)), 1e-6);
  EXPECT_LE((stream_vs_sequence<Net<Input<17, 4>, Dense<8>, LayerNorm, GELU, GRU<5>, LSTM<3>, Dense<1>>>(4)), 1e-6);
  // After a Returns::last layer the stream's output at step t is the forward of the first t steps.
  EXPECT_LE((stream_vs_sequence<Net<Input<23, 2>, LSTM<6, Returns::last>, Dense<4>, ReLU, Dense<3>>>(5)), 1e-6);
  EXPECT_LE((stream_vs_sequence<Net<Input<1, 1>, GRU<1>, Dense<1>>>(6)), 1e-6);
  // Residual branches, one holding a convolution's history and a GRU's state.
  EXPECT_LE((stream_vs_sequence<Net<Input<30, 2>, Dense<5>, Residual<Conv1D<5, 3, 2>, Tanh, GRU<5>>,
                                    Residual<LayerNorm, Dense<5>>, Dense<1>>>(7)),
            1e-6);
}

TEST(Stream, AllocatesNothingAndIsNoexcept) {
  using N = Net<Input<32, 1>, Conv1D<4, 3, 2>, Tanh, GRU<16>, LSTM<8>, Dense<1>>;
  auto net = seeded<N>(7);
  auto s = std::make_unique<Stream<N>>(*net);
  static_assert(noexcept(s->step(0.0f)));
  static_assert(noexcept(s->reset()));
  static_assert(Stream<N>::state_floats == ((3 - 1) * 2 + 1) * 1 + 1 + 16 + 2 * 8);  // Conv1D ring, GRU h, LSTM h and c
  const long before = g_news.load();
  float acc = 0;
  for (int t = 0; t < 10000; ++t) acc += s->step(std::sin(0.01f * static_cast<float>(t)));  // far past the training length
  s->reset();
  acc += s->step(0.5f);
  EXPECT_EQ(g_news.load() - before, 0);
  EXPECT_TRUE(std::isfinite(acc));
}

TEST(Stream, ResetRestartsAndStateCarries) {
  using N = Net<Input<8, 1>, GRU<4>, Dense<1>>;
  auto net = seeded<N>(8);
  Stream<N> s(*net);
  const float first = s.step(1.0f);
  const float second = s.step(1.0f);
  EXPECT_NE(first, second);  // the state carried from the first step
  s.reset();
  EXPECT_EQ(s.step(1.0f), first);
}
