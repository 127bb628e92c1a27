#pragma once
/**
 * @file data_parallel.hpp
 * @brief Data-parallel training over threads: `ctnn::DataParallel<Trainer<...>, Threads<N>>`.
 *
 * The global batch of B samples is cut into C equal *chunks* (C fixed at compile time,
 * `Chunks<C>`; by default one per thread for `Threads<N>`, else the largest divisor of B
 * up to 4). Persistent workers, pinned
 * to cores, take chunks round-robin; each computes its chunk's gradient into the chunk's
 * own block (loss gradient scaled by 1/C). Then every worker sums a fixed range of the
 * parameter vector over the chunks, always in chunk order 0..C−1, checks that range for
 * NaN/Inf, and — after a barrier, only when every range and the loss are clean — applies
 * its own copy of the optimizer to the range. Because a chunk's gradient and the order of
 * the reduction do not depend on which thread did what, the weights are bit-identical for
 * any thread count from 1 to C (uneven shares included: 3 threads on 4 chunks), and the
 * update is the one `Trainer` makes on the whole batch up to rounding.
 *
 * On a SIMD backend, when the first layer is a Dense (usually the widest: 784×256 is 85%
 * of the Fashion-MNIST MLP), it is split by its input rows instead, so that its weights
 * never cross cores. The rows are cut into C fixed near-equal *groups* and each
 * worker owns whole groups: it computes its groups' partial products x[:, rows]·W[rows, :]
 * for the whole batch (barrier; each chunk's first-layer output is the partials summed in
 * group order, then bias and activation); each chunk stores only dz = dy ⊙ act' of the
 * first layer; after the next barrier the owner computes its rows of dW = xᵀ dz over the
 * whole batch — a reduce-scatter done by the product itself, with no zeroing and no chunk
 * sums. When a pre-check proves every gradient of the step finite, the optimizer's rule is
 * applied to each gradient vector in the product's epilogue (dW never goes to memory);
 * otherwise the rows are stored, checked, and updated after the barrier. Groups
 * and panels are fixed at compile time, so this too is independent of the thread count;
 * the fused panels are claimed (own first, then the others' from their end), so that a
 * worker done early takes over the rest. The first layer reads the batch through its row
 * indices (`step_rows`: where the samples lie in the data set; no copy).
 * The other Dense layers' Wᵀ (for their input gradients) is transposed once per step by
 * each worker into its own copy.
 *
 * A network of exactly three Dense nodes (the Fashion-MNIST MLP) goes further and is split
 * by its weights alone: the second node by its input rows too (grouped like the first's),
 * the small third node computed by every worker for the whole batch. No gradient is summed
 * over chunks; each worker differentiates and updates contiguous rows of both large
 * matrices, and only partial products cross between cores. Details and figures:
 * docs/parallelism.md.
 */
#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <numeric>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "../core/memory.hpp"
#include "../detail/finite.hpp"
#include "../detail/raise.hpp"
#include "../network/trainer.hpp"
#include "threading.hpp"

CTNN_BEGIN_NAMESPACE

/// Worker threads: `Threads<4>`, or `Threads<0>` to choose the count at run time.
template <std::size_t N>
struct Threads {
  static constexpr std::size_t count = N;
};

/// Chunks the batch is cut into (the most threads that share it, and the unit of determinism).
template <std::size_t C>
struct Chunks {
  static_assert(C >= 1, "ctnn::Chunks<C>: at least one chunk");
  static constexpr std::size_t count = C;
};

namespace dp_detail {
template <class T>
struct trainer_traits {
  static constexpr bool valid = false;
};
template <class NetT, class L, class O, std::size_t B, class Be>
struct trainer_traits<Trainer<NetT, L, O, Batch<B>, Be>> {
  static constexpr bool valid = true;
  using net = NetT;
  using loss = L;
  using optimizer = O;
  using backend = Be;
  static constexpr std::size_t batch = B;
};
/// A Dense layer's sizes, or 1 × 1 where there is none to split.
template <class Lay, bool Dense>
struct dense_dims {
  static constexpr std::size_t in = 1, out = 1;
};
template <class Lay>
struct dense_dims<Lay, true> {
  static constexpr std::size_t in = Lay::in, out = Lay::out;
};
/// A network of exactly three fused Dense nodes (Dense, activations, Dense, activations,
/// Dense[, activations]) on a SIMD backend: the sizes and parameter offsets of its second
/// and third nodes; else placeholders.
template <class NetT, bool On>
struct mlp3_dims {
  static constexpr std::size_t mid = 1, w2 = 0, b2 = 0, w3 = 0, b3 = 0;
  using act1 = detail::node_activation<NetT, 0>;
  using act2 = act1;
};
template <class NetT>
struct mlp3_dims<NetT, true> {
  using P = FusionPlan<NetT>;
  using L1 = typename NetT::template layer<P::first[1]>;
  using L2 = typename NetT::template layer<P::first[2]>;
  static constexpr std::size_t mid = L1::out;
  static constexpr std::size_t w2 = NetT::param_offsets[P::first[1]], b2 = w2 + L1::weight_count;
  static constexpr std::size_t w3 = NetT::param_offsets[P::first[2]], b3 = w3 + L2::weight_count;
  using act1 = detail::node_activation<NetT, 1>;
  using act2 = detail::node_activation<NetT, 2>;
};
template <class NetT, bool SplitFirst>
constexpr bool is_mlp3() {
  using P = FusionPlan<NetT>;
  if constexpr (!SplitFirst || P::count != 3)
    return false;
  else
    return P::template dense_at<P::first[1]> && P::template dense_at<P::first[2]>;
}
constexpr std::size_t default_chunks(std::size_t b) {
  for (std::size_t c = std::min<std::size_t>(b, 4); c > 1; --c)
    if (b % c == 0) return c;
  return 1;
}
/// One chunk per thread when the count is fixed at compile time; else up to 4.
template <class TrainerT, class ThreadsT>
using default_chunks_t = Chunks<(ThreadsT::count > 0 && trainer_traits<TrainerT>::batch % ThreadsT::count == 0)
                                    ? ThreadsT::count
                                    : default_chunks(trainer_traits<TrainerT>::batch)>;
}  // namespace dp_detail

/**
 * @brief Trains like `TrainerT` (a `ctnn::Trainer<Net, Loss, Optimizer, Batch<B>, Backend>`)
 * with the batch spread over worker threads.
 */
template <class TrainerT, class ThreadsT = Threads<0>, class ChunksT = dp_detail::default_chunks_t<TrainerT, ThreadsT>>
class DataParallel {
  using traits = dp_detail::trainer_traits<TrainerT>;
  static_assert(traits::valid, "ctnn::DataParallel<T, Threads<N>>: T must be a ctnn::Trainer<Net, Loss, Optimizer, Batch<B>>");

 public:
  using NetT = typename traits::net;
  using L = typename traits::loss;
  using O = typename traits::optimizer;
  using Be = typename traits::backend;
  static constexpr std::size_t batch = traits::batch;
  static constexpr std::size_t chunks = ChunksT::count;
  static constexpr std::size_t chunk = batch / chunks;  ///< samples per chunk
  static constexpr std::size_t out_n = NetT::output_size;
  static constexpr std::size_t targets_per_sample = L::template targets_per_sample<out_n>;
  static_assert(batch % chunks == 0, "ctnn::DataParallel: the batch must split into equal chunks (Chunks<C> with B % C == 0)");

  /**
   * @param threads workers (1..chunks); `Threads<N>` with N > 0 fixes it at compile time.
   * @throws ctnn::Error if the count is 0 or more than the chunks.
   */
  /// Options naming something `O::Options` lacks: one readable error (see `reject_options`).
  template <class Unused = void>
  DataParallel(NetT& net, detail::AnyOptimizerOptions, std::size_t threads = ThreadsT::count, std::uint64_t seed = 0)
      : DataParallel(net, typename O::Options{}, threads, seed) {
    detail::reject_options<O, Unused>();
  }

