// W11: per-sample streaming latency of recurrent audio models (one input feature, a GRU or
// LSTM of H units, a Dense(1) output), one sample per call as in an audio callback.
//
//   W11/gru16/ctnn     ctnn::Stream<Net<Input<64, 1>, GRU<16>, Dense<1>>>::step
//   W11/gru16/eigen    the same cell written with Eigen's fixed-size matrices and its
//                      vectorised logistic and tanh, as a careful user would
//   W11/gru16/bound    the latency of the step's dependent chain on this machine: the
//                      recurrent product's dependent FMAs (⌈H/2⌉ + 1, two partial sums) at the
//                      measured FMA latency, plus the measured latency of the gate functions'
//                      chain (σ then tanh: a GRU's r then n, an LSTM's o (or i) then tanh(c))
//   W11/gru16/memory_bound  one pass over the model's parameters as a step reads them: past
//                      L1 (GRU-64's 52 KB, LSTM-64's 69 KB) the step cannot beat it
//
//   W12/train_step_b32/ctnn   one Adam step of examples/va_effect.cpp's model (GRU-16, Dense(1)) on 32
//                             windows of 96 samples: the training throughput (pytorch_peer.py times
//                             the same step with nn.GRU on one thread)
//
// The iteration time of W11 is the time per sample. The state carries from one sample to the next,
// so each step waits for the one before: latency, not throughput.
#include <benchmark/benchmark.h>

#include <Eigen/Dense>
#include <cmath>
#include <memory>
#include <utility>
#include <vector>

#include "workloads.hpp"

namespace {
using namespace ctnn;

std::vector<float> audio() {
  std::vector<float> x(4096);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = 0.6f * std::sin(0.0144f * static_cast<float>(i));
  return x;
}

template <template <std::size_t, Returns> class Cell, std::size_t H>
void ctnn_stream(benchmark::State& state) {
  using N = Net<Input<64, 1>, Cell<H, Returns::sequence>, Dense<1>>;
  auto net = make_unique_net<N>();
  net->init(1);
  auto s = std::make_unique<Stream<N>>(*net);
  const auto x = audio();
  std::size_t i = 0;
  float acc = 0;
  for (auto _ : state) acc += s->step(x[i++ & 4095]);
  benchmark::DoNotOptimize(acc);
}

template <int H>
struct EigenGru {
  using Vec = Eigen::Matrix<float, H, 1>;
  Eigen::Matrix<float, 3 * H, 1> wx = Eigen::Matrix<float, 3 * H, 1>::Random() * 0.25f;
  Eigen::Matrix<float, 3 * H, 1> bx = Eigen::Matrix<float, 3 * H, 1>::Random() * 0.25f;
  Eigen::Matrix<float, 3 * H, 1> bh = Eigen::Matrix<float, 3 * H, 1>::Random() * 0.25f;
  Eigen::Matrix<float, 3 * H, H> wh = Eigen::Matrix<float, 3 * H, H>::Random() * 0.25f;
  Vec wo = Vec::Random() * 0.25f, h = Vec::Zero();
  float bo = 0.1f;
  float step(float x) {
    const Eigen::Matrix<float, 3 * H, 1> gx = wx * x + bx, gh = wh * h + bh;
    const Vec r = (gx.template head<H>() + gh.template head<H>()).array().logistic();
    const Vec z = (gx.template segment<H>(H) + gh.template segment<H>(H)).array().logistic();
    const Vec n = (gx.template tail<H>().array() + r.array() * gh.template tail<H>().array()).tanh();
    h = ((1.0f - z.array()) * n.array() + z.array() * h.array()).matrix();
    return wo.dot(h) + bo;
  }
};

template <int H>
struct EigenLstm {
  using Vec = Eigen::Matrix<float, H, 1>;
  Eigen::Matrix<float, 4 * H, 1> wx = Eigen::Matrix<float, 4 * H, 1>::Random() * 0.25f;
  Eigen::Matrix<float, 4 * H, 1> b = Eigen::Matrix<float, 4 * H, 1>::Random() * 0.25f;  // bx + bh, summed once
  Eigen::Matrix<float, 4 * H, H> wh = Eigen::Matrix<float, 4 * H, H>::Random() * 0.25f;
  Vec wo = Vec::Random() * 0.25f, h = Vec::Zero(), c = Vec::Zero();
  float bo = 0.1f;
  float step(float x) {
    const Eigen::Matrix<float, 4 * H, 1> a = wx * x + wh * h + b;
    const Vec i = a.template head<H>().array().logistic();
    const Vec f = a.template segment<H>(H).array().logistic();
    const Vec g = a.template segment<H>(2 * H).array().tanh();
    const Vec o = a.template tail<H>().array().logistic();
    c = (f.array() * c.array() + i.array() * g.array()).matrix();
    h = (o.array() * c.array().tanh()).matrix();
    return wo.dot(h) + bo;
  }
};

template <class Model>
void eigen_stream(benchmark::State& state) {
  auto m = std::make_unique<Model>();
  const auto x = audio();
  std::size_t i = 0;
  float acc = 0;
  for (auto _ : state) acc += m->step(x[i++ & 4095]);
  benchmark::DoNotOptimize(acc);
}

// The latency bound: `fmas` dependent FMAs, then σ and tanh, per step, timed as one chain on
// a register of this backend.
template <std::size_t H>
void chain_bound(benchmark::State& state) {
  using V = kernel::simd::vec<default_backend>;
  using M = kernel::simd::gate_math;
  constexpr std::size_t fmas = (H + 1) / 2 + 1;
  V v(0.1f);
  const V a(0.999f), b(1e-4f);
  for (auto _ : state) {
    for (std::size_t k = 0; k < fmas; ++k) v = xsimd::fma(v, a, b);
    v = M::tanh(M::sigma(v));
    benchmark::DoNotOptimize(v);
  }
  state.counters["dependent_fmas"] = static_cast<double>(fmas);
}

// The memory bound: one pass over the model's parameters (the cell's and the output
// layer's), which a step reads once, from wherever they stay between steps (L1 while they
// fit, L2 past 48 KB), summed in 12 independent registers of this backend.
template <template <std::size_t, Returns> class Cell, std::size_t H>
void weights_bound(benchmark::State& state) {
  using N = Net<Input<64, 1>, Cell<H, Returns::sequence>, Dense<1>>;
  using V = kernel::simd::vec<default_backend>;
  constexpr std::size_t W = V::size, n = N::param_count / (12 * W) * (12 * W);
  auto net = make_unique_net<N>();
  net->init(1);
  const float* p = net->params().data();
  for (auto _ : state) {
    [&]<std::size_t... c>(std::index_sequence<c...>) {
      V acc[12] = {(static_cast<void>(c), V(0.0f))...};
      for (std::size_t i = 0; i < n; i += 12 * W) ((acc[c] += V::load_unaligned(p + i + c * W)), ...);
      benchmark::DoNotOptimize((acc[c] + ...));
    }(std::make_index_sequence<12>{});
  }
  state.counters["bytes"] = static_cast<double>(n * sizeof(float));
}

}  // namespace

