// Data-parallel training of the Fashion-MNIST MLP (or, with --model cnn, the CNN) across MPI ranks:
//   mpirun -np 2 ./mpi_data_parallel
// Each rank trains on its own shard of the training set with a local batch of 32 (global
// batch 32 × ranks); one MPI_Allreduce per step keeps every rank's weights identical
// (--overlap: one MPI_Iallreduce per 64 KiB bucket instead, each started during backward;
// --compression topk|local|powersgd1|2|4 to send less).
// Rank 0 evaluates and prints the per-epoch lines and the result line:
//   result test_accuracy=0.XXXX epoch_seconds=X.XXX infer_batch1_ns=XXXX
#include <cstdio>
#include <string>

#include "fashion_mnist_cli.hpp"
#include "mpi_data_parallel.hpp"

using namespace example;

namespace {
using Mlp = Net<Input<784>, Dense<256>, ReLU, Dense<128>, ReLU, Dense<10>>;
}  // namespace

int main(int argc, char** argv) {
  mpi::Environment env(argc, argv);
  Options o;
  o.epochs = 5;
  CLI::App app{"Train the Fashion-MNIST MLP data-parallel across MPI ranks (mpirun -np N)", "mpi_data_parallel"};
  add_common_options(app, o);
  std::string compression = "none", model = "mlp";
  double target_accuracy = 0;
  app.add_option("--model", model, "mlp, or cnn (the LeNet-style CNN, with Adam; not with --overlap)")
      ->check(CLI::IsMember({"mlp", "cnn"}))
      ->capture_default_str();
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
  if (model == "cnn" && (overlap || o.optimizer != "adam")) {
    if (env.rank() == 0) std::fprintf(stderr, "error: --model cnn trains with --optimizer adam and without --overlap\n");
    return 2;
  }
  try {
    const io::FashionMnist data = load(o);
    const double t = target_accuracy;
    if (model == "cnn") return run_cnn(o, t, compression, data, env);
    auto train = [&]<class Strategy>() {
      return o.optimizer == "adam" ? run<Mlp, optim::Adam, Strategy>(o, t, data, env)
                                   : run<Mlp, optim::SGD, Strategy>(o, t, data, env);
    };
    if (overlap) return train.template operator()<mpi::Bucketed<64>>();
    if (compression == "topk") return train.template operator()<mpi::TopK<10>>();
    if (compression == "local") return train.template operator()<mpi::LocalSGD<8>>();
    if (compression == "powersgd1") return train.template operator()<mpi::PowerSGD<1>>();
    if (compression == "powersgd2") return train.template operator()<mpi::PowerSGD<2>>();
    if (compression == "powersgd4") return train.template operator()<mpi::PowerSGD<4>>();
    return train.template operator()<mpi::Exact>();
  } catch (const Error& e) {
    std::fprintf(stderr, "error (rank %d): %s\n", env.rank(), e.what());
    return 1;
  }
}