  explicit DataParallel(NetT& net, typename O::Options opts = {}, std::size_t threads = ThreadsT::count,
                        std::uint64_t seed = 0)
      : net_(net),
        opt_(opts),
        seed_(seed),
        threads_(threads),
        chunk_grads_(split_mlp ? 0 : chunks * NetT::param_count),
        grad_(NetT::param_count),
        state_(O::state_blocks * NetT::param_count),
        acts_(split_mlp ? 0 : chunks * NetT::activation_count * chunk),
        dout_(split_mlp ? 0 : chunks * out_n * chunk),
        y_(split_mlp ? 0 : batch * out_n),
        dz_first_(split_first && !split_mlp ? batch * first_out : 0) {
    static_assert(ThreadsT::count <= chunks, "ctnn::DataParallel: more threads than chunks; raise Chunks<C>");
    if (threads_ == 0 || threads_ > chunks)
      detail::raise("ctnn::DataParallel: thread count " + std::to_string(threads_) + " outside [1, " +
                    std::to_string(chunks) + "] (the batch is cut into " + std::to_string(chunks) + " chunks)");
    for (std::size_t w = 0; w < threads_; ++w) {
      workers_.push_back(std::make_unique<Worker>(opts));
      // Every range boundary is a multiple of 64 floats from the start of its part (or
      // the part's end, the same for every thread count), so each element takes the same
      // path through the vectorised update whatever the thread count: bit-identical.
      Worker& me = *workers_[w];
      auto slice = [&](std::size_t from, std::size_t to, std::size_t v) {
        return v == threads_ ? to : std::min(to, from + ((to - from) * v / threads_ + 63) / 64 * 64);
      };
      if constexpr (split_first) {
        // Whole groups of first-layer rows, and a slice of the rest of the block (34K
        // floats of 235K for the Fashion-MNIST MLP).
        me.group_begin = share(w, threads_, groups);
        me.group_end = share(w + 1, threads_, groups);
        // The second node's row groups go the other way round (worker w takes those of the
        // first-layer groups of worker threads − 1 − w): the parameter block holds W1's rows,
        // then b1, then W2's rows, and a core's hardware prefetcher reads on past the end of
        // the rows it streams. This way the last worker's W1 rows are followed by its own
        // W2 rows, and the first worker's W2 rows by its own third node, instead of lines
        // the other core must take back before each write (docs/parallelism.md, section A).
        // The same groups are computed, so the same bits.
        me.hid_begin = share(threads_ - 1 - w, threads_, groups);
        me.hid_end = share(threads_ - w, threads_, groups);
        me.range[0] = {group_row(me.group_begin) * first_out, group_row(me.group_end) * first_out};
        if constexpr (!split_mlp)  // the split MLP's workers update segments (for_each_mlp_segment)
          me.range[1] = {slice(first_weights, NetT::param_count, w), slice(first_weights, NetT::param_count, w + 1)};
      } else {
        me.range[1] = {slice(0, NetT::param_count, w), slice(0, NetT::param_count, w + 1)};
      }
    }
    barrier_ = std::make_unique<pipeline_detail::Barrier>(threads_);
    crew_.start_pinned(threads_, [](std::size_t w) { return w; }, [this](std::size_t w, int) { work(w); });
  }
  DataParallel(const DataParallel&) = delete;
  DataParallel& operator=(const DataParallel&) = delete;

  /**
   * @brief One optimizer step on the global batch.
   * @return the batch-mean loss before the update.
   * @throws ctnn::Error on a size mismatch, an invalid label, or a non-finite loss or
   * gradient (parameters then unchanged).
   */
  template <class Tt>
  float step(std::span<const float> inputs, std::span<const Tt> targets) {
    detail::check_batch<L, NetT::input_size, out_n, batch>("ctnn::DataParallel::step", inputs.size(), targets, steps_);
    x_ = inputs.data();
    x_index_ = identity_.data();
    targets_ = targets.data();
    gather_ = nullptr;
    return run_step<Tt>();
  }

  /**
   * @brief One optimizer step on the samples `rows` (B indices) of a data set in memory:
   * sample i is `inputs[i·input_size …]` with targets `targets[i·targets_per_sample …]`.
   * A first layer split by rows (a Dense first layer on a SIMD backend) reads the samples
   * where they lie, through the indices; otherwise each worker copies its own chunks'
   * samples. Either way a shuffled epoch needs no serial gather. Same result as `step` on
   * the gathered batch, bit for bit.
   * @throws ctnn::Error on a row past the data set, an invalid label, or a non-finite loss
   * or gradient (parameters then unchanged).
   */
  template <class Tt>
  float step_rows(std::span<const float> inputs, std::span<const Tt> targets, std::span<const std::uint32_t> rows) {
    static_assert(sizeof(Tt) <= sizeof(std::uint64_t), "ctnn::DataParallel::step_rows: targets of at most 8 bytes");
    const std::size_t samples = inputs.size() / NetT::input_size;
    if (rows.size() != batch)
      detail::raise("ctnn::DataParallel::step_rows: expected " + std::to_string(batch) + " row indices, got " +
                    std::to_string(rows.size()));
    if (inputs.size() % NetT::input_size != 0 || targets.size() != samples * targets_per_sample)
      detail::raise("ctnn::DataParallel::step_rows: the data set's inputs (" + std::to_string(inputs.size()) +
                    " values) and targets (" + std::to_string(targets.size()) + ") do not hold the same whole samples");
    for (std::uint32_t r : rows) {
      if (r >= samples)
        detail::raise("ctnn::DataParallel::step_rows: row " + std::to_string(r) + " is past the data set's " +
                      std::to_string(samples) + " samples");
      if constexpr (std::is_integral_v<Tt>)
        if (!L::template valid_targets<out_n, 1>(targets.data() + std::size_t{r} * targets_per_sample))
          detail::raise("ctnn::DataParallel::step_rows: the label of row " + std::to_string(r) + " is outside [0, " +
                        std::to_string(out_n) + ")");
    }
    if (!gathered_t_) {
      if constexpr (!split_first) gathered_x_ = AlignedBuffer(batch * NetT::input_size);
      gathered_t_ = std::make_unique<std::byte[]>(batch * targets_per_sample * sizeof(std::uint64_t));
    }
    // Worker w copies its chunks' targets (a split MLP's: every target) and, unless the
    // first layer is split by rows (read through the indices), its chunks' inputs.
    gather_ = [](DataParallel& self, std::size_t w) {
      const auto* src = static_cast<const Tt*>(self.gather_targets_);
      auto* dst = reinterpret_cast<Tt*>(self.gathered_t_.get());
      if constexpr (split_mlp)  // every worker needs every target (each computes the loss)
        for (std::size_t s = 0; s < batch; ++s)
          std::copy_n(src + std::size_t{self.gather_rows_[s]} * targets_per_sample, targets_per_sample,
                      reinterpret_cast<Tt*>(self.workers_[w]->targets.get()) + s * targets_per_sample);
      else
        for (std::size_t c = w; c < chunks; c += self.threads_)
          for (std::size_t s = c * chunk; s < (c + 1) * chunk; ++s) {
            const std::size_t r = self.gather_rows_[s];
            std::copy_n(src + r * targets_per_sample, targets_per_sample, dst + s * targets_per_sample);
            if constexpr (!split_first)
              std::copy_n(self.gather_inputs_ + r * NetT::input_size, NetT::input_size,
                          self.gathered_x_.data() + s * NetT::input_size);
          }
    };
    gather_inputs_ = inputs.data();
    gather_targets_ = targets.data();
    gather_rows_ = rows.data();
    x_ = split_first ? inputs.data() : gathered_x_.data();
    x_index_ = split_first ? rows.data() : identity_.data();
    targets_ = gathered_t_.get();
    return run_step<Tt>();
  }
  template <std::ranges::contiguous_range X, std::ranges::contiguous_range Y>
  float step_rows(const X& inputs, const Y& targets, std::span<const std::uint32_t> rows) {
    using Tt = std::ranges::range_value_t<Y>;
    return step_rows(std::span<const float>(std::ranges::data(inputs), std::ranges::size(inputs)),
                     std::span<const Tt>(std::ranges::data(targets), std::ranges::size(targets)), rows);
  }

