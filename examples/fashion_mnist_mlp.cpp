// Trains Input<784>, Dense<256>, ReLU, Dense<128>, ReLU, Dense<10> on Fashion-MNIST with
// softmax cross-entropy, prints a line per epoch and, last, one machine-readable line:
//   result test_accuracy=0.XXXX epoch_seconds=X.XXX infer_batch1_ns=XXXX
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctnn/ctnn.hpp>
#include <ctnn/io/fashion_mnist.hpp>
#include <fstream>
#include <memory>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

using namespace ctnn;
using Mlp = Net<Input<784>, Dense<256>, ReLU, Dense<128>, ReLU, Dense<10>>;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  int epochs = 10;
  int batch = 64;
  std::string optimizer = "adam";
  std::optional<float> lr;
  float momentum = 0.9f;
  std::uint64_t seed = 42;
  std::string data = io::default_fashion_mnist_dir;
  std::string metrics;
  std::size_t limit = 0;
  std::string schedule = "cosine";
  std::string backend = "simd";
};

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

void progress(std::size_t done, std::size_t total, float loss) {
  constexpr int width = 30;
  const int filled = static_cast<int>(width * done / total);
  std::printf("\r  [%.*s%*s] %3zu%%  loss %.4f", filled, "##############################", width - filled, "",
              100 * done / total, static_cast<double>(loss));
  std::fflush(stdout);
}

/// Median over blocks of the mean batch-1 forward time, in nanoseconds.
template <class Be>
double infer_batch1_ns(const Mlp& net, const io::LabelledImages& test) {
  constexpr std::size_t block = 200;
  std::vector<double> per_call;
  float sink = 0;
  for (std::size_t start = 0; start + block <= test.count; start += block) {
    const auto t0 = Clock::now();
    for (std::size_t s = start; s < start + block; ++s) {
      const auto y = net.forward<Be>(std::span<const float, 784>(test.images.data() + s * 784, 784));
      sink += y[s % 10];
    }
    per_call.push_back(std::chrono::duration<double, std::nano>(Clock::now() - t0).count() / block);
  }
  std::nth_element(per_call.begin(), per_call.begin() + per_call.size() / 2, per_call.end());
  if (sink == 12345.0f) std::puts("");  // keeps the calls observable
  return per_call[per_call.size() / 2];
}

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

template <std::size_t B, class Opt, class Be>
int train(const Options& o, const io::FashionMnist& data, typename Opt::Options opt_options) {
  auto net = std::make_unique<Mlp>();  // 0.9 MB of parameters: on the heap, not the stack
  net->init(init::HeUniform{}, o.seed);
  Trainer<Mlp, loss::SoftmaxCrossEntropy, Opt, Batch<B>, Be> trainer{*net, opt_options};

  const std::size_t n = o.limit ? std::min(o.limit, data.train.count) : data.train.count;
  const std::size_t steps = n / B;
  if (steps == 0) {
    std::fprintf(stderr, "error: %zu training samples are fewer than one batch of %zu\n", n, B);
    return 1;
  }
  std::FILE* csv = nullptr;
  if (!o.metrics.empty()) {
    csv = std::fopen(o.metrics.c_str(), "w");
    if (!csv) {
      std::fprintf(stderr, "error: cannot write metrics file '%s'\n", o.metrics.c_str());
      return 1;
    }
    std::fprintf(csv, "epoch,loss,train_accuracy,test_accuracy,seconds,samples_per_second\n");
  }
  const bool tty = isatty(STDOUT_FILENO);
  std::printf("training %zu samples (%zu steps of %zu, %zu left over per epoch), testing %zu\n", n, steps, B,
              n - steps * B, data.test.count);

  std::vector<std::uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  std::vector<float> xb(B * 784);
  std::vector<std::uint8_t> yb(B);
  Rng shuffle_rng(o.seed ^ 0x5DEECE66Dull);
  double train_seconds = 0, test_acc = 0;
  const float base_lr = trainer.optimizer().options().lr;
  const double total_steps = static_cast<double>(steps) * o.epochs;

  for (int epoch = 1; epoch <= o.epochs; ++epoch) {
    for (std::size_t k = n - 1; k > 0; --k) std::swap(order[k], order[shuffle_rng.below(k + 1)]);
    const auto t0 = Clock::now();
    double loss_sum = 0;
    std::size_t correct = 0;
    for (std::size_t s = 0; s < steps; ++s) {
      for (std::size_t k = 0; k < B; ++k) {
        const std::uint32_t i = order[s * B + k];
        std::copy_n(data.train.images.data() + std::size_t{i} * 784, 784, xb.data() + k * 784);
        yb[k] = data.train.labels[i];
      }
      if (o.schedule == "cosine") {  // lr falls from its base to 0 over the whole run
        const double t = static_cast<double>(trainer.steps()) / total_steps;
        trainer.optimizer().options().lr = static_cast<float>(base_lr * 0.5 * (1.0 + std::cos(3.141592653589793 * t)));
      }
      const float loss = trainer.step(xb, yb);
      loss_sum += loss;
      const auto out = trainer.outputs();
      for (std::size_t k = 0; k < B; ++k) correct += argmax(out.data() + k * 10, 10) == yb[k];
      if (tty && (s % 20 == 0 || s + 1 == steps)) progress(s + 1, steps, static_cast<float>(loss_sum / static_cast<double>(s + 1)));
    }
    const double secs = seconds_since(t0);
    train_seconds += secs;
    test_acc = accuracy<256, Be>(*net, std::span<const float>(data.test.images), std::span<const std::uint8_t>(data.test.labels));
    const double loss = loss_sum / static_cast<double>(steps);
    const double train_acc = static_cast<double>(correct) / static_cast<double>(steps * B);
    const double sps = static_cast<double>(steps * B) / secs;
    if (tty) std::printf("\r%*s\r", 60, "");
    std::printf("epoch %2d/%d  loss %.4f  train_acc %.4f  test_acc %.4f  %.2f s  %.0f samples/s\n", epoch, o.epochs,
                loss, train_acc, test_acc, secs, sps);
    std::fflush(stdout);
    if (csv) std::fprintf(csv, "%d,%.6f,%.6f,%.6f,%.4f,%.1f\n", epoch, loss, train_acc, test_acc, secs, sps);
  }
  if (csv) std::fclose(csv);
  std::printf("result test_accuracy=%.4f epoch_seconds=%.3f infer_batch1_ns=%.0f\n", test_acc,
              train_seconds / o.epochs, infer_batch1_ns<Be>(*net, data.test));
  return 0;
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
