// W7: a balanced 8-block MLP split into 2 pipeline stages on 2 cores, against the same
// network on one core: streaming inference (64 micro-batches) and a training step of
// 8 micro-batches (1F1B). Wall-clock time (real time), since the pipeline is two threads.
#include <ctnn/parallel/pipeline.hpp>

#include "bench_common.hpp"

using namespace bench;

namespace {
constexpr std::size_t b = 64, micro = 8, stream = 64;
using Plan2 = partition<W7, Devices<CpuCore<0>, CpuCore<1>>, Batch<b>>;
static_assert(Plan2::stage<0>::last_layer == 7, "W7 should split in the middle");

void infer_sequential(benchmark::State& state) {
  auto net = std::make_unique<W7>();
  net->init(1);
  auto ws = std::make_unique<Workspace<W7, Batch<b>>>();
  const auto x = random_inputs(stream * b * W7::input_size);
  std::vector<float> y(stream * b * W7::output_size);
  for (auto _ : state) {
    for (std::size_t k = 0; k < stream; ++k)
      net->forward<b>(*ws, std::span<const float, b * W7::input_size>(x.data() + k * b * W7::input_size, b * W7::input_size),
                      std::span<float, b * W7::output_size>(y.data() + k * b * W7::output_size, b * W7::output_size));
    benchmark::DoNotOptimize(y.data());
  }
  flops(state, double(W7::flops_forward * b * stream));
}

void infer_pipeline(benchmark::State& state) {
  auto net = std::make_unique<W7>();
  net->init(1);
  PipelineInference<Plan2> pipe(*net);
  const auto x = random_inputs(stream * b * W7::input_size);
  std::vector<float> y(stream * b * W7::output_size);
  for (auto _ : state) {
    pipe.run(x, y, stream);
    benchmark::DoNotOptimize(y.data());
  }
  flops(state, double(W7::flops_forward * b * stream));
  const auto st = pipe.stage_stats();
  state.counters["util0"] = st[0].utilisation;
  state.counters["util1"] = st[1].utilisation;
}

std::vector<int> labels(std::size_t n) {
  std::vector<int> t(n);
  for (std::size_t k = 0; k < n; ++k) t[k] = int(k % W7::output_size);
  return t;
}

void train_sequential(benchmark::State& state) {
  auto net = std::make_unique<W7>();
  net->init(1);
  Trainer<W7, loss::SoftmaxCrossEntropy, optim::SGD, Batch<b * micro>> trainer{*net, {.lr = 1e-4f}};
  const auto x = random_inputs(micro * b * W7::input_size);
  const auto t = labels(micro * b);
  for (auto _ : state) benchmark::DoNotOptimize(trainer.step(x, t));
  flops(state, 3.0 * double(W7::flops_forward * b * micro));
}

template <class PlanT>
void train_pipeline(benchmark::State& state) {
  auto net = std::make_unique<W7>();
  net->init(1);
  PipelineTrainer<PlanT, loss::SoftmaxCrossEntropy, optim::SGD, micro> trainer{*net, {.lr = 1e-4f}};
  const auto x = random_inputs(micro * b * W7::input_size);
  const auto t = labels(micro * b);
  for (auto _ : state) benchmark::DoNotOptimize(trainer.step(x, t));
  flops(state, 3.0 * double(W7::flops_forward * b * micro));
  const auto st = trainer.stage_stats();
  for (std::size_t s = 0; s < PlanT::stage_count; ++s) state.counters["util" + std::to_string(s)] = st[s].utilisation;
}
using Plan1 = partition<W7, Devices<CpuCore<0>>, Batch<b>>;
}  // namespace

BENCHMARK(infer_pipeline)->Name("W7/infer_stream_b64x64/ctnn")->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(infer_sequential)->Name("W7/infer_stream_b64x64/one_core")->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(train_pipeline<Plan2>)->Name("W7/train_step_m8_b64/ctnn")->UseRealTime()->Unit(benchmark::kMillisecond);
// The same 8 micro-batches through a one-stage pipeline: the cost of micro-batching alone.
BENCHMARK(train_pipeline<Plan1>)->Name("W7/train_step_m8_b64/one_stage")->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(train_sequential)->Name("W7/train_step_m8_b64/one_core")->UseRealTime()->Unit(benchmark::kMillisecond);

// W6: the Fashion-MNIST MLP's training step (batch 64) data-parallel over 1 and 2 threads.
#include <ctnn/parallel/data_parallel.hpp>
namespace {
template <std::size_t T>
void train_threads(benchmark::State& state) {
  auto net = std::make_unique<W2>();
  net->init(1);
  DataParallel<Trainer<W2, loss::SoftmaxCrossEntropy, optim::SGD, Batch<64>>, Threads<T>> dp{*net, {.lr = 1e-4f}};
  const auto x = random_inputs(64 * W2::input_size);
  std::vector<int> t(64);
  for (std::size_t k = 0; k < 64; ++k) t[k] = int(k % 10);
  for (auto _ : state) benchmark::DoNotOptimize(dp.step(x, t));
  flops(state, 3.0 * double(W2::flops_forward * 64));
}
}  // namespace
// The floor under W6's speed-up on this machine: the one-thread step timed on core C while
// an identical one (its own network, no data shared) runs on the other core. Two cores of a
// shared host are not always alike, nor unaffected by each other's memory traffic; a step
// split evenly over both ends when the slower half does, so it cannot take less than half
// the slower of these two figures.
#include <pthread.h>