 private:
  template <class Tt>
  float run_step() {
    loss_fn_ = [](const float* out, const void* t, std::size_t c, float* d) -> float {
      const auto* chunk_targets = static_cast<const Tt*>(t) + c * chunk * targets_per_sample;
      return detail::loss_value_and_gradient<L, Be, out_n, chunk>(out, chunk_targets, d);
    };
    crew_.run(0);
    if constexpr (!split_mlp) {  // each chunk's outputs lie in its own activation block
      constexpr std::size_t last = NetT::activation_offsets[NetT::layer_count - 1];
      for (std::size_t c = 0; c < chunks; ++c)
        std::copy_n(acts_.data() + (c * NetT::activation_count + last) * chunk, chunk * out_n, y_.data() + c * chunk * out_n);
    }
    gradients_kept_ = keep_gradients_;
    double loss = 0;
    for (double l : chunk_loss_) loss += l;  // fixed order
    loss /= chunks;
    if (!std::isfinite(loss))
      detail::raise("ctnn::DataParallel::step: non-finite loss at step " + std::to_string(steps_) +
                    "; check the inputs for NaN/Inf or lower the learning rate (parameters left unchanged)");
    for (const auto& w : workers_)
      if (w->bad != no_bad)
        detail::raise("ctnn::DataParallel::step: non-finite gradient at step " + std::to_string(steps_) +
                      " (parameter " + std::to_string(w->bad) + "); parameters left unchanged");
    ++steps_;
    return static_cast<float>(loss);
  }

 public:
  template <std::ranges::contiguous_range X, std::ranges::contiguous_range Y>
  float step(const X& inputs, const Y& targets) {
    using Tt = std::ranges::range_value_t<Y>;
    return step(std::span<const float>(std::ranges::data(inputs), std::ranges::size(inputs)),
                std::span<const Tt>(std::ranges::data(targets), std::ranges::size(targets)));
  }

  std::size_t threads() const noexcept { return threads_; }
  std::size_t steps() const noexcept { return steps_; }
  /// Steps whose first-layer update had to wait for the whole step's NaN/Inf check (a split
  /// first layer whose gradient could not be proven finite in advance: a non-finite or very
  /// large input, or a gradient that is or may become non-finite; or every step, for an
  /// optimizer without `step_rule()`) — one more pass over that gradient each. 0 in
  /// ordinary training with optim::SGD or optim::Adam.
  std::size_t deferred_steps() const noexcept { return deferred_; }
  /**
   * @brief Whether steps keep the whole reduced gradient for `gradients()` (off by default).
   * Off, the first layer's weight gradient of a split first layer is applied panel by
   * panel as it is computed and never stored — a pass over its 4·in·out bytes fewer per step.
   */
  void keep_gradients(bool on) noexcept { keep_gradients_ = on; }
  /**
   * @brief The last step's reduced gradients (the chunks' blocks summed in chunk order).
   * @throws ctnn::Error unless the last step ran with `keep_gradients(true)`.
   */
  std::span<const float> gradients() const {
    if (!gradients_kept_)
      detail::raise("ctnn::DataParallel::gradients: the last step did not keep them; call keep_gradients(true) before it");
    return grad_.span();
  }
  /// Its options (e.g. the learning rate) are copied to every worker's optimizer each step.
  O& optimizer() noexcept { return opt_; }
  NetT& net() noexcept { return net_; }
  /// The optimizer state, as checkpoints save it (its layout follows the threads' ranges).
  std::span<float> optimizer_state() noexcept { return state_.span(); }
  /// How `optimizer_state` is laid out: a checkpoint restores only into the same layout.
  std::string state_layout() const {
    return "ctnn::DataParallel threads=" + std::to_string(threads_) + " chunks=" + std::to_string(chunks);
  }
  /// Continues counting from `n` completed steps (every worker's optimizer too): for resuming.
  void restore_steps(std::size_t n) noexcept {
    steps_ = n;
    detail::restore_optimizer_steps(opt_, n);
    for (auto& w : workers_)
      for (auto& o : w->opt) detail::restore_optimizer_steps(o, n);
  }
  /// The outputs for the last batch (B·output_size values, in sample order); valid until
  /// the next step. Allocates nothing.
  std::span<const float> outputs() const noexcept {
    if constexpr (split_mlp)
      return {workers_[0]->y3.data(), batch * out_n};
    else
      return y_.span();
  }

 private:
  static constexpr std::size_t no_bad = ~std::size_t{0};
  static constexpr std::size_t extra = [] {
    if constexpr (SimdBackend<Be>)
      return FusionPlan<NetT>::template backward_scratch<chunk>;
    else
      return std::size_t{0};
  }();

  using Plan = FusionPlan<NetT>;
  static constexpr bool split_first = [] {
    if constexpr (SimdBackend<Be>)
      return Plan::template dense_at<0>;
    else
      return false;
  }();
  static constexpr std::size_t first_in = dp_detail::dense_dims<typename NetT::template layer<0>, split_first>::in;
  static constexpr std::size_t first_out = dp_detail::dense_dims<typename NetT::template layer<0>, split_first>::out;
  static constexpr std::size_t first_weights = split_first ? first_in * first_out : 0;  ///< floats
  /// Rows whose weights span a multiple of 64 floats: every range and panel boundary is
  /// one, so each weight takes the same path through the vectorised update wherever it lies.
  static constexpr std::size_t row_align = 64 / std::gcd(first_out, std::size_t{64});
  /// Group boundaries fall on multiples of this many rows: aligned, and whole 6-row
  /// micro-kernel blocks where the alignment allows.
  static constexpr std::size_t row_quantum = 6 / std::gcd(std::size_t{6}, row_align) * row_align;
  /// First-layer rows per panel of the weight-gradient product: a multiple of 24 (whole
  /// micro-kernel row blocks) and of the alignment.
  static constexpr std::size_t panel_rows = std::min(first_in, 24 / std::gcd(std::size_t{24}, row_align) * row_align);
  /// The first layer's input rows are cut into `groups` groups of near-equal size (each a
  /// multiple of row_quantum rows but the last); a group's forward product (its rows' share
  /// of x·W for the whole batch) is one partial sum, and the partials are added in group
  /// order — so, like the chunks, independent of threads. Within a group the weight
  /// gradient is computed in panels of panel_rows from the group's first row.
  static constexpr std::size_t groups = chunks;
  /// Bound v of `parts` near-equal runs of `n` items in order; empty runs come first, so
  /// the last run is never empty while n ≥ 1.
  static constexpr std::size_t share(std::size_t v, std::size_t parts, std::size_t n) {
    return n >= parts ? (v * n + parts - 1) / parts : (v + n < parts ? 0 : v + n - parts);
  }
  static constexpr std::size_t group_row(std::size_t g) {
    return g >= groups ? first_in : std::min(first_in, (g * first_in + groups * row_quantum / 2) / (groups * row_quantum) * row_quantum);
  }
  /// The weight-gradient panels of all groups, numbered in row order: group g's are
  /// [panel_begin(g), panel_begin(g + 1)), full panels of panel_rows and then its tail.
  static constexpr std::size_t panel_begin(std::size_t g) {
    std::size_t n = 0;
    for (std::size_t h = 0; h < std::min(g, groups); ++h) n += (group_row(h + 1) - group_row(h) + panel_rows - 1) / panel_rows;
    return n;
  }
  static constexpr std::size_t panel_count = panel_begin(groups);

