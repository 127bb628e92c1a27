// The benchmark bodies shared by ctnn_bench's translation units: batch-1 and batched
// inference and one training step (SGD) of any network on any backend.
#pragma once
#include <benchmark/benchmark.h>
#include <pthread.h>

#include <memory>
#include <type_traits>
#include <vector>

#include "workloads.hpp"

namespace bench {
/// Restores the calling thread's CPU affinity at the end of its scope: the probes that pin
/// themselves to a core leave the benchmark runner's thread as they found it.
class KeptAffinity {
 public:
  KeptAffinity() noexcept { pthread_getaffinity_np(pthread_self(), sizeof(saved_), &saved_); }
  ~KeptAffinity() { pthread_setaffinity_np(pthread_self(), sizeof(saved_), &saved_); }
  KeptAffinity(const KeptAffinity&) = delete;
  KeptAffinity& operator=(const KeptAffinity&) = delete;

 private:
  cpu_set_t saved_;
};

inline void flops(benchmark::State& state, double per_iteration) {
  state.counters["FLOP/s"] = benchmark::Counter(per_iteration, benchmark::Counter::kIsIterationInvariantRate);
}

template <class N, class Be>
void forward_b1(benchmark::State& state) {
  auto net = std::make_unique<N>();
  net->init(1);
  const auto x = random_inputs(N::input_size);
  for (auto _ : state) {
    auto y = net->template forward<Be>(std::span<const float, N::input_size>(x.data(), N::input_size));
    benchmark::DoNotOptimize(y);
  }
  flops(state, static_cast<double>(N::flops_forward));
}

/// Batch-1 inference through a predictor made from the network: `Predictor<N, Be>` (weights
/// packed for the batch-1 kernels), `BF16Predictor<N>` or `Int8Predictor<N>`.
template <class N, class Pred>
void predict_b1(benchmark::State& state) {
  auto net = std::make_unique<N>();
  net->init(1);
  const auto pred = std::make_unique<Pred>(*net);
  const auto x = random_inputs(N::input_size);
  for (auto _ : state) {
    auto y = pred->forward(std::span<const float, N::input_size>(x.data(), N::input_size));
    benchmark::DoNotOptimize(y);
  }
  flops(state, static_cast<double>(N::flops_forward));
}

template <class N, std::size_t B, class Be>
void forward_batch(benchmark::State& state) {
  auto net = std::make_unique<N>();
  net->init(1);
  auto ws = std::make_unique<Workspace<N, Batch<B>>>();
  const auto x = random_inputs(B * N::input_size);
  std::vector<float> y(B * N::output_size);
  for (auto _ : state) {
    net->template forward<B, Be>(*ws, std::span<const float, B * N::input_size>(x.data(), x.size()),
                                 std::span<float, B * N::output_size>(y.data(), y.size()));
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  flops(state, static_cast<double>(N::flops_forward * B));
}

/// The arithmetic of one training step at batch B, counted as done: the forward pass, each
/// trainable layer's weight gradient (as many FLOPs as its forward), and the input gradient of
/// every trainable layer but the lowest one (whose input gradient no one needs, so the trainer
/// never computes it; the layers below it are not differentiated at all).
template <class N, std::size_t B>
constexpr double training_flops() {
  double forward = 0.0, lowest_trainable = 0.0;
  bool seen = false;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (
        [&] {
          using Lay = typename N::template layer<I>;
          forward += static_cast<double>(Lay::flops);
          if constexpr (Lay::trainable) {
            if (!seen) lowest_trainable = static_cast<double>(Lay::flops);
            seen = true;
          }
        }(),
        ...);
  }(std::make_index_sequence<N::layer_count>{});
  return static_cast<double>(B) * (3.0 * forward - lowest_trainable);
}
static_assert(training_flops<W2, 64>() == 64.0 * (3.0 * W2::flops_forward - (2.0 * 784 * 256 + 256)));

template <class N, class L, std::size_t B, class Be>
void train_step(benchmark::State& state) {
  auto net = std::make_unique<N>();
  net->init(1);
  Trainer<N, L, optim::SGD, Batch<B>, Be> trainer{*net, {.lr = 1e-4f}};
  const auto x = random_inputs(B * N::input_size);
  if constexpr (std::is_same_v<L, loss::MSE>) {
    const auto t = random_inputs(B * N::output_size, 2);
    for (auto _ : state) benchmark::DoNotOptimize(trainer.step(x, t));
  } else {
    std::vector<int> labels(B);
    for (std::size_t k = 0; k < B; ++k) labels[k] = static_cast<int>(k % N::output_size);
    for (auto _ : state) benchmark::DoNotOptimize(trainer.step(x, labels));
  }
  flops(state, training_flops<N, B>());
}

}  // namespace bench
