#pragma once
/**
 * @file data_parallel.hpp
 * @brief Data-parallel training over threads: `ctnn::DataParallel<Trainer<...>, Threads<N>>`.
 *
 * The global batch of B samples is cut into C equal *chunks* (`Chunks<C>`; by default one
 * per thread for `Threads<N>`, else the largest divisor of B up to 4), and every partial
 * sum is taken in a fixed order, so the weights are bit-identical for any thread count from
 * 1 to C and equal `Trainer`'s on the whole batch up to rounding. Three ways of sharing the
 * work, each in its own file under `data_parallel/`:
 * - `chunked.hpp`: each worker differentiates whole chunks; the gradient block is summed
 *   over chunks by ranges, checked, and each range updated by its owner (the general path);
 * - `first_layer.hpp`: on a SIMD backend a first Dense layer is split by its input rows
 *   instead (row groups and weight-gradient panels fixed at compile time, the optimizer's
 *   rule fused into the product's epilogue), so its weights never cross cores;
 * - `weight_split.hpp`: a run of Dense nodes with a cheap tail is split by its weights alone.
 * `tiling.hpp` holds each split's arithmetic as one constexpr type read off the fusion
 * plan, `workers.hpp` the per-thread state and the constructor, `traits.hpp` the tags. This
 * file is the class: its interface, the choice of strategy and the members. Details and
 * figures: docs/parallelism.md.
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

#include "../config.hpp"
#if !CTNN_SIMD || !CTNN_HAS_THREADS
#error "ctnn::DataParallel needs threads and the SIMD backends (CTNN_SIMD=1)"
#endif

#include "../core/memory.hpp"
#include "../detail/finite.hpp"
#include "../detail/raise.hpp"
#include "../network/trainer.hpp"
#include "data_parallel/tiling.hpp"
#include "data_parallel/traits.hpp"
#include "threading.hpp"

CTNN_BEGIN_NAMESPACE

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
  using net_type = NetT;
  using loss_type = L;
  using optimizer_type = O;
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
                        std::uint64_t seed = 0);
  DataParallel(const DataParallel&) = delete;
  DataParallel& operator=(const DataParallel&) = delete;

  /**
   * @brief One optimizer step on the global batch.
   * @return the batch-mean loss before the update.
   * @throws ctnn::Error on a size mismatch, an invalid label, or a non-finite loss or
   * gradient (parameters then unchanged).
   */
  template <class Tt>
  float step(std::span<const float> inputs, std::span<const Tt> targets);

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
  float step_rows(std::span<const float> inputs, std::span<const Tt> targets, std::span<const std::uint32_t> rows);
  template <std::ranges::contiguous_range X, std::ranges::contiguous_range Y>
  float step_rows(const X& inputs, const Y& targets, std::span<const std::uint32_t> rows) {
    using Tt = std::ranges::range_value_t<Y>;
    return step_rows(std::span<const float>(std::ranges::data(inputs), std::ranges::size(inputs)),
                     std::span<const Tt>(std::ranges::data(targets), std::ranges::size(targets)), rows);
  }

 private:
  template <class Tt>
  float run_step();

 public:
  template <std::ranges::contiguous_range X, std::ranges::contiguous_range Y>
  float step(const X& inputs, const Y& targets) {
    using Tt = std::ranges::range_value_t<Y>;
    return step(std::span<const float>(std::ranges::data(inputs), std::ranges::size(inputs)),
                std::span<const Tt>(std::ranges::data(targets), std::ranges::size(targets)));
  }

  /// The first half of `step` (`LocalTrainer`): the gradients reduced over the chunks into
  /// `gradient_block()`, nothing updated, no NaN check; returns the loss (maybe non-finite).
  template <std::ranges::contiguous_range X, std::ranges::contiguous_range Y>
  float compute_gradients(const X& inputs, const Y& targets) {
    using Tt = std::ranges::range_value_t<Y>;
    struct Only {  // reset however step returns: a refused batch must not leave later steps updating nothing
      bool& flag;
      ~Only() { flag = false; }
    } only{gradients_only_ = true};
    return step(std::span<const float>(std::ranges::data(inputs), std::ranges::size(inputs)),
                std::span<const Tt>(std::ranges::data(targets), std::ranges::size(targets)));
  }
  /// The gradient block of the last `compute_gradients`, writable (the parameters' layout).
  std::span<float> gradient_block() noexcept { return grad_.span(); }
  /// The second half: raises `ctnn::Error` (parameters untouched) when `loss` or a gradient
  /// is NaN/Inf, else each worker updates its ranges as `step` does, and the step counts.
  void apply_gradients(float loss);

  std::size_t threads() const noexcept { return threads_; }
  /// How the work is shared, chosen from the fusion plan at compile time: "weights" (a run of
  /// Dense nodes split by its weights), "first-layer rows" (a first Dense layer split by its
  /// input rows, the rest by chunks) or "chunks".
  static constexpr const char* strategy() noexcept {
    return split_weights ? "weights" : split_first ? "first-layer rows" : "chunks";
  }
  /**
   * @brief Every byte of the buffers a DataParallel on `threads` threads allocates when it is
   * built: the batch's (each chunk's gradients, activations and loss gradients, the reduced
   * gradient, the optimizer state, the outputs, the first layer's dz and partial products,
   * the carried states) and each worker's (scratch, Wᵀ, the split MLP's copies). Not in it:
   * step_rows' gathered batch (allocated at its first call) and the threads' own bookkeeping.
   */
  static constexpr std::size_t workspace_bytes(std::size_t threads) noexcept;
  std::size_t steps() const noexcept { return steps_; }
  /// Steps whose first-layer update had to wait for the whole step's NaN/Inf check (a split
  /// first layer whose gradient could not be proven finite in advance: a non-finite or very
  /// large input, or a gradient that is or may become non-finite) — one more pass over that
  /// gradient each. 0 in ordinary training.
  std::size_t deferred_steps() const noexcept { return deferred_; }
  /**
   * @brief Whether steps keep the whole reduced gradient for `gradients()` (off by default).
   * Off, the first layer's weight gradient of a split first layer is applied panel by
   * panel as it is computed and never stored — a pass over its 4·in·out bytes fewer per step.
   */
  void keep_gradients(bool on) noexcept { keep_gradients_ = on; }

  /// Truncated backpropagation through time, as `Trainer::carry_state`: sample b of each step
  /// continues sample b of the step before.
  void carry_state(bool on) noexcept {
    static_assert(detail::carries_every_state<NetT>,
                  "ctnn::DataParallel::carry_state: a layer of this network keeps a state between steps that "
                  "truncated BPTT does not carry (it has stream_state_floats but no carry_floats)");
    carrying_ = on;
  }
  /// Whether steps carry the states (`carry_state`); checkpoints then save them.
  bool carrying_state() const noexcept { return carrying_; }
  /// Zeroes the carried states: the next step starts new streams.
  void reset_state() noexcept { std::fill_n(carry_.data(), carry_.size(), 0.0f); }
  /// The carried states, per chunk: chunk c's at `c · carry_count · chunk`, laid out within as a
  /// `Trainer<…, Batch<chunk>>`'s.
  std::span<float> carried_state() noexcept { return carry_.span(); }
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
    opt_.restore_steps(n);
    for (auto& w : workers_)
      for (auto& o : w->opt) o.restore_steps(n);
  }
  /// The outputs for the last batch (B·output_size values, in sample order); valid until
  /// the next step. Allocates nothing.
  std::span<const float> outputs() const noexcept {
    if constexpr (split_weights)
      return {workers_[0]->tail.data() + WS::y_at[Plan::count - 1], batch * out_n};
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
      return Plan::template dense_at<0> && NetT::input_shape_t::rank == 1;  // not a per-step Dense
    else
      return false;
  }();
  static constexpr std::size_t first_in = dp_detail::dense_dims<typename NetT::template layer<0>, split_first>::in;
  static constexpr std::size_t first_out = dp_detail::dense_dims<typename NetT::template layer<0>, split_first>::out;
  static constexpr std::size_t first_weights = split_first ? first_in * first_out : 0;  ///< floats
  /// The first layer's input rows cut into `groups` row groups and weight-gradient panels
  /// (`dp_detail::RowTiling`): like the chunks, fixed for every thread count.
  static constexpr std::size_t groups = chunks;
  using RowSplit = dp_detail::RowTiling<first_in, first_out, groups>;

  /// A run of Dense nodes whose tail is cheap (`dp_detail::WeightSplit`; the Fashion-MNIST
  /// MLP) is split across the workers by its weights, not its samples: the first and the
  /// second node both by their input rows (the second's rows are the first's output
  /// columns), so each worker updates contiguous rows of both matrices and no gradient is
  /// summed over chunks; the tail is computed by every worker for the whole batch. Each step
  /// moves only partial products between the cores: x·W₁ by row group (B × first_out each),
  /// h₁·W₂ by row group (B × mid each), and each group's columns of the first node's input
  /// gradient (B × first_out in all).
  using WS = dp_detail::WeightSplit<NetT, batch, dp_detail::is_dense_run<NetT, split_first>()>;
  static constexpr bool split_weights = WS::chosen;
  using Act0 = typename Plan::template activation<0>;
  using Act1 = typename WS::act1;
  static constexpr std::size_t mid = WS::mid;  ///< the second node's width
  /// The second node's input rows (the first node's outputs) in `groups` groups of multiples
  /// of 16; worker w owns the groups whose numbers are those of the first-layer row groups of
  /// worker threads − 1 − w (see the constructor).
  using HidSplit = dp_detail::ColumnTiling<first_out, groups>;
  template <class Act>
  static constexpr std::size_t if_needs_input(std::size_t n) {
    return split_weights && kernel::simd::vector_activation<Act>::needs_input ? n : 0;
  }

  struct Range {
    std::size_t begin = 0, end = 0;
  };
  struct Worker;

  /// Stores like `StoreEpilogue` and flags any NaN/±Inf on the way (lanes past a partial
  /// vector may flag falsely; a flag only triggers the exact scan).
  struct StoreCheckEpilogue;

  /// Applies one optimizer step to each gradient vector as the product makes it (the
  /// parameters and state of rows [r0, r0 + Rows), state laid out per panel), while the
  /// FMAs of the next run: no pass of its own over the parameters; `keep` also stores dW.
  template <class Rule>
  struct UpdateEpilogue;

  /// Rows [r0, r0 + Rows) of the first layer's weight gradient over the whole batch, stored
  /// (not added) at `to` (row-major, first_out per row): dW[r][j] = Σ_s x[s][r] · dz[s][j].
  /// @return whether a stored value may be NaN/±Inf.
  template <std::size_t Rows>
  bool first_layer_rows(std::size_t r0, const float* dz, float* to);

  /// Calls f.template operator()<Rows>(r0) for each panel of this worker's first-layer
  /// groups, in row order (the checked path's fixed assignment).
  template <class F>
  void for_each_panel(const Worker& me, F&& f);

  /// Calls f.template operator()<Rows>(r0) for panel p (numbered as in RowTiling::panel_begin):
  /// panels of panel_rows from each group's first row, then the group's tail. Fixed at compile
  /// time, so the same panels for every thread count.
  template <class F>
  void with_panel(std::size_t p, F&& f);

  /// Runs f(p) for first-layer panels, each exactly once across the workers: worker w takes
  /// its own groups' panels in order, then the other workers' from their last down, until
  /// it meets a panel already taken. The step ends when the slower worker does, so the one
  /// that finishes its own first (a faster core, or one with less else to do) takes over
  /// the rest; each panel's result is the same whoever computes it.
  template <class F>
  void claim_panels(const Worker& me, std::size_t w, F&& f);
  /// Clears this worker's panels' marks for the step (before any barrier that precedes claims).
  void reset_panels(const Worker& me) noexcept;

  /**
   * Whether every gradient of this step is provably finite before any is summed, so that
   * the first layer's weight rows may be updated as each panel of their gradient is
   * computed, before the other workers have checked theirs ("a non-finite gradient changes
   * nothing" still holds): the loss and every chunk's other gradients are finite, the latter
   * at most FLT_MAX / (2C) so that their sums are too, and |dW| ≤ B · max|x| · max|dz| stays
   * below FLT_MAX / 4 with every x and dz finite. Computed alike by every worker from what
   * all of them published before the barrier; when false the step checks, then updates.
   */
  bool apply_first_layer_at_once() const noexcept;

  /// Every x and dz finite, and |dW| ≤ B · max|x| · max|dz| ≤ FLT_MAX / 4 (max |dz| as bits).
  bool first_layer_bound_holds(std::uint32_t dz_bits) const noexcept;

  /// The largest |x| (as bits) over this worker's first-layer rows of the batch's inputs.
  void record_input_bits(Worker& me) const noexcept;

  /// xᵀ from input r0 on, over the batch's samples (through their indices): A[m][k] is
  /// input r0 + m of sample k, for the first layer's weight gradient xᵀ · dz.
  kernel::simd::IndexedA<first_in, false> x_columns(std::size_t r0) const noexcept { return {x_ + r0, x_index_}; }

  /// Group G's partial forward product over the whole batch: x[:, rows] · W[rows, :]
  /// (the samples read through their indices: where they lie in step_rows' data set).
  template <std::size_t G>
  void first_layer_partial(const float* w0);

  /// The first node's output for chunk c: the partials summed in group order, then bias
  /// and activation in registers, into the chunk's activation slots.
  void first_layer_combine(std::size_t c, const float* bias, float* acts);

  /// This worker's first-layer weight rows over the whole batch from dz (B × first_out):
  /// when `at_once` (the pre-check proved every gradient of the step finite), the optimizer's
  /// rule is applied to each gradient vector in the product's epilogue (dW stored only if
  /// kept); else dW is stored and checked, for `first_layer_update` after the barrier.
  /// @return whether a stored gradient may be NaN/±Inf.
  bool first_layer_gradient(Worker& me, const float* dz, bool& at_once, std::size_t w);

  /// The checked path's update of this worker's first-layer rows from the stored gradient.
  void first_layer_update(Worker& me);

  void work(std::size_t w) {
    if constexpr (split_weights)
      work_weight_split(w);
    else
      work_chunks(w);
  }
  /// Worker w's updates of its ranges from the stored gradients (apply_gradients).
  void update_ranges(std::size_t w);
  /// The chunked path's update of this worker's range of the parameters after the first layer's rows.
  void update_rest_of_range(Worker& me);
  /// The weight split's update of this worker's segments (for_each_weight_segment).
  void update_weight_segments(Worker& me, std::size_t w);

  /// Sums the groups' partial products (B × Out each, at `parts`, group G at G·B·Out) in
  /// group order, skipping empty groups (of first-layer rows, or of the second node's rows),
  /// over rows [m0, m1) and columns [j0, j1) (j0 a multiple of the vector width), and hands
  /// each sum vector to `epi` at row m − m0.
  template <std::size_t Out, bool FirstRows, class Epi>
  void sum_groups(const float* parts, Epi& epi, std::size_t m0 = 0, std::size_t m1 = batch, std::size_t j0 = 0,
                  std::size_t j1 = Out);

  /// The first node's input gradient from the product dz2 · W2[rows, :]ᵀ of one row group:
  /// dz1 = product ⊙ act'(z1, h1), stored in the shared dz1 (row stride first_out), db1 += Σ dz1.
  struct FirstActGradEpilogue;

  /// Row group G's partial product of the second node over the whole batch: h1[:, r0:r1] · W2[r0:r1, :].
  template <std::size_t G>
  void second_node_partial(Worker& me, const float* p);

  /// Row group G of the second node over the whole batch, from its output gradient dz2: its
  /// weight rows dW2[r0:r1, :] = h1[:, r0:r1]ᵀ dz2, and columns r0..r1 of the first node's
  /// dz1 = (dz2 · W2[r0:r1, :]ᵀ) ⊙ act' (into the shared dz1_) and of db1.
  /// @return max |g| (as bits) over the weight rows and db1's columns; the largest |dz1| of
  /// the columns goes to group_dz_bits_[G].
  template <std::size_t G>
  std::uint32_t second_node_backward(Worker& me, float* grad);

  /// The one place where the optimizer meets the parameters (besides its rule fused into the
  /// first layer's weight-gradient product, from the same `step_rule()`): worker `me`'s
  /// optimizer copy `k` takes this step's options and steps once over every segment (b, n)
  /// that `segments(f)` hands to f, each from the same count (Adam's bias correction).
  template <class F>
  void apply_segments(Worker& me, std::size_t k, F&& segments);

  /// The segments of the parameters (other than first-layer rows) that worker w updates: its
  /// row groups of the second node and their columns of the first node's bias, and for worker
  /// 0 the second node's bias and the tail.
  template <class F>
  void for_each_weight_segment(const Worker& me, std::size_t w, F&& f) const;

  /// The tail's forward for the whole batch, from h2 into the worker's tail buffer.
  void tail_forward(Worker& me, const float* p);
  /// The tail's backward from the loss gradient (`dy`) to the second node's output gradient
  /// (`dz2`); weight gradients only when `weights` (worker 0), bias gradients always.
  void tail_backward(Worker& me, const float* p, float* tail_grad, bool weights);
  static constexpr std::size_t tail_params = split_weights ? NetT::param_count - WS::tail_begin : 0;

  /// One step of a run of Dense nodes split by weights (see split_weights): three barriers, four
  /// when the first layer's update must wait for the whole step's check.
  void work_weight_split(std::size_t w);

  void work_chunks(std::size_t w);

  NetT& net_;
  O opt_;
  std::uint64_t seed_;
  std::size_t threads_;
  static constexpr std::size_t chunk_grads_floats = split_weights ? 0 : chunks * NetT::param_count;
  static constexpr std::size_t acts_floats = split_weights ? 0 : chunks * NetT::activation_count * chunk;
  static constexpr std::size_t dout_floats = split_weights ? 0 : chunks * out_n * chunk;
  static constexpr std::size_t y_floats = split_weights ? 0 : batch * out_n;
  static constexpr std::size_t dz_first_floats = split_first && !split_weights ? batch * first_out : 0;
  static constexpr std::size_t partial_floats = split_first ? groups * batch * first_out : 0;
  static constexpr std::size_t q2_floats = split_weights ? groups * batch * mid : 0, dz1_floats = split_weights ? batch * first_out : 0;
  AlignedBuffer chunk_grads_, grad_, state_, acts_, dout_, y_;
  AlignedBuffer dz_first_;  ///< split_first: dz of the first layer for the whole batch
  AlignedBuffer partial_{partial_floats};  ///< per-group x·W of the first layer
  /// split_weights: the row groups' partial products h1·W2 (B × mid each); the first node's dz1
  /// (B × first_out, each group's columns written by its owner); max |g| of each group's
  /// gradients and of worker 0's (the third node, b2, b3); max |dz1| of each group's columns.
  AlignedBuffer q2_{q2_floats}, dz1_{dz1_floats};
  std::uint32_t w0_bits_ = 0;
  std::array<std::uint32_t, groups> group_dz_bits_{};
  struct alignas(64) PanelMark {
    std::atomic<bool> v{false};
  };
  std::array<PanelMark, split_first ? RowSplit::panel_count : 0> panel_taken_{};  ///< claim_panels' marks, one line each
  std::array<std::uint32_t, groups> group_g_bits_{};
  // step_rows: the data set, the batch's rows, the gathered batch (unless the first layer
  // is split: it reads the data set through the rows), and the typed copy.
  const float* gather_inputs_ = nullptr;
  const void* gather_targets_ = nullptr;
  const std::uint32_t* gather_rows_ = nullptr;
  AlignedBuffer gathered_x_;
  AlignedBuffer carry_{NetT::carry_count * batch};  ///< truncated BPTT: each chunk's carried states
  AlignedBuffer carry_before_{NetT::carry_count * batch};  ///< the carried states before the running step
  bool carrying_ = false;
  std::unique_ptr<std::byte[]> gathered_t_;  ///< B·targets_per_sample targets of up to 8 bytes
  void (*gather_)(DataParallel&, std::size_t) = nullptr;
  std::array<double, chunks> chunk_loss_{};
  /// split_first: max |dz| of the first layer, and max |g| over the other gradients, per
  /// chunk (as bits; see detail::max_abs_bits), for the pre-check of step 2.
  std::array<std::uint32_t, chunks> chunk_dz_bits_{}, chunk_g_bits_{};
  bool keep_gradients_ = false, gradients_kept_ = false;
  bool gradients_only_ = false;  ///< compute_gradients: keep every gradient, update nothing
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

// The member definitions, by the way of sharing the work they implement.
#include "data_parallel/workers.hpp"
#include "data_parallel/chunked.hpp"
#include "data_parallel/first_layer.hpp"
#include "data_parallel/weight_split.hpp"