  /// A network of three Dense nodes (the Fashion-MNIST MLP) is split across the workers by
  /// its weights, not its samples: the first and the second node both by their input rows
  /// (the second's rows are the first's output columns), so each worker updates contiguous
  /// rows of both matrices and no gradient is summed over chunks; the small third node is
  /// computed by every worker for the whole batch. Each step moves only partial products
  /// between the cores: x·W₁ by row group (B × first_out each), h₁·W₂ by row group (B × mid
  /// each), and each group's columns of the first node's input gradient (B × first_out in all).
  static constexpr bool split_mlp = dp_detail::is_mlp3<NetT, split_first>();
  using M3 = dp_detail::mlp3_dims<NetT, split_mlp>;
  using Act0 = detail::node_activation<NetT, 0>;
  using Act1 = typename M3::act1;
  using Act2 = typename M3::act2;
  static constexpr std::size_t mid = M3::mid;  ///< the second node's width
  /// The second node's input rows (the first node's outputs) are cut into `groups` near-equal
  /// groups of multiples of 16; worker w owns the groups whose numbers are those of the
  /// first-layer row groups of worker threads − 1 − w (see the constructor). Fixed at compile
  /// time like the row groups: the same products for every thread count.
  static constexpr std::size_t hid_quantum = 16;
  static constexpr std::size_t group_hid(std::size_t g) {
    return g >= groups ? first_out
                       : std::min(first_out, (g * first_out + groups * hid_quantum / 2) / (groups * hid_quantum) * hid_quantum);
  }
  template <class Act>
  static constexpr std::size_t if_needs_input(std::size_t n) {
    return split_mlp && kernel::simd::vector_activation<Act>::needs_input ? n : 0;
  }

  struct Range {
    std::size_t begin = 0, end = 0;
  };
  struct Worker {
    explicit Worker(typename O::Options o) : opt{O(o), O(o)} {}
    std::array<O, 2> opt;  ///< one per range, so each steps once per step (Adam's count)
    AlignedBuffer scratch{split_mlp ? 0 : 2 * NetT::max_width * chunk + extra};
    AlignedBuffer wt{SimdBackend<Be> && !split_mlp ? NetT::param_count : 0};  ///< Wᵀ of Dense layers, refreshed every step
    /// Parameters this worker updates: [0] first-layer weight rows it computed itself
    /// (split_first), [1] a slice of the others, which it first sums over the chunks.
    std::array<Range, 2> range{};
    std::size_t group_begin = 0, group_end = 0;  ///< first-layer row groups it owns
    std::size_t hid_begin = 0, hid_end = 0;      ///< split_mlp: second-node row groups it owns
    std::uint32_t x_bits = 0;  ///< max |x| (as bits) over its rows of the batch's inputs
    std::size_t bad = no_bad;        ///< first non-finite gradient in the range
    // split_mlp: what every worker computes for the whole batch, each its own copy (the
    // first node's output in the columns its groups read, the second node's output and
    // gradient, the logits and theirs, db2 and db3), and Wᵀ of its rows of the second
    // node and of the whole third.
    static constexpr std::size_t h_n = split_mlp ? batch * first_out : 0, m_n = split_mlp ? batch * mid : 0,
                                 o_n = split_mlp ? batch * out_n : 0;
    AlignedBuffer h1{h_n}, z1{if_needs_input<Act0>(h_n)};  ///< only its row groups' columns
    AlignedBuffer h2{m_n}, z2{if_needs_input<Act1>(m_n)}, dz2{m_n};
    AlignedBuffer y3{o_n}, z3{if_needs_input<Act2>(o_n)}, dz3{o_n}, db{split_mlp ? mid + out_n : 0};
    AlignedBuffer wt2{split_mlp ? mid * first_out : 0}, wt3{split_mlp ? out_n * mid : 0};
    std::unique_ptr<std::byte[]> targets{split_mlp ? new std::byte[batch * targets_per_sample * sizeof(std::uint64_t)] : nullptr};
    std::array<double, chunks> loss{};
  };

  /// Stores like `StoreEpilogue` and flags any NaN/±Inf on the way (lanes past a partial
  /// vector may flag falsely; a flag only triggers the exact scan).
  struct StoreCheckEpilogue {
    using V = kernel::simd::vec<Be>;
    float* c;
    typename V::batch_bool_type poison = typename V::batch_bool_type(false);
    template <std::size_t L>
    void store(V acc, std::size_t m, std::size_t j) noexcept {
      kernel::simd::store_n<L>(Be{}, c + m * first_out + j, acc);
      poison = poison | (xsimd::abs(acc) > V(std::numeric_limits<float>::max())) | (acc != acc);
    }
  };

  /// Applies one optimizer step to each gradient vector as the product makes it (the
  /// parameters and state of rows [r0, r0 + Rows), state laid out per panel), while the
  /// FMAs of the next run: no pass of its own over the parameters; `keep` also stores dW.
  template <class Rule>
  struct UpdateEpilogue {
    using V = kernel::simd::vec<Be>;
    float* p;
    float* s0;
    float* s1;
    float* keep;
    Rule rule;
    unsigned states;
    template <std::size_t L>
    void store(V acc, std::size_t m, std::size_t j) noexcept {
      const std::size_t k = m * first_out + j;
      if (keep != nullptr) kernel::simd::store_n<L>(Be{}, keep + k, acc);
      V pv = kernel::simd::load_n<L>(Be{}, p + k), a(0.0f), b(0.0f);
      if (states >= 1) a = kernel::simd::load_n<L>(Be{}, s0 + k);
      if (states >= 2) b = kernel::simd::load_n<L>(Be{}, s1 + k);
      rule(pv, acc, a, b);
      kernel::simd::store_n<L>(Be{}, p + k, pv);
      if (states >= 1) kernel::simd::store_n<L>(Be{}, s0 + k, a);
      if (states >= 2) kernel::simd::store_n<L>(Be{}, s1 + k, b);
    }
  };

  /// Rows [r0, r0 + Rows) of the first layer's weight gradient over the whole batch, stored
  /// (not added) at `to` (row-major, first_out per row): dW[r][j] = Σ_s x[s][r] · dz[s][j].
  /// @return whether a stored value may be NaN/±Inf.
  template <std::size_t Rows>
  bool first_layer_rows(std::size_t r0, const float* dz, float* to) {
    using S = kernel::simd::GemmShape<Rows, first_out, batch, 1, first_in, first_out>;
    StoreCheckEpilogue epi{to};
    kernel::simd::gemm<S>(Be{}, x_columns(r0), dz, epi);
    return xsimd::any(epi.poison);
  }

  /// Calls f.template operator()<Rows>(r0) for each panel of this worker's first-layer
  /// groups, in row order (the checked path's fixed assignment).
  template <class F>
  void for_each_panel(const Worker& me, F&& f) {
    for (std::size_t p = panel_begin(me.group_begin); p < panel_begin(me.group_end); ++p) with_panel(p, f);
  }

  /// Calls f.template operator()<Rows>(r0) for panel p (numbered as in panel_begin): panels of
  /// panel_rows from each group's first row, then the group's tail. Fixed at compile time, so
  /// the same panels for every thread count.
  template <class F>
  void with_panel(std::size_t p, F&& f) {
    [&]<std::size_t... G>(std::index_sequence<G...>) {
      (
          [&] {
            constexpr std::size_t r0 = group_row(G), r1 = group_row(G + 1), full = (r1 - r0) / panel_rows;
            if (p < panel_begin(G) || p >= panel_begin(G + 1)) return;
            const std::size_t i = p - panel_begin(G);
            if constexpr (full > 0)
              if (i < full) return f.template operator()<panel_rows>(r0 + i * panel_rows);
            if constexpr ((r1 - r0) % panel_rows != 0) f.template operator()<(r1 - r0) % panel_rows>(r0 + full * panel_rows);
          }(),
          ...);
    }(std::make_index_sequence<groups>{});
  }

