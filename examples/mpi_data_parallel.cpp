// Data-parallel training of the Fashion-MNIST MLP across MPI ranks:
//   mpirun -np 2 ./mpi_data_parallel
// Each rank trains on its own shard of the training set with a local batch of 32 (global
// batch 32 × ranks); one MPI_Allreduce per step keeps every rank's weights identical
// (--overlap: one MPI_Iallreduce per 64 KiB bucket instead, each started during backward;
// --compression topk|local|powersgd1|2|4 to send less).
// Rank 0 evaluates and prints the per-epoch lines and the result line:
//   result test_accuracy=0.XXXX epoch_seconds=X.XXX infer_batch1_ns=XXXX
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctnn/parallel/mpi/checkpoint.hpp>
#include <ctnn/parallel/mpi/data_parallel.hpp>
#include <memory>
#include <numeric>
#include <vector>

#include "fashion_mnist_cli.hpp"

using namespace example;

namespace {
using Mlp = Net<Input<784>, Dense<256>, ReLU, Dense<128>, ReLU, Dense<10>>;
constexpr std::size_t local_batch = 32;
using Clock = std::chrono::steady_clock;
double target_accuracy = 0;  // --target-accuracy: stop at the first epoch that reaches it

template <class Opt, class Strategy>
int run(const Options& o, const io::FashionMnist& data, const mpi::Environment& env) {
  auto net = std::make_unique<Mlp>();
  net->init(init::HeUniform{}, o.seed);
  mpi::DistributedTrainer<Mlp, loss::SoftmaxCrossEntropy, Opt, Batch<local_batch>, backend::native, Strategy> trainer(
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
                  Strategy::permille, Strategy::template ratio<Mlp::param_count>);
    if constexpr (mpi::detail::is_local<Strategy>)
      std::printf("local SGD: parameters averaged every %zu steps\n", Strategy::period);
    if constexpr (mpi::detail::is_bucketed<Strategy>)
      std::printf("overlap: the exact all-reduce in %zu buckets of %zu KiB (MPI_Iallreduce)\n", trainer.buckets(),
                  Strategy::bucket_floats * sizeof(float) / 1024);
    // What this rank puts into its collectives per step.
    std::size_t bytes = (Mlp::param_count + 1) * sizeof(float);
    if constexpr (mpi::detail::is_topk<Strategy>) bytes = (Strategy::kept(Mlp::param_count) + 1) * 8;
    if constexpr (mpi::detail::is_local<Strategy>) bytes = Mlp::param_count * sizeof(float) / Strategy::period;
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
}  // namespace

int main(int argc, char** argv) {
  mpi::Environment env(argc, argv);
  Options o;
  o.epochs = 5;
  CLI::App app{"Train the Fashion-MNIST MLP data-parallel across MPI ranks (mpirun -np N)", "mpi_data_parallel"};
  add_common_options(app, o);
  std::string compression = "none";
  app.add_option("--compression", compression,
                 "none (exact all-reduce), topk (1% of the gradient, error feedback), local (average every 8 steps) or "
                 "powersgd1, powersgd2, powersgd4 (rank-r PowerSGD, error feedback)")
      ->check(CLI::IsMember({"none", "topk", "local", "powersgd1", "powersgd2", "powersgd4"}))
      ->capture_default_str();
  app.add_option("--target-accuracy", target_accuracy,
                 "Stop after the first epoch whose test accuracy reaches this, and print the training time to it")
      ->check(CLI::Range(0.0, 1.0));
  bool overlap = false;
  app.add_flag("--overlap", overlap,
               "exact all-reduce in 64 KiB buckets (MPI_Iallreduce), each started as soon as backward has finished "
               "its layers");
  if (const auto rc = parse(app, argc, argv)) return *rc;
  if (overlap && compression != "none") {
    if (env.rank() == 0) std::fprintf(stderr, "error: --overlap goes with --compression none\n");
    return 2;
  }
  try {
    const io::FashionMnist data = load(o);
    if (overlap) return o.optimizer == "adam" ? run<optim::Adam, mpi::Bucketed<64>>(o, data, env)
                                              : run<optim::SGD, mpi::Bucketed<64>>(o, data, env);
    if (compression == "topk") return o.optimizer == "adam" ? run<optim::Adam, mpi::TopK<10>>(o, data, env)
                                                              : run<optim::SGD, mpi::TopK<10>>(o, data, env);
    if (compression == "local") return o.optimizer == "adam" ? run<optim::Adam, mpi::LocalSGD<8>>(o, data, env)
                                                               : run<optim::SGD, mpi::LocalSGD<8>>(o, data, env);
    if (compression == "powersgd1") return o.optimizer == "adam" ? run<optim::Adam, mpi::PowerSGD<1>>(o, data, env)
                                                                   : run<optim::SGD, mpi::PowerSGD<1>>(o, data, env);
    if (compression == "powersgd2") return o.optimizer == "adam" ? run<optim::Adam, mpi::PowerSGD<2>>(o, data, env)
                                                                   : run<optim::SGD, mpi::PowerSGD<2>>(o, data, env);
    if (compression == "powersgd4") return o.optimizer == "adam" ? run<optim::Adam, mpi::PowerSGD<4>>(o, data, env)
                                                                   : run<optim::SGD, mpi::PowerSGD<4>>(o, data, env);
    if (o.optimizer == "adam") return run<optim::Adam, mpi::Exact>(o, data, env);
    return run<optim::SGD, mpi::Exact>(o, data, env);
  } catch (const Error& e) {
    std::fprintf(stderr, "error (rank %d): %s\n", env.rank(), e.what());
    return 1;
  }
}
