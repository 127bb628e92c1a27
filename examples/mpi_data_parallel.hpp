// The training routine of mpi_data_parallel, for any Fashion-MNIST network, exchange and
// optimizer; the MLP's instances are in mpi_data_parallel.cpp, the CNN's in
// mpi_data_parallel_cnn.cpp (units that compile in parallel).
#pragma once
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctnn/parallel/mpi/checkpoint.hpp>
#include <ctnn/parallel/mpi/data_parallel.hpp>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "fashion_mnist_common.hpp"

namespace example {
constexpr std::size_t local_batch = 32;
using Clock = std::chrono::steady_clock;

template <class Model, class Opt, class Strategy>
int run(const Options& o, double target_accuracy, const io::FashionMnist& data, const mpi::Environment& env) {
  auto net = std::make_unique<Model>();
  net->init(init::HeUniform{}, o.seed);
  mpi::DistributedTrainer<Model, loss::SoftmaxCrossEntropy, Opt, Batch<local_batch>, backend::native, Strategy> trainer(
      *net, optimizer_options<Opt>(o), MPI_COMM_WORLD, o.seed);
  const std::size_t n = o.limit ? std::min(o.limit, data.train.count) : data.train.count;
  const auto [lo, hi] = mpi::shard(n, env.rank(), env.size());
  const std::size_t steps = (n / static_cast<std::size_t>(env.size())) / local_batch;  // the same on every rank
  if (steps == 0) {
    if (env.rank() == 0) std::fprintf(stderr, "error: too few samples for a batch of %zu per rank\n", local_batch);
    return 1;
  }
  if (env.rank() == 0) {
    std::printf("%d ranks, %zu samples each (shard [%zu, %zu) on rank 0), %zu steps of %zu x %d per epoch\n",
                env.size(), hi - lo, lo, hi, steps, local_batch, env.size());
    if constexpr (mpi::detail::is_topk<Strategy>)
      std::printf("gradient compression: top-%zu per mille with error feedback, %.0fx fewer bytes than dense\n",
                  Strategy::permille, Strategy::template ratio<Model::param_count>);
    if constexpr (mpi::detail::is_local<Strategy>)
      std::printf("local SGD: parameters averaged every %zu steps\n", Strategy::period);
    if constexpr (mpi::detail::is_bucketed<Strategy>)
      std::printf("overlap: the exact all-reduce in %zu buckets of %zu KiB (MPI_Iallreduce)\n", trainer.buckets(),
                  Strategy::bucket_floats * sizeof(float) / 1024);
    // What this rank puts into its collectives per step.
    std::size_t bytes = (Model::param_count + 1) * sizeof(float);
    if constexpr (mpi::detail::is_topk<Strategy>) bytes = (Strategy::kept(Model::param_count) + 1) * 8;
    if constexpr (mpi::detail::is_local<Strategy>) bytes = Model::param_count * sizeof(float) / Strategy::period;
    if constexpr (mpi::detail::is_powersgd<Strategy>) {
      bytes = trainer.powersgd_floats_per_step() * sizeof(float);
      std::printf("gradient compression: PowerSGD rank %zu with error feedback\n", Strategy::rank);
    }
    std::printf("bytes sent per rank and step: %zu\n", bytes);
  }
  // This rank's shard, shuffled with a generator of its own (rows count from the shard's start).
  data::Loader<local_batch, std::uint8_t> loader(
      {std::span<const float>(data.train.images.data() + lo * 784, (hi - lo) * 784),
       std::span<const std::uint8_t>(data.train.labels.data() + lo, hi - lo), 784},
      {.seed = o.seed ^ (0x9E3779B97F4A7C15ull * static_cast<std::uint64_t>(env.rank() + 1)), .prefetch = true});
  const auto schedule = lr_schedule(o, trainer.optimizer().options().lr, steps * static_cast<std::size_t>(o.epochs));
  double seconds = 0, test_acc = 0;
  int first_epoch = 1, epochs_run = 0;
  using Dt = decltype(trainer);
  if (!o.checkpoint.empty() && !Dt::replicated) {
    if (env.rank() == 0)
      std::fprintf(stderr, "error: --checkpoint needs the exact all-reduce (--compression none): with top-k or "
                           "local SGD the ranks' states differ\n");
    return 2;
  }
  if constexpr (Dt::replicated) {
    if (o.resume) {  // every rank reads the file; each gets its own shard order and generator back
      const io::TrainingPosition pos = mpi::load_checkpoint(trainer, o.checkpoint);
      if (pos.order.size() != loader.size())
        ctnn::detail::raise("'" + o.checkpoint + "' holds another shard size (another --limit or rank count)");
      loader.restore(pos.epoch, pos.rng, pos.order);
      first_epoch = static_cast<int>(pos.epoch) + 1;
      if (env.rank() == 0)
        std::printf("resumed from %s after epoch %llu (step %zu)\n", o.checkpoint.c_str(),
                    static_cast<unsigned long long>(pos.epoch), trainer.local().steps());
    }
  }
  for (int epoch = first_epoch; epoch <= o.epochs; ++epoch) {
    const auto t0 = Clock::now();
    double loss_sum = 0;
    for (std::size_t s = 0; s < steps; ++s) {  // the same count on every rank (shards differ by one at most)
      const auto b = loader.next();
      lr::apply(trainer, schedule);
      loss_sum += trainer.step(b->inputs, b->targets);
    }
    while (loader.next()) {
    }  // a shard one sample longer may hold one batch more: drop it, as before
    const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    seconds += secs;
    if constexpr (Dt::replicated)
      if (!o.checkpoint.empty())  // collective; rank 0 writes, before its epoch line
        mpi::save_checkpoint(trainer,
                             {.epoch = static_cast<std::uint64_t>(epoch), .rng = loader.rng_state(),
                              .order = std::vector<std::uint32_t>(loader.order().begin(), loader.order().end())},
                             o.checkpoint);
    if (env.rank() == 0) {
      test_acc = accuracy<256>(*net, std::span<const float>(data.test.images), std::span<const std::uint8_t>(data.test.labels));
      std::printf("epoch %2d/%d  loss %.4f  test_acc %.4f  %.2f s\n", epoch, o.epochs, loss_sum / static_cast<double>(steps), test_acc, secs);
      std::fflush(stdout);
    }
    epochs_run = epoch - first_epoch + 1;
    if (target_accuracy > 0) {  // rank 0 decides for all
      int reached = env.rank() == 0 && test_acc >= target_accuracy;
      MPI_Bcast(&reached, 1, MPI_INT, 0, MPI_COMM_WORLD);
      if (reached) {
        if (env.rank() == 0)
          std::printf("time_to_accuracy target=%.4f epochs=%d training_seconds=%.3f\n", target_accuracy, epoch, seconds);
        break;
      }
    }
  }
  if (target_accuracy > 0 && env.rank() == 0 && test_acc < target_accuracy)
    std::printf("time_to_accuracy target=%.4f not reached in %d epochs (training_seconds=%.3f)\n", target_accuracy, o.epochs, seconds);
  if constexpr (mpi::detail::is_bucketed<Strategy>)
    if (env.rank() == 0)
      std::printf("buckets started before the first layer's gradients were final (last step): %zu of %zu\n",
                  trainer.buckets_started_early(), trainer.buckets());
  if (env.rank() == 0) {
    if (first_epoch > o.epochs)
      test_acc = accuracy<256>(*net, std::span<const float>(data.test.images), std::span<const std::uint8_t>(data.test.labels));
    std::printf("weights fingerprint %016llx\n", static_cast<unsigned long long>(weights_fingerprint(net->params())));
    std::printf("result test_accuracy=%.4f epoch_seconds=%.3f infer_batch1_ns=%.0f\n", test_acc,
                seconds / std::max(1, epochs_run), infer_batch1_ns(*net, data.test));
  }
  return 0;
}

/// The CNN (examples/fashion_mnist_cnn.hpp) with Adam: --compression none, topk, local or
/// powersgd1|2|4 (defined in mpi_data_parallel_cnn.cpp).
int run_cnn(const Options& o, double target_accuracy, const std::string& compression, const io::FashionMnist& data,
            const mpi::Environment& env);
}  // namespace example