  /// Runs f(p) for first-layer panels, each exactly once across the workers: worker w takes
  /// its own groups' panels in order, then the other workers' from their last down, until
  /// it meets a panel already taken. The step ends when the slower worker does, so the one
  /// that finishes its own first (a faster core, or one with less else to do) takes over
  /// the rest; each panel's result is the same whoever computes it.
  template <class F>
  void claim_panels(const Worker& me, std::size_t w, F&& f) {
    auto claim = [&](std::size_t p) { return !panel_taken_[p].v.exchange(true, std::memory_order_relaxed); };
    for (std::size_t p = panel_begin(me.group_begin); p < panel_begin(me.group_end) && claim(p); ++p) f(p);
    for (std::size_t v = 1; v < threads_; ++v) {
      const Worker& other = *workers_[(w + v) % threads_];
      for (std::size_t p = panel_begin(other.group_end); p-- > panel_begin(other.group_begin) && claim(p);) f(p);
    }
  }
  /// Clears this worker's panels' marks for the step (before any barrier that precedes claims).
  void reset_panels(const Worker& me) noexcept {
    for (std::size_t p = panel_begin(me.group_begin); p < panel_begin(me.group_end); ++p)
      panel_taken_[p].v.store(false, std::memory_order_relaxed);
  }

  /**
   * Whether every gradient of this step is provably finite before any is summed, so that
   * the first layer's weight rows may be updated as each panel of their gradient is
   * computed, before the other workers have checked theirs ("a non-finite gradient changes
   * nothing" still holds): the loss and every chunk's other gradients are finite, the latter
   * at most FLT_MAX / (2C) so that their sums are too, and |dW| ≤ B · max|x| · max|dz| stays
   * below FLT_MAX / 4 with every x and dz finite. Computed alike by every worker from what
   * all of them published before the barrier; when false the step checks, then updates.
   */
  bool apply_first_layer_at_once() const noexcept {
    constexpr float g_limit = std::numeric_limits<float>::max() / static_cast<float>(2 * chunks);
    std::uint32_t dz_bits = 0;
    for (std::size_t c = 0; c < chunks; ++c) {
      if (!std::isfinite(chunk_loss_[c]) || chunk_g_bits_[c] > std::bit_cast<std::uint32_t>(g_limit)) return false;
      dz_bits = std::max(dz_bits, chunk_dz_bits_[c]);
    }
    return first_layer_bound_holds(dz_bits);
  }

  /// Every x and dz finite, and |dW| ≤ B · max|x| · max|dz| ≤ FLT_MAX / 4 (max |dz| as bits).
  bool first_layer_bound_holds(std::uint32_t dz_bits) const noexcept {
    if (dz_bits >= detail::non_finite_bits) return false;
    double x_max = 0;
    for (const auto& wk : workers_) {
      if (wk->x_bits >= detail::non_finite_bits) return false;
      x_max = std::max(x_max, double(std::bit_cast<float>(wk->x_bits)));
    }
    return double(batch) * x_max * double(std::bit_cast<float>(dz_bits)) <= double(std::numeric_limits<float>::max()) / 4;
  }

  /// The largest |x| (as bits) over this worker's first-layer rows of the batch's inputs.
  void record_input_bits(Worker& me) const noexcept {
    const std::size_t i0 = group_row(me.group_begin), i1 = group_row(me.group_end);
    std::uint32_t xb = 0;
    for (std::size_t smp = 0; smp < batch; ++smp)
      xb = std::max(xb, detail::max_abs_bits(x_ + std::size_t{x_index_[smp]} * first_in + i0, i1 - i0));
    me.x_bits = xb;
  }

  /// xᵀ from input r0 on, over the batch's samples (through their indices): A[m][k] is
  /// input r0 + m of sample k, for the first layer's weight gradient xᵀ · dz.
  kernel::simd::IndexedA<first_in, false> x_columns(std::size_t r0) const noexcept { return {x_ + r0, x_index_}; }

  /// Group G's partial forward product over the whole batch: x[:, rows] · W[rows, :]
  /// (the samples read through their indices: where they lie in step_rows' data set).
  template <std::size_t G>
  void first_layer_partial(const float* w0) {
    constexpr std::size_t r0 = group_row(G), rows = group_row(G + 1) - r0;
    if constexpr (rows > 0) {
      using S = kernel::simd::GemmShape<batch, first_out, rows, first_in, 1, first_out>;
      kernel::simd::StoreEpilogue<Be, first_out> epi{Be{}, partial_.data() + G * batch * first_out};
      kernel::simd::gemm<S>(Be{}, kernel::simd::IndexedA<first_in, true>{x_ + r0, x_index_}, w0 + r0 * first_out, epi);
    }
  }

  /// The first node's output for chunk c: the partials summed in group order, then bias
  /// and activation in registers, into the chunk's activation slots.
  void first_layer_combine(std::size_t c, const float* bias, float* acts) {
    using Act = detail::node_activation<NetT, 0>;
    float* y = acts + NetT::activation_offsets[Plan::length[0] - 1] * chunk;
    float* z = (Plan::length[0] >= 2 && kernel::simd::vector_activation<Act>::needs_input)
                   ? acts + NetT::activation_offsets[0] * chunk
                   : nullptr;
    kernel::simd::BiasActivationEpilogue<Be, Act, first_out> epi{Be{}, bias, y, z};
    sum_groups<first_out, true>(partial_.data(), epi, c * chunk, (c + 1) * chunk);
  }

  /// This worker's first-layer weight rows over the whole batch from dz (B × first_out):
  /// when `at_once` (the pre-check proved every gradient of the step finite), the optimizer's
  /// rule is applied to each gradient vector in the product's epilogue (dW stored only if
  /// kept); else dW is stored and checked, for `first_layer_update` after the barrier.
  /// @return whether a stored gradient may be NaN/±Inf.
  bool first_layer_gradient(Worker& me, const float* dz, bool& at_once, std::size_t w) {
    constexpr bool fusable = requires(O o) { o.step_rule(); };
    at_once = fusable && at_once;
    if (w == 0 && !at_once) ++deferred_;
    me.opt[0].options() = opt_.options();
    float* out = grad_.data();
    if (!at_once) {
      bool poison = false;
      for_each_panel(me, [&]<std::size_t Rows>(std::size_t r0) { poison |= first_layer_rows<Rows>(r0, dz, out + r0 * first_out); });
      return poison;
    }
    if constexpr (fusable) {
      const auto step = me.opt[0].step_rule();  // stepped once, whichever panels this worker ends up with
      claim_panels(me, w, [&](std::size_t p) {
        with_panel(p, [&]<std::size_t Rows>(std::size_t r0) {
          const std::size_t b = r0 * first_out, n = Rows * first_out;
          float* st = state_.data() + O::state_blocks * b;
          UpdateEpilogue<decltype(step.rule)> epi{net_.params().data() + b, st, st + n,
                                                  keep_gradients_ ? out + b : nullptr, step.rule, step.states};
          using S = kernel::simd::GemmShape<Rows, first_out, batch, 1, first_in, first_out>;
          kernel::simd::gemm<S>(Be{}, x_columns(r0), dz, epi);
        });
      });
    }
    return false;  // applied, never stored
  }

  /// The checked path's update of this worker's first-layer rows from the stored gradient.
  void first_layer_update(Worker& me) {
    const O before = me.opt[0];
    for_each_panel(me, [&]<std::size_t Rows>(std::size_t r0) {
      update_segment(before, me.opt[0], r0 * first_out, Rows * first_out);
    });
  }

  void work(std::size_t w) {
    if constexpr (split_mlp)
      work_mlp(w);
    else
      work_chunks(w);
  }

