#pragma once
/**
 * @file loader.hpp
 * @brief `ctnn::data::Dataset` (a view of samples and targets in memory) and
 * `ctnn::data::Loader<B>`: seeded shuffling (the same order for the same seed, everywhere),
 * batches of B, a last partial batch dropped or kept, and optional prefetching of the next
 * batch on a thread.
 *
 *     data::Loader<64, std::uint8_t> loader({images, labels, 784}, {.seed = 42, .last = data::LastBatch::keep});
 *     while (auto b = loader.next()) trainer.step(b->inputs, b->targets);   // one epoch
 *
 * A `Trainer` takes the partial batch (n < B samples): its loss and gradients count only
 * those n.
 */
#include <algorithm>
#include <array>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <numeric>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "../core/rng.hpp"
#include "../detail/raise.hpp"

CTNN_BEGIN_NAMESPACE
namespace data {

/// N samples of `features` floats each, and `targets_per_sample` targets each (a label, or values).
template <class Target>
struct Dataset {
  std::span<const float> inputs;
  std::span<const Target> targets;
  std::size_t features = 1;
  std::size_t targets_per_sample = 1;

  /// The number of samples; raises if inputs and targets disagree.
  std::size_t size() const {
    if (features == 0 || targets_per_sample == 0 || inputs.size() % features != 0 ||
        targets.size() != inputs.size() / features * targets_per_sample)
      ctnn::detail::raise("ctnn::data::Dataset: " + std::to_string(inputs.size()) + " input values of " +
                          std::to_string(features) + " a sample and " + std::to_string(targets.size()) +
                          " targets of " + std::to_string(targets_per_sample) + " a sample do not make whole samples");
    return inputs.size() / features;
  }
};

/// What happens to the samples left over after the last whole batch.
enum class LastBatch {
  drop,  ///< not trained on this epoch
  keep,  ///< a partial batch (a Trainer counts only its real samples)
};

/// Options of a `Loader`.
struct LoaderOptions {
  bool shuffle = true;             ///< a new order every epoch (Fisher–Yates with ctnn::Rng)
  std::uint64_t seed = 0;          ///< the order's generator seed
  LastBatch last = LastBatch::drop;
  bool gather = true;              ///< copy each batch's samples together (off: rows only)
  bool prefetch = false;           ///< gather the next batch on a thread while this one trains
};

/// One batch: `count` samples (B, or fewer for a kept last batch), their rows in the data set.
template <class Target>
struct BatchView {
  std::span<const float> inputs;          ///< count · features values (empty without gather)
  std::span<const Target> targets;        ///< count · targets_per_sample values (empty without gather)
  std::span<const std::uint32_t> rows;    ///< the samples' indices in the data set
  std::size_t count = 0;
  std::size_t index = 0;                  ///< the batch's number in its epoch
};

/**
 * @brief Batches of B from a `Dataset`, epoch after epoch. `next()` returns the next batch
 * of the current epoch (valid until the following call), or nothing at the epoch's end, after
 * which the next call starts a new epoch (reshuffled). Its state (`epoch()`, `rng_state()`,
 * `order()`) goes into checkpoints and comes back with `restore`.
 */
template <std::size_t B, class Target>
class Loader {
  static_assert(B > 0, "ctnn::data::Loader<B>: the batch holds at least one sample");

 public:
  Loader(Dataset<Target> ds, LoaderOptions opt = {}) : ds_(ds), opt_(opt), n_(ds.size()), rng_(opt.seed) {
    order_.resize(n_);
    std::iota(order_.begin(), order_.end(), 0u);
    for (auto& b : buf_) {
      if (opt_.gather) {
        b.x.resize(B * ds_.features);
        b.t.resize(B * ds_.targets_per_sample);
      }
    }
    if (opt_.prefetch && opt_.gather) worker_ = std::thread([this] { fill_loop(); });
  }
  ~Loader() {
    if (worker_.joinable()) {
      {
        std::lock_guard lock(m_);
        quit_ = true;
      }
      cv_.notify_all();
      worker_.join();
    }
  }
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  std::size_t size() const noexcept { return n_; }  ///< samples in the data set
  /// Batches in each epoch (the partial one included when kept).
  std::size_t batches_per_epoch() const noexcept {
    return n_ / B + (opt_.last == LastBatch::keep && n_ % B != 0 ? 1 : 0);
  }
  std::size_t epoch() const noexcept { return epoch_; }  ///< epochs started
  std::array<std::uint64_t, 5> rng_state() const noexcept { return rng_.state(); }
  std::span<const std::uint32_t> order() const noexcept { return order_; }

