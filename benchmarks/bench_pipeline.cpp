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
BENCHMARK(train_threads<2>)->Name("W6/train_step_b64/ctnn")->UseRealTime();
BENCHMARK(train_threads<1>)->Name("W6/train_step_b64/one_thread")->UseRealTime();
BENCHMARK(train_step<W2, loss::SoftmaxCrossEntropy, 64, backend::native>)->Name("W6/train_step_b64/trainer")->UseRealTime();