  /// Sums the groups' partial products (B × Out each, at `parts`, group G at G·B·Out) in
  /// group order, skipping empty groups (of first-layer rows, or of the second node's rows),
  /// over rows [m0, m1) and columns [j0, j1) (j0 a multiple of the vector width), and hands
  /// each sum vector to `epi` at row m − m0.
  template <std::size_t Out, bool FirstRows, class Epi>
  void sum_groups(const float* parts, Epi& epi, std::size_t m0 = 0, std::size_t m1 = batch, std::size_t j0 = 0,
                  std::size_t j1 = Out) {
    using V = kernel::simd::vec<Be>;
    constexpr std::size_t W = V::size;
    auto column = [&]<std::size_t L>(std::size_t m, std::size_t j) {
      const std::size_t o = m * Out + j;
      V acc(0.0f);
      bool first = true;
      [&]<std::size_t... G>(std::index_sequence<G...>) {
        (
            [&] {
              if constexpr (FirstRows ? group_row(G + 1) > group_row(G) : group_hid(G + 1) > group_hid(G)) {
                const V v = kernel::simd::load_n<L>(Be{}, parts + G * batch * Out + o);
                acc = first ? v : acc + v;
                first = false;
              }
            }(),
            ...);
      }(std::make_index_sequence<groups>{});
      epi.template store<L>(acc, m - m0, j);
    };
    for (std::size_t m = m0; m < m1; ++m) {
      std::size_t j = j0;
      for (; j + W <= j1; j += W) column.template operator()<W>(m, j);
      if constexpr (Out % W != 0)
        if (j < j1) column.template operator()<Out % W>(m, j);  // j1 < Out is a multiple of 16
    }
  }

  /// The first node's input gradient from the product dz2 · W2[rows, :]ᵀ of one row group:
  /// dz1 = product ⊙ act'(z1, h1), stored in the shared dz1 (row stride first_out), db1 += Σ dz1.
  struct FirstActGradEpilogue {
    using V = kernel::simd::vec<Be>;
    const float* z;  ///< z1 or h1 at the group's first column (row stride first_out)
    const float* y;
    float* dz;
    float* db;
    template <std::size_t L>
    void store(V acc, std::size_t m, std::size_t j) noexcept {
      using VA = kernel::simd::vector_activation<Act0>;
      const std::size_t o = m * first_out + j;
      const V zv = VA::needs_input ? kernel::simd::load_n<L>(Be{}, z + o) : V(0.0f);
      const V yv = VA::needs_input ? V(0.0f) : kernel::simd::load_n<L>(Be{}, y + o);
      const V d = acc * VA::derivative(zv, yv);
      kernel::simd::store_n<L>(Be{}, dz + o, d);
      kernel::simd::store_n<L>(Be{}, db + j, kernel::simd::load_n<L>(Be{}, db + j) + d);
    }
  };

  /// Row group G's partial product of the second node over the whole batch: h1[:, r0:r1] · W2[r0:r1, :].
  template <std::size_t G>
  void mlp_forward(Worker& me, const float* p) {
    constexpr std::size_t r0 = group_hid(G), nr = group_hid(G + 1) - r0;
    if constexpr (nr > 0) {
      kernel::simd::StoreEpilogue<Be, mid> epi{Be{}, q2_.data() + G * batch * mid};
      kernel::simd::gemm<kernel::simd::GemmShape<batch, mid, nr, first_out, 1, mid>>(Be{}, me.h1.data() + r0,
                                                                                      p + M3::w2 + r0 * mid, epi);
    }
  }

  /// Row group G of the second node over the whole batch, from its output gradient dz2: its
  /// weight rows dW2[r0:r1, :] = h1[:, r0:r1]ᵀ dz2, and columns r0..r1 of the first node's
  /// dz1 = (dz2 · W2[r0:r1, :]ᵀ) ⊙ act' (into the shared dz1_) and of db1.
  /// @return max |g| (as bits) over the weight rows and db1's columns; the largest |dz1| of
  /// the columns goes to group_dz_bits_[G].
  template <std::size_t G>
  std::uint32_t mlp_backward(Worker& me, float* grad) {
    constexpr std::size_t r0 = group_hid(G), nr = group_hid(G + 1) - r0;
    if constexpr (nr > 0) {
      namespace ks = kernel::simd;
      ks::StoreEpilogue<Be, mid> we{Be{}, grad + M3::w2 + r0 * mid};
      ks::gemm<ks::GemmShape<nr, mid, batch, 1, first_out, mid>>(Be{}, me.h1.data() + r0, me.dz2.data(), we);
      float* db1 = grad + first_weights + r0;
      std::fill_n(db1, nr, 0.0f);
      FirstActGradEpilogue de{ks::vector_activation<Act0>::needs_input ? me.z1.data() + r0 : nullptr, me.h1.data() + r0,
                              dz1_.data() + r0, db1};
      ks::gemm<ks::GemmShape<batch, nr, mid, mid, 1, first_out>>(Be{}, me.dz2.data(), me.wt2.data() + r0, de);
      std::uint32_t dz_bits = 0;
      for (std::size_t m = 0; m < batch; ++m) dz_bits = std::max(dz_bits, detail::max_abs_bits(dz1_.data() + m * first_out + r0, nr));
      group_dz_bits_[G] = dz_bits;
      return std::max(detail::max_abs_bits(grad + M3::w2 + r0 * mid, nr * mid), detail::max_abs_bits(db1, nr));
    }
    return 0;
  }

  /// Applies one step to the `n` parameters at `b` from their gradient (a copy of this step's
  /// optimizer `before`, so that every segment steps from the same count).
  void update_segment(const O& before, O& after, std::size_t b, std::size_t n) {
    O o = before;
    o.update(net_.params().subspan(b, n), grad_.span().subspan(b, n), state_.span().subspan(O::state_blocks * b, O::state_blocks * n));
    after = o;
  }

  /// The segments of the parameters (other than first-layer rows) that worker w updates: its
  /// row groups of the second node and their columns of the first node's bias, and for worker
  /// 0 the third node and the other biases.
  template <class F>
  void for_each_mlp_segment(const Worker& me, std::size_t w, F&& f) const {
    for (std::size_t g = me.hid_begin; g < me.hid_end; ++g)
      if (group_hid(g + 1) > group_hid(g)) {
        f(M3::w2 + group_hid(g) * mid, (group_hid(g + 1) - group_hid(g)) * mid);
        f(first_weights + group_hid(g), group_hid(g + 1) - group_hid(g));
      }
    if (w == 0) {
      f(M3::b2, mid);
      f(M3::w3, mid * out_n);
      f(M3::b3, out_n);
    }
  }

