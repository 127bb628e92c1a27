// Trains Input<784>, Dense<256>, ReLU, Dense<128>, ReLU, Dense<10> on Fashion-MNIST with
// softmax cross-entropy, prints a line per epoch and, last, one machine-readable line:
//   result test_accuracy=0.XXXX epoch_seconds=X.XXX infer_batch1_ns=XXXX
// This unit holds the command line; the training itself is in fashion_mnist_mlp_train.cpp.
#include <cstdio>

#include "example_units.hpp"
#include "fashion_mnist_cli.hpp"
#include "fashion_mnist_mlp.hpp"

using namespace example;

namespace {
// A configuration this build left out (scripts/main.sh builds only what its run needs).
int not_built(const Options& o) {
  std::fprintf(stderr,
               "error: this build of fashion_mnist_mlp has no unit for --batch %d --optimizer %s --backend %s%s; "
               "configure with e.g. -DCTNN_EXAMPLE_BATCHES=\"16;32;64;128;256\" -DCTNN_EXAMPLE_OPTIMIZERS=\"Adam;SGD\" "
               "-DCTNN_EXAMPLE_BACKENDS=\"native;scalar\" -DCTNN_EXAMPLE_THREADS=ON (the defaults), or pass the same "
               "options to scripts/main.sh, which builds what they need\n",
               o.batch, o.optimizer.c_str(), o.backend.c_str(), o.threads > 1 || o.data_parallel ? " --threads" : "");
  return 2;
}

template <std::size_t B, class Opt, class Be>
int train_if_built(const Options& o, const io::FashionMnist& data, typename Opt::Options opt) {
  if constexpr (units::built<B, Opt, Be>) return train<Mlp, B, Opt, Be>(o, data, opt);
  else return not_built(o);
}

template <class Opt, class Be>
int dispatch_batch(const Options& o, const io::FashionMnist& data, typename Opt::Options opt) {
  if constexpr (std::is_same_v<Be, backend::native>)
    if (o.threads > 1 || o.data_parallel) {
      if constexpr (units::built_threads<Opt>)
        return o.threads <= 2 ? train_threads<Mlp, 64, Opt, 2>(o, data, opt) : train_threads<Mlp, 64, Opt, 4>(o, data, opt);
      else
        return not_built(o);
    }
  switch (o.batch) {
    case 16: return train_if_built<16, Opt, Be>(o, data, opt);
    case 32: return train_if_built<32, Opt, Be>(o, data, opt);
    case 64: return train_if_built<64, Opt, Be>(o, data, opt);
    case 128: return train_if_built<128, Opt, Be>(o, data, opt);
    case 256: return train_if_built<256, Opt, Be>(o, data, opt);
    default: return 2;  // unreachable: the parser checks the set
  }
}

template <class Be>
int dispatch_optimizer(const Options& o, const io::FashionMnist& data) {
  if (o.optimizer == "adam") return dispatch_batch<optim::Adam, Be>(o, data, optimizer_options<optim::Adam>(o));
  return dispatch_batch<optim::SGD, Be>(o, data, optimizer_options<optim::SGD>(o));
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"Train a 784-256-128-10 MLP on Fashion-MNIST with ctnn", "fashion_mnist_mlp"};
  add_common_options(app, o);
  app.add_option("--batch", o.batch, "Batch size (compiled in: 16, 32, 64, 128, 256)")
      ->check(CLI::IsMember({16, 32, 64, 128, 256}))
      ->capture_default_str();
  app.add_option("--threads", o.threads,
                 "Worker threads; 2 to 4 train data parallel (ctnn::DataParallel; needs --batch 64 and the simd backend)")
      ->check(CLI::Range(1, 4))
      ->capture_default_str();
  app.add_flag("--data-parallel", o.data_parallel,
               "Train with ctnn::DataParallel even on one thread (--threads 1): the engine of --threads 2, for "
               "comparing thread counts on the same code (the same weights, bit for bit)");
  if (const auto rc = parse(app, argc, argv)) return *rc;
  if ((o.threads > 1 || o.data_parallel) && (o.batch != 64 || o.backend != "simd")) {
    const std::string flag = o.threads > 1 ? "--threads " + std::to_string(o.threads) : "--data-parallel";
    std::fprintf(stderr, "error: %s needs --batch 64 and --backend simd (the data-parallel build)\n", flag.c_str());
    return 2;
  }

  try {
    const io::FashionMnist data = load(o);
    std::fputs(summary<Mlp>(static_cast<std::size_t>(o.batch)).str().c_str(), stdout);
    std::printf("network: %zu parameters, %zu FLOPs per sample forward, optimizer %s, batch %d, %s schedule, "
                "%s backend, %d thread%s%s\n",
                Mlp::param_count, Mlp::flops_forward, o.optimizer.c_str(), o.batch, o.schedule.c_str(),
                o.backend.c_str(), o.threads, o.threads > 1 ? "s" : "",
                o.threads > 1 || o.data_parallel ? " (ctnn::DataParallel)" : "");
    if (o.backend == "scalar") return dispatch_optimizer<backend::scalar>(o, data);
    return dispatch_optimizer<backend::native>(o, data);
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
