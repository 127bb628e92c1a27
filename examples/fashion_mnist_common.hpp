// Shared by the Fashion-MNIST examples (MLP and CNN): options, input standardisation,
// loading, and the declaration of the training routine, a template on the network that
// each example instantiates in translation units of its own. The command line is in
// fashion_mnist_cli.hpp, so the training units never parse CLI11's headers.
#pragma once
#include <cmath>
#include <algorithm>
#include <bit>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <utility>
#include <ctnn/ctnn.hpp>
#include <ctnn/io/fashion_mnist.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

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
  int threads = 1;  ///< > 1: data parallel (MLP example, batch 64, SIMD backend)
  bool data_parallel = false;  ///< ctnn::DataParallel even on one thread (MLP example)
  std::string checkpoint;      ///< written after each epoch when set
  bool resume = false;         ///< continue from `checkpoint`
};

/// FNV-1a over the parameters' bytes: equal for equal weights, bit for bit.
inline std::uint64_t weights_fingerprint(std::span<const float> params) {
  std::uint64_t h = 14695981039346656037ull;
  for (float v : params) {
    const auto bits = std::bit_cast<std::uint32_t>(v);
    for (int i = 0; i < 4; ++i) {
      h ^= (bits >> (8 * i)) & 0xFFu;
      h *= 1099511628211ull;
    }
  }
  return h;
}

/// The learning-rate schedule `--schedule` names, over `total` steps (`--lr` is the base, or
/// the peak for onecycle), through ctnn's schedules; chosen once, called each step.
inline std::function<float(std::size_t)> lr_schedule(const Options& o, float base, std::size_t total) {
  if (o.schedule == "cosine") return lr::Cosine{.base = base, .total = total};
  if (o.schedule == "step") return lr::Step{.base = base, .every = std::max<std::size_t>(1, total / 3), .gamma = 0.1f};
  if (o.schedule == "warmup-cosine")
    return lr::WarmupCosine{.base = base, .warmup = std::max<std::size_t>(1, total / 20), .total = total};
  if (o.schedule == "onecycle") return lr::OneCycle{.max = base, .total = total};
  return lr::Constant{base};
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

/// Runs `forward` (one 784-float image → scores) over the test images in blocks of 200: the
/// test accuracy, and the median over blocks of the mean batch-1 time in nanoseconds.
template <class Forward>
std::pair<double, double> batch1_accuracy_and_ns(const io::LabelledImages& test, Forward forward) {
  constexpr std::size_t block = 200;
  std::size_t correct = 0;
  std::vector<double> per_call;
  for (std::size_t start = 0; start + block <= test.count; start += block) {
    const auto t0 = std::chrono::steady_clock::now();
    for (std::size_t s = start; s < start + block; ++s) {
      const auto y = forward(std::span<const float, 784>(test.images.data() + s * 784, 784));
      correct += argmax(y.data(), y.size()) == test.labels[s];  // also keeps the calls observable
    }
    per_call.push_back(std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count() / block);
  }
  std::nth_element(per_call.begin(), per_call.begin() + static_cast<long>(per_call.size() / 2), per_call.end());
  return {static_cast<double>(correct) / static_cast<double>(per_call.size() * block), per_call[per_call.size() / 2]};
}

/// Median over blocks of 200 test images of the mean batch-1 forward time, in nanoseconds.
template <class Be = default_backend, class NetT>
double infer_batch1_ns(const NetT& net, const io::LabelledImages& test) {
  return batch1_accuracy_and_ns(test, [&](std::span<const float, 784> x) { return net.template forward<Be>(x); }).second;
}

/// Test accuracy and median batch-1 time (ns) of a predictor (any class with `forward(x)`).
template <class P>
std::pair<double, double> predictor_accuracy_and_ns(const P& pred, const io::LabelledImages& test) {
  return batch1_accuracy_and_ns(test, [&](std::span<const float, 784> x) { return pred.forward(x); });
}

/// For a network that reduced precision covers: the trained float weights as bf16 and as int8
/// (`BF16Predictor`, `Int8Predictor`), their test accuracy and batch-1 time, in one line.
template <class NetT>
void report_reduced_precision(const NetT& net, const io::LabelledImages& test, double float_accuracy) {
  if constexpr (reducible_v<NetT>) {
    const auto bf = std::make_unique<BF16Predictor<NetT>>(net);
    const auto i8 = std::make_unique<Int8Predictor<NetT>>(net);
    const auto [bf_acc, bf_ns] = predictor_accuracy_and_ns(*bf, test);
    const auto [i8_acc, i8_ns] = predictor_accuracy_and_ns(*i8, test);
    std::printf("reduced precision (float test_accuracy %.4f): bf16_test_accuracy=%.4f bf16_batch1_ns=%.0f "
                "int8_test_accuracy=%.4f int8_batch1_ns=%.0f\n",
                float_accuracy, bf_acc, bf_ns, i8_acc, i8_ns);
  }
}

/// Trains a fresh NetT as `o` says and prints the per-epoch and result lines (defined in
/// fashion_mnist_train.hpp, which only the training translation units include).
template <class NetT, std::size_t B, class Opt, class Be>
int train(const Options& o, const io::FashionMnist& data, typename Opt::Options opt_options);
/// `train` on `o.threads` threads, the batch cut into C chunks (defined in fashion_mnist_train.hpp).
template <class NetT, std::size_t B, class Opt, std::size_t C>
int train_threads(const Options& o, const io::FashionMnist& data, typename Opt::Options opt_options);

}  // namespace example