void train_step_b32(benchmark::State& state) {
  using N = Net<Input<96, 1>, GRU<16>, Dense<1>>;
  constexpr std::size_t B = 32;
  auto net = make_unique_net<N>();
  net->init(1);
  Trainer<N, loss::MSE, optim::Adam, Batch<B>> trainer(*net, {.lr = 1e-3f});
  const auto x = bench::random_inputs(B * N::input_size, 3), y = bench::random_inputs(B * N::output_size, 4);
  for (auto _ : state) benchmark::DoNotOptimize(trainer.step(x, y));
  state.counters["windows/s"] = benchmark::Counter(double(B), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(train_step_b32)->Name("W12/train_step_b32/ctnn");

#define CTNN_W11_GRU(H)                                                                            \
  BENCHMARK(ctnn_stream<GRU, H>)->Name("W11/gru" #H "/ctnn");                                      \
  BENCHMARK(eigen_stream<EigenGru<H>>)->Name("W11/gru" #H "/eigen");                               \
  BENCHMARK(chain_bound<H>)->Name("W11/gru" #H "/bound");                                         \
  BENCHMARK(weights_bound<GRU, H>)->Name("W11/gru" #H "/memory_bound");
#define CTNN_W11_LSTM(H)                                                                           \
  BENCHMARK(ctnn_stream<LSTM, H>)->Name("W11/lstm" #H "/ctnn");                                    \
  BENCHMARK(eigen_stream<EigenLstm<H>>)->Name("W11/lstm" #H "/eigen");                             \
  BENCHMARK(chain_bound<H>)->Name("W11/lstm" #H "/bound");                                        \
  BENCHMARK(weights_bound<LSTM, H>)->Name("W11/lstm" #H "/memory_bound");

CTNN_W11_GRU(8)
CTNN_W11_GRU(16)
CTNN_W11_GRU(32)
CTNN_W11_GRU(64)
CTNN_W11_LSTM(16)
CTNN_W11_LSTM(32)
CTNN_W11_LSTM(40)
CTNN_W11_LSTM(64)
