// Trains Input<784>, Dense<256>, ReLU, Dense<128>, ReLU, Dense<10> on Fashion-MNIST with
// softmax cross-entropy, prints a line per epoch and, last, one machine-readable line:
//   result test_accuracy=0.XXXX epoch_seconds=X.XXX infer_batch1_ns=XXXX
// This unit holds the command line; the training itself is in fashion_mnist_mlp_train.cpp.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "fashion_mnist_mlp.hpp"

using namespace example;
using Clock = std::chrono::steady_clock;

namespace {
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

/// Shifts and scales every pixel by the training set's mean and standard deviation.
void standardize(io::FashionMnist& data) {
  double sum = 0, sq = 0;
  for (float v : data.train.images) {
    sum += v;
    sq += static_cast<double>(v) * v;
  }
  const double n = static_cast<double>(data.train.images.size());
  const double mean = sum / n, sd = std::sqrt(sq / n - mean * mean);
  for (auto* split : {&data.train, &data.test})
    for (float& v : split->images) v = static_cast<float>((v - mean) / sd);
}

template <class Opt, class Be>
int dispatch_batch(const Options& o, const io::FashionMnist& data, typename Opt::Options opt) {
  switch (o.batch) {
    case 16: return train<16, Opt, Be>(o, data, opt);
    case 32: return train<32, Opt, Be>(o, data, opt);
    case 64: return train<64, Opt, Be>(o, data, opt);
    case 128: return train<128, Opt, Be>(o, data, opt);
    case 256: return train<256, Opt, Be>(o, data, opt);
    default: return 2;  // unreachable: the parser checks the set
  }
}

template <class Be>
int dispatch_optimizer(const Options& o, const io::FashionMnist& data) {
  if (o.optimizer == "adam") return dispatch_batch<optim::Adam, Be>(o, data, {.lr = o.lr.value_or(1e-3f)});
  return dispatch_batch<optim::SGD, Be>(o, data, {.lr = o.lr.value_or(0.05f), .momentum = o.momentum});
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"Train a 784-256-128-10 MLP on Fashion-MNIST with ctnn", "fashion_mnist_mlp"};
  app.add_option("--epochs", o.epochs, "Training epochs")->check(CLI::Range(1, 1000))->capture_default_str();
  app.add_option("--batch", o.batch, "Batch size (compiled in: 16, 32, 64, 128, 256)")
      ->check(CLI::IsMember({16, 32, 64, 128, 256}))
      ->capture_default_str();
  app.add_option("--optimizer", o.optimizer, "sgd (with momentum) or adam")
      ->check(CLI::IsMember({"sgd", "adam"}))
      ->capture_default_str();
  app.add_option("--lr", o.lr, "Learning rate (default: 1e-3 for adam, 0.05 for sgd)")
      ->check(CLI::PositiveNumber);
  app.add_option("--schedule", o.schedule, "Learning-rate schedule: cosine (decays to 0) or constant")
      ->check(CLI::IsMember({"cosine", "constant"}))
      ->capture_default_str();
  app.add_option("--backend", o.backend, "simd (the widest this build supports) or scalar (the reference)")
      ->check(CLI::IsMember({"simd", "scalar"}))
      ->capture_default_str();
  app.add_option("--momentum", o.momentum, "SGD momentum")->check(CLI::Range(0.0f, 0.999f))->capture_default_str();
  app.add_option("--seed", o.seed, "Seed for weights and shuffling")->capture_default_str();
  app.add_option("--data", o.data, "Directory with the IDX files")->capture_default_str();
  app.add_option("--metrics", o.metrics, "Write per-epoch metrics to this CSV file");
  app.add_option("--limit", o.limit, "Train on the first N samples only (0: all)")->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "error: %s\n\n%s", e.what(), app.help().c_str());
    return 2;
  }

  try {
    const auto t0 = Clock::now();
    io::FashionMnist data = io::load_fashion_mnist(o.data);
    standardize(data);
    std::printf("loaded Fashion-MNIST from %s in %.2f s (%zu train, %zu test)\n", o.data.c_str(), seconds_since(t0),
                data.train.count, data.test.count);
    std::printf("network: %zu parameters, %zu FLOPs per sample forward, optimizer %s, batch %d, %s schedule, "
                "%s backend\n",
                Mlp::param_count, Mlp::flops_forward, o.optimizer.c_str(), o.batch, o.schedule.c_str(),
                o.backend.c_str());
    if (o.backend == "scalar") return dispatch_optimizer<backend::scalar>(o, data);
    return dispatch_optimizer<backend::native>(o, data);
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