  /// Continues from a saved state: `epochs` started and completed, the generator, the order.
  void restore(std::size_t epochs, const std::array<std::uint64_t, 5>& rng, std::span<const std::uint32_t> order) {
    if (order.size() != n_)
      ctnn::detail::raise("ctnn::data::Loader::restore: the saved order holds " + std::to_string(order.size()) +
                          " samples, this data set " + std::to_string(n_));
    wait_idle();
    epoch_ = epochs;
    rng_ = Rng::from_state(rng);
    order_.assign(order.begin(), order.end());
    next_batch_ = batches_per_epoch();  // the saved epoch is over: the next call starts a new one
  }

  /// The next batch of this epoch, or nothing when the epoch is over (the next call starts another).
  std::optional<BatchView<Target>> next() {
    if (next_batch_ >= batches_per_epoch()) {
      if (in_epoch_) {
        in_epoch_ = false;
        next_batch_ = batches_per_epoch();
        return std::nullopt;
      }
      start_epoch();
      if (batches_per_epoch() == 0) return std::nullopt;  // fewer samples than a batch, dropped
    }
    in_epoch_ = true;
    const std::size_t k = next_batch_++;
    Buffer& b = buf_[k % 2];
    if (opt_.gather) {
      if (worker_.joinable()) {
        std::unique_lock lock(m_);
        cv_.wait(lock, [&] { return b.ready_batch == k; });
      } else {
        fill(b, k);
      }
      if (worker_.joinable() && k + 1 < batches_per_epoch()) request(k + 1);
    }
    const std::size_t first = k * B, count = std::min(B, n_ - first);
    BatchView<Target> v;
    v.rows = std::span<const std::uint32_t>(order_.data() + first, count);
    v.count = count;
    v.index = k;
    if (opt_.gather) {
      v.inputs = std::span<const float>(b.x.data(), count * ds_.features);
      v.targets = std::span<const Target>(b.t.data(), count * ds_.targets_per_sample);
    }
    return v;
  }

 private:
  struct Buffer {
    std::vector<float> x;
    std::vector<Target> t;
    std::size_t ready_batch = static_cast<std::size_t>(-1);
  };

  void start_epoch() {
    wait_idle();
    if (opt_.shuffle)
      for (std::size_t k = n_ - 1; n_ > 1 && k > 0; --k) std::swap(order_[k], order_[rng_.below(k + 1)]);
    ++epoch_;
    next_batch_ = 0;
    for (auto& b : buf_) b.ready_batch = static_cast<std::size_t>(-1);
    if (worker_.joinable() && batches_per_epoch() > 0) request(0);
  }

  /// Copies batch k's samples into `b` (on the caller's thread or the worker's).
  void gather(Buffer& b, std::size_t k) const {
    const std::size_t first = k * B, count = std::min(B, n_ - first);
    const std::size_t f = ds_.features, tp = ds_.targets_per_sample;
    for (std::size_t s = 0; s < count; ++s) {
      const std::size_t row = order_[first + s];
      std::copy_n(ds_.inputs.data() + row * f, f, b.x.data() + s * f);
      std::copy_n(ds_.targets.data() + row * tp, tp, b.t.data() + s * tp);
    }
  }
  void fill(Buffer& b, std::size_t k) {
    gather(b, k);
    b.ready_batch = k;
  }

  // Prefetching: one request at a time; the worker fills buffer k % 2 for batch k.
  void request(std::size_t k) {
    {
      std::lock_guard lock(m_);
      requested_ = k;
      busy_ = true;
    }
    cv_.notify_all();
  }
  void wait_idle() {
    if (!worker_.joinable()) return;
    std::unique_lock lock(m_);
    cv_.wait(lock, [&] { return !busy_; });
  }
  void fill_loop() {
    std::unique_lock lock(m_);
    for (;;) {
      cv_.wait(lock, [&] { return quit_ || busy_; });
      if (quit_) return;
      const std::size_t k = requested_;
      lock.unlock();
      Buffer& b = buf_[k % 2];
      gather(b, k);
      lock.lock();
      b.ready_batch = k;
      busy_ = false;
      cv_.notify_all();
    }
  }

  Dataset<Target> ds_;
  LoaderOptions opt_;
  std::size_t n_;
  Rng rng_;
  std::vector<std::uint32_t> order_;
  std::size_t epoch_ = 0, next_batch_ = static_cast<std::size_t>(-1);
  bool in_epoch_ = false;
  Buffer buf_[2];
  std::thread worker_;
  std::mutex m_;
  std::condition_variable cv_;
  std::size_t requested_ = 0;
  bool busy_ = false, quit_ = false;
};

}  // namespace data
CTNN_END_NAMESPACE
