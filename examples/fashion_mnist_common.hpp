// Shared by the Fashion-MNIST examples (MLP and CNN): options, the command line they
// have in common, input standardisation, and the training routine, a template on the
// network that each example instantiates in translation units of its own.
#pragma once
#include <CLI/CLI.hpp>
#include <cmath>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <ctnn/ctnn.hpp>
#include <ctnn/io/fashion_mnist.hpp>
#include <optional>
#include <string>

namespace example {
using namespace ctnn;

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

/// The options every Fashion-MNIST example takes (all but --batch).
inline void add_common_options(CLI::App& app, Options& o) {
  app.add_option("--epochs", o.epochs, "Training epochs")->check(CLI::Range(1, 1000))->capture_default_str();
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
  app.add_option("--seed", o.seed, "Seed for weights, shuffling and dropout")->capture_default_str();
  app.add_option("--data", o.data, "Directory with the IDX files")->capture_default_str();
  app.add_option("--metrics", o.metrics, "Write per-epoch metrics to this CSV file");
  app.add_option("--limit", o.limit, "Train on the first N samples only (0: all)")->capture_default_str();
}

/// Parses the command line: 0 to go on, otherwise the exit code (help: 0 after printing; bad options: 2).
inline std::optional<int> parse(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "error: %s\n\n%s", e.what(), app.help().c_str());
    return 2;
  }
  return std::nullopt;
}

/// Shifts and scales every pixel by the training set's mean and standard deviation.
inline void standardize(io::FashionMnist& data) {
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

/// Loads the data set from `o.data`, standardises it and says so (throws ctnn::Error).
inline io::FashionMnist load(const Options& o) {
  const auto t0 = std::chrono::steady_clock::now();
  io::FashionMnist data = io::load_fashion_mnist(o.data);
  standardize(data);
  std::printf("loaded Fashion-MNIST from %s in %.2f s (%zu train, %zu test)\n", o.data.c_str(),
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), data.train.count,
              data.test.count);
  return data;
}

/// The optimizer options `o` asks for.
template <class Opt>
typename Opt::Options optimizer_options(const Options& o) {
  if constexpr (std::is_same_v<Opt, optim::Adam>)
    return {.lr = o.lr.value_or(1e-3f)};
  else
    return {.lr = o.lr.value_or(0.05f), .momentum = o.momentum};
}

/// Trains a fresh NetT as `o` says and prints the per-epoch and result lines (defined in
/// fashion_mnist_train.hpp, which only the training translation units include).
template <class NetT, std::size_t B, class Opt, class Be>
int train(const Options& o, const io::FashionMnist& data, typename Opt::Options opt_options);

}  // namespace example