  /// One step of a three-node MLP split by weights (see split_mlp): three barriers, four
  /// when the first layer's update must wait for the whole step's check.
  void work_mlp(std::size_t w) {
    namespace ks = kernel::simd;
    Worker& me = *workers_[w];
    const float* p = net_.params().data();
    float* grad = grad_.data();
    if (gather_ != nullptr) gather_(*this, w);
    const void* targets = gather_ != nullptr ? static_cast<const void*>(me.targets.get()) : targets_;
    constexpr auto own = [](const Worker& wk, std::size_t g) { return g >= wk.group_begin && g < wk.group_end; };
    const auto own_hid = [&me](std::size_t g) { return g >= me.hid_begin && g < me.hid_end; };
    // 1. Its row groups' partial products of the first node, Wᵀ of its rows of the second,
    // W3ᵀ, and the largest |x| over its input rows (for the pre-check of step 4).
    [&]<std::size_t... G>(std::index_sequence<G...>) {
      ((own(me, G) ? first_layer_partial<G>(p) : void()), ...);
    }(std::make_index_sequence<groups>{});
    ks::transpose<first_out, mid>(p + M3::w2, me.wt2.data(), group_hid(me.hid_begin), group_hid(me.hid_end));
    ks::transpose<mid, out_n>(p + M3::w3, me.wt3.data());
    record_input_bits(me);
    reset_panels(me);
    barrier_->arrive_and_wait();
    // 2. The first node's output for the whole batch, the columns its row groups of the second
    // node read (the partials summed in group order, bias, activation), then their partials.
    {
      ks::BiasActivationEpilogue<Be, Act0, first_out> epi{Be{}, p + first_weights, me.h1.data(),
                                                          ks::vector_activation<Act0>::needs_input ? me.z1.data() : nullptr};
      sum_groups<first_out, true>(partial_.data(), epi, 0, batch, group_hid(me.hid_begin), group_hid(me.hid_end));
    }
    [&]<std::size_t... G>(std::index_sequence<G...>) { ((own_hid(G) ? mlp_forward<G>(me, p) : void()), ...); }(
        std::make_index_sequence<groups>{});
    barrier_->arrive_and_wait();
    // 3. Every worker, the whole batch: the second node's output, the third node, the loss and
    // its gradient per chunk, back to the second node's output gradient; worker 0 keeps the
    // third node's and the biases' gradients. Then its row groups' weight gradients and
    // input-gradient columns.
    float* db2 = me.db.data();
    float* db3 = db2 + mid;
    {
      ks::BiasActivationEpilogue<Be, Act1, mid> epi{Be{}, p + M3::b2, me.h2.data(),
                                                    ks::vector_activation<Act1>::needs_input ? me.z2.data() : nullptr};
      sum_groups<mid, false>(q2_.data(), epi);
      ks::BiasActivationEpilogue<Be, Act2, out_n> oepi{Be{}, p + M3::b3, me.y3.data(),
                                                       ks::vector_activation<Act2>::needs_input ? me.z3.data() : nullptr};
      ks::gemm<ks::GemmShape<batch, out_n, mid, mid, 1, out_n>>(Be{}, me.h2.data(), p + M3::w3, oepi);
    }
    for (std::size_t c = 0; c < chunks; ++c) {
      me.loss[c] = loss_fn_(me.y3.data() + c * chunk * out_n, targets, c, me.dz3.data() + c * chunk * out_n);
      if (w == 0) chunk_loss_[c] = me.loss[c];
    }
    for (std::size_t i = 0; i < batch * out_n; ++i) me.dz3.data()[i] *= 1.0f / static_cast<float>(chunks);
    std::fill_n(db2, mid + out_n, 0.0f);
    ks::activation_gradient<out_n, batch, Act2>(Be{}, ks::vector_activation<Act2>::needs_input ? me.z3.data() : nullptr,
                                                me.y3.data(), me.dz3.data(), me.dz3.data(), db3);
    {
      ks::StoreEpilogue<Be, mid> epi{Be{}, me.dz2.data()};
      ks::gemm<ks::GemmShape<batch, mid, out_n, out_n, 1, mid>>(Be{}, me.dz3.data(), me.wt3.data(), epi);
    }
    ks::activation_gradient<mid, batch, Act1>(Be{}, ks::vector_activation<Act1>::needs_input ? me.z2.data() : nullptr,
                                              me.h2.data(), me.dz2.data(), me.dz2.data(), db2);
    if (w == 0) {
      ks::StoreEpilogue<Be, out_n> epi{Be{}, grad + M3::w3};
      ks::gemm<ks::GemmShape<mid, out_n, batch, 1, mid, out_n>>(Be{}, me.h2.data(), me.dz3.data(), epi);
      std::copy_n(db2, mid, grad + M3::b2);
      std::copy_n(db3, out_n, grad + M3::b3);
      w0_bits_ = std::max({detail::max_abs_bits(grad + M3::w3, mid * out_n), detail::max_abs_bits(db2, mid + out_n)});
    }
    [&]<std::size_t... G>(std::index_sequence<G...>) {
      ((own_hid(G) ? void(group_g_bits_[G] = mlp_backward<G>(me, grad)) : void()), ...);
    }(std::make_index_sequence<groups>{});
    barrier_->arrive_and_wait();
    // 4. The first node's weight rows from dz1 (every group's columns are in dz1_ now),
    // updated at once when the pre-check allows.
    bool at_once = true;
    {
      for (double l : me.loss) at_once = at_once && std::isfinite(l);
      std::uint32_t g_bits = w0_bits_, dz_bits = 0;
      for (std::uint32_t b : group_g_bits_) g_bits = std::max(g_bits, b);
      for (std::uint32_t b : group_dz_bits_) dz_bits = std::max(dz_bits, b);
      at_once = at_once && g_bits < detail::non_finite_bits && first_layer_bound_holds(dz_bits);
    }
    // Every gradient of the step is finite: no check, no barrier; the other parameters are
    // updated first, while their gradients are still in this core's cache.
    constexpr bool fusable = requires(O o) { o.step_rule(); };
    at_once = fusable && at_once;
    auto update_rest = [&] {
      me.opt[1].options() = opt_.options();
      const O before = me.opt[1];
      for_each_mlp_segment(me, w, [&](std::size_t b, std::size_t n) { update_segment(before, me.opt[1], b, n); });
    };
    if (at_once) update_rest();
    const bool poison = first_layer_gradient(me, dz1_.data(), at_once, w);
    me.bad = no_bad;
    if (at_once) return;
    // The checked path: find this worker's first non-finite gradient, if any; after the
    // barrier, update only if every worker's and the loss are clean.
    auto scan = [&](std::size_t b, std::size_t n) {
      const std::size_t k = detail::first_non_finite(grad + b, n);
      if (me.bad == no_bad && k != n) me.bad = b + k;
    };
    if (poison) scan(me.range[0].begin, me.range[0].end - me.range[0].begin);
    for_each_mlp_segment(me, w, scan);
    barrier_->arrive_and_wait();
    bool clean = true;
    for (double l : me.loss) clean = clean && std::isfinite(l);
    for (const auto& other : workers_) clean = clean && other->bad == no_bad;
    if (!clean) return;
    first_layer_update(me);
    update_rest();
  }