#include <atomic>
#include <thread>
namespace {
template <std::size_t core>
void train_beside_another(benchmark::State& state) {
  const bench::KeptAffinity kept;
  std::atomic<bool> stop{false};
  const auto x = random_inputs(64 * W2::input_size);
  std::vector<int> t(64);
  for (std::size_t k = 0; k < 64; ++k) t[k] = int(k % 10);
  std::thread other([&] {
    pipeline_detail::pin_to_core(1 - core);
    auto net = std::make_unique<W2>();
    net->init(2);
    Trainer<W2, loss::SoftmaxCrossEntropy, optim::SGD, Batch<64>> tr{*net, {.lr = 1e-4f}};
    while (!stop.load(std::memory_order_relaxed)) benchmark::DoNotOptimize(tr.step(x, t));
  });
  pipeline_detail::pin_to_core(core);
  auto net = std::make_unique<W2>();
  net->init(1);
  Trainer<W2, loss::SoftmaxCrossEntropy, optim::SGD, Batch<64>> tr{*net, {.lr = 1e-4f}};
  for (auto _ : state) benchmark::DoNotOptimize(tr.step(x, t));
  stop = true;
  other.join();
  flops(state, 3.0 * double(W2::flops_forward * 64));
}
}  // namespace
BENCHMARK(train_beside_another<0>)->Name("W6/train_step_b64/one_thread_core0_beside_another")->UseRealTime();
BENCHMARK(train_beside_another<1>)->Name("W6/train_step_b64/one_thread_core1_beside_another")->UseRealTime();
BENCHMARK(train_threads<2>)->Name("W6/train_step_b64/ctnn")->UseRealTime();
BENCHMARK(train_threads<1>)->Name("W6/train_step_b64/one_thread")->UseRealTime();
BENCHMARK(train_step<W2, loss::SoftmaxCrossEntropy, 64, backend::native>)->Name("W6/train_step_b64/trainer")->UseRealTime();

// What data-parallel threads pay to share memory on this machine: the one-way latency of
// a cache line handed between cores 0 and 1, and the rate at which core 0 reads 1 MB that
// core 1 has just written (the first-layer weights of the W6 MLP are 0.8 MB).
#include <atomic>
#include <thread>
namespace {
void core_to_core_latency(benchmark::State& state) {
  alignas(64) std::atomic<std::uint64_t> flag{0};
  std::atomic<bool> stop{false};
  std::thread other([&] {
    pipeline_detail::pin_to_core(1);
    for (std::uint64_t seen = 1;; seen += 2) {
      while (flag.load(std::memory_order_acquire) != seen)
        if (stop.load(std::memory_order_relaxed)) return;
      flag.store(seen + 1, std::memory_order_release);
    }
  });
  pipeline_detail::pin_to_core(0);
  std::uint64_t v = 0;
  for (auto _ : state) {
    flag.store(++v, std::memory_order_release);
    while (flag.load(std::memory_order_acquire) != v + 1) {
    }
    ++v;
  }
  stop = true;
  other.join();
  state.counters["one_way_ns"] = benchmark::Counter(double(state.iterations()) * 2, benchmark::Counter::kIsRate |
                                                                                    benchmark::Counter::kInvert);
}
void core_to_core_read(benchmark::State& state) {
  std::vector<float> buf(1 << 18, 1.0f);
  std::atomic<int> turn{0};  // 0: core 1 writes, 1: core 0 reads, -1: stop
  std::thread other([&] {
    pipeline_detail::pin_to_core(1);
    while (true) {
      int t;
      while ((t = turn.load(std::memory_order_acquire)) == 1) {
      }
      if (t < 0) return;
      for (float& x : buf) x += 1.0f;
      turn.store(1, std::memory_order_release);
    }
  });
  pipeline_detail::pin_to_core(0);
  for (auto _ : state) {
    state.PauseTiming();
    while (turn.load(std::memory_order_acquire) != 1) {
    }
    state.ResumeTiming();
    float acc[64] = {};  // independent sums: the loads, not the adds, set the pace
    for (std::size_t i = 0; i < buf.size(); i += 64)
      for (std::size_t j = 0; j < 64; ++j) acc[j] += buf[i + j];
    benchmark::DoNotOptimize(acc);
    turn.store(0, std::memory_order_release);
  }
  while (turn.load(std::memory_order_acquire) != 1) {  // its last write done: then stop it
  }
  turn.store(-1, std::memory_order_release);
  other.join();
  state.SetBytesProcessed(std::int64_t(state.iterations()) * std::int64_t(buf.size() * sizeof(float)));
}
}  // namespace
BENCHMARK(core_to_core_latency)->Name("Machine/core_to_core/latency")->UseRealTime();
BENCHMARK(core_to_core_read)->Name("Machine/core_to_core/read_1MB_written_by_other_core");
