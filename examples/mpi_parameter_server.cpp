// The Fashion-MNIST MLP trained through a parameter server (ctnn::mpi::ParameterServer):
//   mpirun -np 3 ./mpi_parameter_server --staleness 4
// Ranks [0, --servers) hold the parameters and the optimizer state in shards; the others
// are workers, each with its own shard of the training set and a local batch of 32. A
// worker may run at most --staleness steps ahead of the slowest (0: synchronous, "inf":
// asynchronous). --delay-ms and --straggler-ms inject a sleep into each step of every
// worker and of one worker (the last, or each in turn with --rotate), to see what the bound
// does when workers run at different speeds. Prints, after training:
//   throughput samples_per_s=... waited_fraction=...
//   result test_accuracy=0.XXXX epoch_seconds=X.XXX infer_batch1_ns=XXXX
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctnn/parallel/mpi/parameter_server.hpp>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "fashion_mnist_cli.hpp"

using namespace example;

namespace {
using Mlp = Net<Input<784>, Dense<256>, ReLU, Dense<128>, ReLU, Dense<10>>;
constexpr std::size_t local_batch = 32;
using Clock = std::chrono::steady_clock;

struct PsOptions {
  int servers = 1;
  std::string staleness = "0";
  double delay_ms = 0, straggler_ms = 0;
  bool rotate = false;
  double target = 0;  ///< stop at the first epoch whose test accuracy (worker 0's pull) reaches it
};

template <class Opt>
int run(const Options& o, const PsOptions& po, const io::FashionMnist& data, const mpi::Environment& env) {
  mpi::Staleness st = mpi::Staleness::unbounded();
  if (po.staleness != "inf") st.steps = std::stoul(po.staleness);
  auto net = std::make_unique<Mlp>();
  net->init(init::HeUniform{}, o.seed);
  using PS = mpi::ParameterServer<Mlp, loss::SoftmaxCrossEntropy, Opt, Batch<local_batch>>;
  PS ps(*net, optimizer_options<Opt>(o), {.servers = po.servers, .staleness = st});
  const int W = ps.workers();
  const std::size_t n = o.limit ? std::min(o.limit, data.train.count) : data.train.count;
  const std::size_t steps = (n / static_cast<std::size_t>(W)) / local_batch;  // per worker and epoch
  if (steps == 0) {
    if (env.rank() == 0) std::fprintf(stderr, "error: too few samples for a batch of %zu per worker\n", local_batch);
    return 1;
  }
  if (env.rank() == 0)
    std::printf("%d server(s), %d workers, staleness %s, %zu steps of %zu per worker and epoch%s\n", po.servers, W,
                po.staleness.c_str(), steps, local_batch, po.straggler_ms > 0 ? (po.rotate ? ", rotating straggler" : ", one straggler") : "");
  const std::size_t rounds = steps * static_cast<std::size_t>(o.epochs);
  const auto schedule = lr_schedule(o, optimizer_options<Opt>(o).lr, rounds);
  MPI_Comm workers;  // the workers agree at epoch ends whether the target is reached
  MPI_Comm_split(MPI_COMM_WORLD, ps.is_server() ? MPI_UNDEFINED : 0, env.rank(), &workers);
  MPI_Barrier(MPI_COMM_WORLD);
  const auto t0 = Clock::now();
  double seconds = 0, waited = 0, evaluating = 0;
  if (ps.is_server()) {
    ps.on_round([&](Opt& opt, std::size_t r) { opt.options().lr = schedule(std::min(r, rounds - 1)); });
    ps.serve();
    seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  } else {
    const int w = ps.worker_index();
    const auto [lo, hi] = mpi::shard(n, w, W);
    data::Loader<local_batch, std::uint8_t> loader(
        {std::span<const float>(data.train.images.data() + lo * 784, (hi - lo) * 784),
         std::span<const std::uint8_t>(data.train.labels.data() + lo, hi - lo), 784},
        {.seed = o.seed ^ (0x9E3779B97F4A7C15ull * static_cast<std::uint64_t>(w + 1)), .prefetch = true});
    std::size_t step = 0;
    for (int epoch = 1; epoch <= o.epochs; ++epoch) {
      const auto e0 = Clock::now();
      double loss_sum = 0;
      for (std::size_t s = 0; s < steps; ++s, ++step) {
        const auto b = loader.next();
        double ms = po.delay_ms;  // injected: every worker, and the straggler three times longer
        const int slow = po.rotate ? static_cast<int>((step / 8) % static_cast<std::size_t>(W)) : W - 1;
        if (w == slow) ms += po.straggler_ms;
        if (ms > 0) std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(ms));
        loss_sum += ps.step(b->inputs, b->targets);
      }
      while (loader.next()) {
      }
      int reached = 0;
      if (w == 0) {  // the parameters this worker last pulled
        const auto v0 = Clock::now();
        const double acc = accuracy<256>(*net, std::span<const float>(data.test.images), std::span<const std::uint8_t>(data.test.labels));
        evaluating += std::chrono::duration<double>(Clock::now() - v0).count();
        std::printf("epoch %2d/%d  worker 0 loss %.4f  test_acc %.4f (last pulled)  %.2f s\n", epoch, o.epochs,
                    loss_sum / static_cast<double>(steps), acc, std::chrono::duration<double>(Clock::now() - e0).count());
        reached = po.target > 0 && acc >= po.target;
        if (reached)
          std::printf("time_to_accuracy target=%.4f epochs=%d training_seconds=%.3f\n", po.target, epoch,
                      std::chrono::duration<double>(Clock::now() - t0).count() - evaluating);
        std::fflush(stdout);
      }
      if (po.target > 0) {
        MPI_Bcast(&reached, 1, MPI_INT, 0, workers);
        if (reached) break;
      }
    }
    seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    waited = ps.waited_seconds();
    ps.finish();
  }
  if (workers != MPI_COMM_NULL) MPI_Comm_free(&workers);
  double slowest = 0, wait_sum = 0, pushes = static_cast<double>(ps.pushes()), all_pushes = 0;
  MPI_Reduce(&seconds, &slowest, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
  MPI_Reduce(&waited, &wait_sum, 1, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
  MPI_Reduce(&pushes, &all_pushes, 1, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
  if (env.rank() == 0) {
    const double samples = all_pushes * local_batch;
    const double acc = accuracy<256>(*net, std::span<const float>(data.test.images), std::span<const std::uint8_t>(data.test.labels));
    std::printf("weights fingerprint %016llx\n", static_cast<unsigned long long>(weights_fingerprint(net->params())));
    std::printf("throughput samples_per_s=%.0f waited_fraction=%.3f\n", samples / slowest, wait_sum / (slowest * W));
    std::printf("result test_accuracy=%.4f epoch_seconds=%.3f infer_batch1_ns=%.0f\n", acc,
                slowest * static_cast<double>(steps * static_cast<std::size_t>(W)) / std::max(1.0, all_pushes),
                infer_batch1_ns(*net, data.test));
  }
  return 0;
}
}  // namespace

int main(int argc, char** argv) {
  mpi::Environment env(argc, argv);
  Options o;
  o.epochs = 3;
  PsOptions po;
  CLI::App app{"Train the Fashion-MNIST MLP through a parameter server (mpirun -np N, N >= 2)", "mpi_parameter_server"};
  add_common_options(app, o);
  app.add_option("--servers", po.servers, "Server ranks (the first ranks; the rest are workers)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--staleness", po.staleness, "Steps a worker may run ahead of the slowest: 0 (synchronous), N, or inf")
      ->check([](const std::string& v) {
        if (v == "inf" || (!v.empty() && v.size() < 9 && std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })))
          return std::string();
        return std::string("expected a step count or inf");
      })
      ->capture_default_str();
  app.add_option("--delay-ms", po.delay_ms, "Sleep this long in every worker step (an emulated compute time)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--straggler-ms", po.straggler_ms, "Sleep this much longer in the straggler's steps")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--target-accuracy", po.target,
                 "Stop after the first epoch whose test accuracy (worker 0's last pull) reaches this; the workers "
                 "agree at each epoch end")
      ->check(CLI::Range(0.0, 1.0));
  app.add_flag("--rotate", po.rotate, "The straggler is each worker in turn, 8 steps at a time (else the last worker)");
  if (const auto rc = parse(app, argc, argv)) return *rc;
  if (!o.checkpoint.empty()) {
    if (env.rank() == 0) std::fprintf(stderr, "error: --checkpoint: the parameter server example has no checkpoints; use mpi_data_parallel\n");
    return 2;
  }
  if (po.servers >= env.size()) {
    if (env.rank() == 0)
      std::fprintf(stderr, "error: --servers %d of %d ranks leaves no worker; run with more ranks (mpirun -np %d)\n",
                   po.servers, env.size(), po.servers + 1);
    return 2;
  }
  try {
    const io::FashionMnist data = load(o);
    return o.optimizer == "adam" ? run<optim::Adam>(o, po, data, env) : run<optim::SGD>(o, po, data, env);
  } catch (const Error& e) {
    std::fprintf(stderr, "error (rank %d): %s\n", env.rank(), e.what());
    return 1;
  }
}