  void work_chunks(std::size_t w) {
    Worker& me = *workers_[w];
    float* s0 = me.scratch.data();
    float* s1 = s0 + NetT::max_width * chunk;
    const float* p = net_.params().data();
    // step_rows: this worker's share of the batch, copied from the data set; no one reads
    // another's share, so no barrier.
    if (gather_ != nullptr) gather_(*this, w);
    // 0. Wᵀ for every Dense layer whose input gradient backward needs (all but the first),
    // into this worker's own copy: once per step, not once per chunk. (A copy shared by the
    // workers, each transposing a share of the rows, took 2 threads 18-20 µs each for the
    // 10.6 µs one thread spends on the whole of it: every line written had been read by the
    // other core the step before.)
    if constexpr (SimdBackend<Be>) {
      [&]<std::size_t... I>(std::index_sequence<I...>) {
        (
            [&] {
              if constexpr (I > 0 && Plan::template dense_at<I>) {
                using Lay = typename NetT::template layer<I>;
                kernel::simd::transpose<Lay::in, Lay::out>(p + NetT::param_offsets[I], me.wt.data() + NetT::param_offsets[I],
                                                           0, Lay::in);
              }
            }(),
            ...);
      }(std::make_index_sequence<NetT::layer_count>{});
    }
    // ... and its groups' partial products of the first layer's forward, and the largest
    // |x| over its rows (for the pre-check of step 2).
    if constexpr (split_first) {
      [&]<std::size_t... G>(std::index_sequence<G...>) {
        ((G >= me.group_begin && G < me.group_end ? first_layer_partial<G>(p) : void()), ...);
      }(std::make_index_sequence<groups>{});
      record_input_bits(me);
      reset_panels(me);
    }
    if constexpr (SimdBackend<Be>) barrier_->arrive_and_wait();
    // 1. Chunks w, w + T, w + 2T, ...: forward, loss gradient, backward into the chunk's block.
    for (std::size_t c = w; c < chunks; c += threads_) {
      float* g = chunk_grads_.data() + c * NetT::param_count;
      std::fill_n(g + first_weights, NetT::param_count - first_weights, 0.0f);
      float* acts = acts_.data() + c * NetT::activation_count * chunk;
      float* d = dout_.data() + c * out_n * chunk;
      const float* x = split_first ? nullptr : x_ + c * chunk * NetT::input_size;  // split: the first node is done
      PassContext ctx;
      ctx.scratch = s1 + NetT::max_width * chunk;
      ctx.seed = seed_;
      ctx.step = steps_ * chunks + c;  // masks depend on the chunk, not the thread
      ctx.training = true;
      if constexpr (SimdBackend<Be>) {
        ctx.transposed = me.wt.data();
        ctx.transposed_ready = true;
      }
      if constexpr (split_first) {
        first_layer_combine(c, p + first_weights, acts);
        fused_forward_pass_saving<NetT, chunk, 1>(Be{}, p, x, acts, ctx);
      } else if constexpr (SimdBackend<Be>)
        fused_forward_pass_saving<NetT, chunk>(Be{}, p, x, acts, ctx);
      else
        forward_pass_saving<NetT, chunk>(Be{}, p, x, acts, ctx);
      chunk_loss_[c] = loss_fn_(acts + NetT::activation_offsets[NetT::layer_count - 1] * chunk, targets_, c, d);
      for (std::size_t i = 0; i < out_n * chunk; ++i) d[i] *= 1.0f / static_cast<float>(chunks);
      if constexpr (split_first) {
        // Every node but the first; of the first, only dz (this chunk's rows) and db.
        using Act = detail::node_activation<NetT, 0>;
        const float* dy0 = fused_backward_pass<NetT, chunk, 1>(Be{}, p, x, acts, d, g, s0, s1, ctx.scratch, ctx);
        const float* z = acts + NetT::activation_offsets[0] * chunk;
        const float* y = acts + NetT::activation_offsets[Plan::length[0] - 1] * chunk;
        kernel::simd::activation_gradient<first_out, chunk, Act>(Be{}, z, y, dy0, dz_first_.data() + c * chunk * first_out,
                                                                 g + first_weights);
        chunk_dz_bits_[c] = detail::max_abs_bits(dz_first_.data() + c * chunk * first_out, chunk * first_out);
        chunk_g_bits_[c] = detail::max_abs_bits(g + first_weights, NetT::param_count - first_weights);
      } else if constexpr (SimdBackend<Be>) {
        fused_backward_pass<NetT, chunk>(Be{}, p, x, acts, d, g, s0, s1, ctx.scratch, ctx);
      } else {
        backward_pass<NetT, chunk>(Be{}, p, x, acts, d, g, s0, s1, ctx);
      }
    }
    barrier_->arrive_and_wait();
    // 2. This worker's first-layer weight rows over the whole batch (split_first), then the
    // rest of its range summed over the chunks in chunk order; check it all for NaN/Inf.
    // The sums go to a block of their own, so that no worker writes lines another wrote.
    float* out = grad_.data();
    bool poison = false;
    [[maybe_unused]] bool at_once = false;
    if constexpr (split_first) {
      at_once = apply_first_layer_at_once();
      poison = first_layer_gradient(me, dz_first_.data(), at_once, w);
    }
    {
      const auto [b, e] = me.range[1];
      std::uint32_t flag = 0;  // the check rides along the last addition
      const float* g0 = chunk_grads_.data();
      if constexpr (chunks == 1)
        for (std::size_t k = b; k < e; ++k) flag |= detail::non_finite_bit(out[k] = g0[k]);
      for (std::size_t c = 1; c < chunks; ++c) {
        const float* g = chunk_grads_.data() + c * NetT::param_count;
        const float* base = c == 1 ? g0 : out;
        if (c + 1 < chunks)
          for (std::size_t k = b; k < e; ++k) out[k] = base[k] + g[k];
        else
          for (std::size_t k = b; k < e; ++k) flag |= detail::non_finite_bit(out[k] = base[k] + g[k]);
      }
      poison |= flag != 0;
    }
    me.bad = no_bad;
    if (poison)  // rare: the exact scan, for the message
      for (const auto [b, e] : me.range) {
        const std::size_t k = detail::first_non_finite(out + b, e - b);
        if (k != e - b) {
          me.bad = b + k;
          break;
        }
      }
    barrier_->arrive_and_wait();
    // 3. Update this worker's range, only if everything is clean.
    bool clean = true;
    double loss = 0;
    for (double l : chunk_loss_) loss += l;
    clean = std::isfinite(loss);
    for (const auto& other : workers_) clean = clean && other->bad == no_bad;
    if (!clean) return;
    if constexpr (split_first)
      if (!at_once) first_layer_update(me);
    if (const auto [b, e] = me.range[1]; e > b) {
      me.opt[1].options() = opt_.options();
      me.opt[1].update(net_.params().subspan(b, e - b), grad_.span().subspan(b, e - b),
                       state_.span().subspan(O::state_blocks * b, O::state_blocks * (e - b)));
    }
  }

  NetT& net_;
  O opt_;
  std::uint64_t seed_;
  std::size_t threads_;
  AlignedBuffer chunk_grads_, grad_, state_, acts_, dout_, y_;
  AlignedBuffer dz_first_;  ///< split_first: dz of the first layer for the whole batch
  AlignedBuffer partial_{split_first ? groups * batch * first_out : 0};  ///< per-group x·W of the first layer
  /// split_mlp: the row groups' partial products h1·W2 (B × mid each); the first node's dz1
  /// (B × first_out, each group's columns written by its owner); max |g| of each group's
  /// gradients and of worker 0's (the third node, b2, b3); max |dz1| of each group's columns.
  AlignedBuffer q2_{split_mlp ? groups * batch * mid : 0}, dz1_{split_mlp ? batch * first_out : 0};
  std::uint32_t w0_bits_ = 0;
  std::array<std::uint32_t, groups> group_dz_bits_{};
  struct alignas(64) PanelMark {
    std::atomic<bool> v{false};
  };
  std::array<PanelMark, split_first ? panel_count : 0> panel_taken_{};  ///< claim_panels' marks, one line each
  std::array<std::uint32_t, groups> group_g_bits_{};
  // step_rows: the data set, the batch's rows, the gathered batch (unless the first layer
  // is split: it reads the data set through the rows), and the typed copy.
  const float* gather_inputs_ = nullptr;
  const void* gather_targets_ = nullptr;
  const std::uint32_t* gather_rows_ = nullptr;
  AlignedBuffer gathered_x_;
  std::unique_ptr<std::byte[]> gathered_t_;  ///< B·targets_per_sample targets of up to 8 bytes
  void (*gather_)(DataParallel&, std::size_t) = nullptr;
  std::array<double, chunks> chunk_loss_{};
  /// split_first: max |dz| of the first layer, and max |g| over the other gradients, per
  /// chunk (as bits; see detail::max_abs_bits), for the pre-check of step 2.
  std::array<std::uint32_t, chunks> chunk_dz_bits_{}, chunk_g_bits_{};
  bool keep_gradients_ = false, gradients_kept_ = false;
  std::size_t deferred_ = 0;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<pipeline_detail::Barrier> barrier_;
  /// The batch's inputs: sample s at x_ + x_index_[s]·input_size (a split first layer's
  /// only reader), or, for the other paths, contiguous at x_ (x_index_ the identity).
  const float* x_ = nullptr;
  const std::uint32_t* x_index_ = nullptr;
  static constexpr std::array<std::uint32_t, batch> identity_ = [] {
    std::array<std::uint32_t, batch> a{};
    for (std::size_t s = 0; s < batch; ++s) a[s] = static_cast<std::uint32_t>(s);
    return a;
  }();
  const void* targets_ = nullptr;
  float (*loss_fn_)(const float*, const void*, std::size_t, float*) = nullptr;
  std::size_t steps_ = 0;
  pipeline_detail::Crew crew_;  // last: its threads stop before the buffers go
};

CTNN_END_NAMESPACE
