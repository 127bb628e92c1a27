// Model parallelism on one machine: a deep MLP split at compile time into two pipeline
// stages, one per core, and trained on Fashion-MNIST through the pipeline (1F1B, 4
// micro-batches of 32 per optimizer step). Prints the plan (and the plan the same network
// would get on a CPU core plus a GPU), per-epoch progress with each stage's utilisation,
// and the result line:
//   result test_accuracy=0.XXXX epoch_seconds=X.XXX infer_batch1_ns=XXXX
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctnn/parallel/pipeline.hpp>
#include <memory>
#include <numeric>
#include <vector>

#include "fashion_mnist_cli.hpp"

using namespace example;

namespace {
/// Seven hidden layers of 256: the first (784 inputs, no input gradient) weighs about two
/// of the others, so the planner can cut it into two nearly equal stages.
using DeepMlp = Net<Input<784>, Dense<256>, ReLU, Dense<256>, ReLU, Dense<256>, ReLU, Dense<256>, ReLU, Dense<256>, ReLU,
                    Dense<256>, ReLU, Dense<256>, ReLU, Dense<10>>;
constexpr std::size_t micro_batch = 32, micro_batches = 4, batch = micro_batch * micro_batches;
using TwoCores = partition<DeepMlp, Devices<CpuCore<0>, CpuCore<1>>, Batch<micro_batch>>;
using CpuAndGpu = partition<DeepMlp, Devices<CpuCore<0>, CudaDevice<0>>, Batch<micro_batch>>;
using Clock = std::chrono::steady_clock;

template <class Opt>
int run(const Options& o, const io::FashionMnist& data) {
  auto net = std::make_unique<DeepMlp>();
  net->init(init::HeUniform{}, o.seed);
  PipelineTrainer<TwoCores, loss::SoftmaxCrossEntropy, Opt, micro_batches, Schedule::one_f_one_b> trainer(
      *net, optimizer_options<Opt>(o), o.seed);
  const std::size_t n = o.limit ? std::min(o.limit, data.train.count) : data.train.count;
  const std::size_t steps = n / batch;
  if (steps == 0) {
    std::fprintf(stderr, "error: %zu training samples are fewer than one batch of %zu\n", n, batch);
    return 1;
  }
  data::Loader<batch, std::uint8_t> loader(
      {std::span<const float>(data.train.images.data(), n * 784), std::span<const std::uint8_t>(data.train.labels.data(), n), 784},
      {.seed = o.seed ^ 0x5DEECE66Dull});
  const auto schedule = lr_schedule(o, trainer.optimizer().options().lr, steps * static_cast<std::size_t>(o.epochs));
  double seconds = 0, test_acc = 0;
  for (int epoch = 1; epoch <= o.epochs; ++epoch) {
    std::array<double, TwoCores::stage_count> busy{};
    double loss_sum = 0;
    const auto t0 = Clock::now();
    while (const auto b = loader.next()) {
      lr::apply(trainer, schedule);
      loss_sum += trainer.step(b->inputs, b->targets);
      const auto st = trainer.stage_stats();
      for (std::size_t k = 0; k < st.size(); ++k) busy[k] += st[k].busy_seconds;
    }
    const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    seconds += secs;
    test_acc = accuracy<256>(*net, std::span<const float>(data.test.images), std::span<const std::uint8_t>(data.test.labels));
    std::printf("epoch %2d/%d  loss %.4f  test_acc %.4f  %.2f s  stage utilisation", epoch, o.epochs,
                loss_sum / static_cast<double>(steps), test_acc, secs);
    for (double b : busy) std::printf(" %.0f%%", 100.0 * b / secs);
    std::printf("\n");
    std::fflush(stdout);
  }
  std::printf("result test_accuracy=%.4f epoch_seconds=%.3f infer_batch1_ns=%.0f\n", test_acc, seconds / o.epochs,
              infer_batch1_ns(*net, data.test));
  return 0;
}
}  // namespace

int main(int argc, char** argv) {
  Options o;
  o.epochs = 5;
  CLI::App app{"Train a deep MLP on Fashion-MNIST through a 2-stage pipeline (one stage per core)", "pipeline_parallel"};
  add_common_options(app, o);
  if (const auto rc = parse(app, argc, argv)) return *rc;
  if (!o.checkpoint.empty()) {
    std::fprintf(stderr, "error: --checkpoint: ctnn::PipelineTrainer has no checkpoints yet (ctnn::Trainer, "
                         "ctnn::DataParallel and ctnn::mpi::DistributedTrainer do: see fashion_mnist_mlp)\n");
    return 2;
  }
  if (o.backend != "simd") {
    std::fprintf(stderr, "error: the pipeline example runs the SIMD backend only\n");
    return 2;
  }
  std::printf("compile-time plan on two CPU cores (micro-batch %zu, training costs):\n%s\n", micro_batch,
              TwoCores::table().c_str());
  std::printf("the same network on a CPU core and a GPU (planned only; CUDA stages come with the CUDA backend):\n%s\n",
              CpuAndGpu::table().c_str());
  try {
    const io::FashionMnist data = load(o);
    std::printf("network: %zu parameters, %zu layers; %zu micro-batches of %zu per step (1F1B), optimizer %s\n",
                DeepMlp::param_count, DeepMlp::layer_count, micro_batches, micro_batch, o.optimizer.c_str());
    if (o.optimizer == "adam") return run<optim::Adam>(o, data);
    return run<optim::SGD>(o, data);
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
