// The Fashion-MNIST training routine, a template on the network, batch, optimizer and
// backend. Only the training translation units include this file, each instantiating
// one configuration, so the command-line unit never compiles a trainer.
#pragma once
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cstdint>
#include <memory>
#include <numeric>
#include <span>
#include <vector>

#include <ctnn/data/loader.hpp>
#include <ctnn/io/checkpoint.hpp>

#include "fashion_mnist_common.hpp"

namespace example {
namespace train_detail {
using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

inline void progress(std::size_t done, std::size_t total, float loss) {
  constexpr int width = 30;
  const int filled = static_cast<int>(width * done / total);
  std::printf("\r  [%.*s%*s] %3zu%%  loss %.4f", filled, "##############################", width - filled, "",
              100 * done / total, static_cast<double>(loss));
  std::fflush(stdout);
}

}  // namespace train_detail

/// The epochs, the per-epoch lines and the result line, for any stepper with `step`,
/// `outputs`, `steps` and `optimizer`: a `ctnn::Trainer` or a `ctnn::DataParallel`.
template <class NetT, std::size_t B, class Be, class Stepper>
int run_training(const Options& o, const io::FashionMnist& data, NetT& net, Stepper& trainer) {
  static_assert(NetT::input_size == 784 && NetT::output_size == 10, "a Fashion-MNIST classifier");

  const std::size_t n = o.limit ? std::min(o.limit, data.train.count) : data.train.count;
  const std::size_t steps = n / B;
  if (steps == 0) {
    std::fprintf(stderr, "error: %zu training samples are fewer than one batch of %zu\n", n, B);
    return 1;
  }
  // A stepper that can gather the shuffled rows itself (DataParallel: each worker its own
  // chunks) is handed the row indices; otherwise the loader copies each batch together.
  constexpr bool gathers = requires(std::span<const std::uint32_t> r) {
    trainer.step_rows(data.train.images, data.train.labels, r);
  };
  data::Loader<B, std::uint8_t> loader(
      {std::span<const float>(data.train.images.data(), n * 784), std::span<const std::uint8_t>(data.train.labels.data(), n), 784},
      {.seed = o.seed ^ 0x5DEECE66Dull, .gather = !gathers, .prefetch = !gathers});
  int first_epoch = 1;
  if (o.resume) {  // everything that decides the rest of the run comes back from the file
    const io::TrainingPosition pos = io::load_checkpoint(trainer, o.checkpoint);
    if (pos.order.size() != n)
      ctnn::detail::raise("'" + o.checkpoint + "' was written by a run on " + std::to_string(pos.order.size()) +
                    " samples; this one trains " + std::to_string(n) + " (--limit)");
    for (const char* key : {"epochs", "seed", "schedule"}) {
      const std::string now = key == std::string("epochs") ? std::to_string(o.epochs)
                              : key == std::string("seed") ? std::to_string(o.seed)
                                                           : o.schedule;
      if (pos.extra.count(key) && pos.extra.at(key) != now)
        std::printf("note: the checkpoint was written with --%s %s, this run has %s; the run will differ from one "
                    "never stopped\n", key, pos.extra.at(key).c_str(), now.c_str());
    }
    loader.restore(pos.epoch, pos.rng, pos.order);
    first_epoch = static_cast<int>(pos.epoch) + 1;
    std::printf("resumed from %s after epoch %llu (step %zu)\n", o.checkpoint.c_str(),
                static_cast<unsigned long long>(pos.epoch), trainer.steps());
  }
  std::FILE* csv = nullptr;
  if (!o.metrics.empty()) {
    csv = std::fopen(o.metrics.c_str(), o.resume ? "a" : "w");
    if (!csv) {
      std::fprintf(stderr, "error: cannot write metrics file '%s'\n", o.metrics.c_str());
      return 1;
    }
    if (!o.resume) std::fprintf(csv, "epoch,loss,train_accuracy,test_accuracy,seconds,samples_per_second\n");
  }
  const bool tty = isatty(STDOUT_FILENO);
  std::printf("training %zu samples (%zu steps of %zu, %zu left over per epoch), testing %zu\n", n, steps, B,
              n - steps * B, data.test.count);

  double train_seconds = 0, test_acc = 0;
  const auto schedule = lr_schedule(o, trainer.optimizer().options().lr, steps * static_cast<std::size_t>(o.epochs));

  for (int epoch = first_epoch; epoch <= o.epochs; ++epoch) {
    const auto t0 = train_detail::Clock::now();
    double loss_sum = 0;
    std::size_t correct = 0;
    while (const auto batch = loader.next()) {
      lr::apply(trainer, schedule);
      float loss;
      if constexpr (gathers)
        loss = trainer.step_rows(data.train.images, data.train.labels, batch->rows);
      else
        loss = trainer.step(batch->inputs, batch->targets);
      loss_sum += loss;
      const auto out = trainer.outputs();
      for (std::size_t k = 0; k < batch->count; ++k) correct += argmax(out.data() + k * 10, 10) == data.train.labels[batch->rows[k]];
      const std::size_t s = batch->index;
      if (tty && (s % 20 == 0 || s + 1 == steps)) train_detail::progress(s + 1, steps, static_cast<float>(loss_sum / static_cast<double>(s + 1)));
    }
    const double secs = train_detail::seconds_since(t0);
    train_seconds += secs;
    test_acc = accuracy<256, Be>(net, std::span<const float>(data.test.images), std::span<const std::uint8_t>(data.test.labels));
    const double loss = loss_sum / static_cast<double>(steps);
    const double train_acc = static_cast<double>(correct) / static_cast<double>(steps * B);
    const double sps = static_cast<double>(steps * B) / secs;
    if (tty) std::printf("\r%*s\r", 60, "");
    if (!o.checkpoint.empty())  // before the epoch's line: once it is printed, the checkpoint is on disk
      io::save_checkpoint(trainer,
                          {.epoch = static_cast<std::uint64_t>(epoch), .rng = loader.rng_state(),
                           .order = std::vector<std::uint32_t>(loader.order().begin(), loader.order().end()),
                           .extra = {{"epochs", std::to_string(o.epochs)}, {"seed", std::to_string(o.seed)},
                                     {"schedule", o.schedule}}},
                          o.checkpoint);
    std::printf("epoch %2d/%d  loss %.4f  train_acc %.4f  test_acc %.4f  %.2f s  %.0f samples/s\n", epoch, o.epochs,
                loss, train_acc, test_acc, secs, sps);
    std::fflush(stdout);
    if (csv) std::fprintf(csv, "%d,%.6f,%.6f,%.6f,%.4f,%.1f\n", epoch, loss, train_acc, test_acc, secs, sps);
  }
  if (csv) std::fclose(csv);
  std::printf("weights fingerprint %016llx (FNV-1a of the parameters' bytes: ctnn::DataParallel trains the same "
              "weights on --threads 1 --data-parallel and 2, and on 3 and 4)\n",
              static_cast<unsigned long long>(weights_fingerprint(net.params())));
  if (first_epoch > o.epochs)  // resumed from the last epoch: nothing left to train
    test_acc = accuracy<256, Be>(net, std::span<const float>(data.test.images), std::span<const std::uint8_t>(data.test.labels));
  report_reduced_precision(net, data.test, test_acc);
  std::printf("result test_accuracy=%.4f epoch_seconds=%.3f infer_batch1_ns=%.0f\n", test_acc,
              train_seconds / std::max(1, o.epochs - first_epoch + 1), infer_batch1_ns<Be>(net, data.test));
  return 0;
}

template <class NetT, std::size_t B, class Opt, class Be>
int train(const Options& o, const io::FashionMnist& data, typename Opt::Options opt_options) {
  auto net = std::make_unique<NetT>();  // parameters on the heap, not the stack
  net->init(init::HeUniform{}, o.seed);
  Trainer<NetT, loss::SoftmaxCrossEntropy, Opt, Batch<B>, Be> trainer{*net, opt_options, o.seed};
  return run_training<NetT, B, Be>(o, data, *net, trainer);
}


}  // namespace example
