// Reference (scalar) backend on the standard workloads; the fast backends and the peers
// are measured against these figures in the same binary.
#include <benchmark/benchmark.h>

#include <ctnn/ctnn.hpp>
#include <memory>
#include <vector>

using namespace ctnn;

namespace {
using W1 = Net<Input<16>, Dense<64>, Tanh, Dense<64>, Tanh, Dense<16>>;
using W2 = Net<Input<784>, Dense<256>, ReLU, Dense<128>, ReLU, Dense<10>>;

template <class N>
std::vector<float> inputs(std::size_t n) {
  std::vector<float> x(n * N::input_size);
  Rng rng(1);
  for (auto& v : x) v = rng.uniform();
  return x;
}

template <class N>
void forward_batch1(benchmark::State& state) {
  auto net = std::make_unique<N>();
  net->init(1);
  const auto x = inputs<N>(1);
  for (auto _ : state) {
    auto y = net->forward(std::span<const float, N::input_size>(x.data(), N::input_size));
    benchmark::DoNotOptimize(y);
  }
  state.counters["FLOP/s"] = benchmark::Counter(static_cast<double>(N::flops_forward),
                                                benchmark::Counter::kIsIterationInvariantRate);
}

template <class N, std::size_t B>
void train_step(benchmark::State& state) {
  auto net = std::make_unique<N>();
  net->init(1);
  Trainer<N, loss::SoftmaxCrossEntropy, optim::SGD, Batch<B>> trainer{*net, {.lr = 0.01f}};
  const auto x = inputs<N>(B);
  std::vector<int> labels(B);
  for (std::size_t k = 0; k < B; ++k) labels[k] = static_cast<int>(k % N::output_size);
  for (auto _ : state) benchmark::DoNotOptimize(trainer.step(x, labels));
  // forward + backward ≈ 3× the forward FLOPs
  state.counters["FLOP/s"] = benchmark::Counter(3.0 * static_cast<double>(N::flops_forward * B),
                                                benchmark::Counter::kIsIterationInvariantRate);
}
}  // namespace

BENCHMARK(forward_batch1<W1>)->Name("W1/forward_b1/scalar");
BENCHMARK(forward_batch1<W2>)->Name("W2/forward_b1/scalar");
BENCHMARK(train_step<W2, 64>)->Name("W4/train_step_b64/scalar");
