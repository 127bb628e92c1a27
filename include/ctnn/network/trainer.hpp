#pragma once
/**
 * @file trainer.hpp
 * @brief `ctnn::Trainer<Net, Loss, Optimizer, Batch<B>>`: forward, loss, backward and
 * update for one batch per `step`, with NaN/Inf detection.
 */
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstddef>
#include <ranges>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "../activations/softmax.hpp"
#include "../backends/backend_concepts.hpp"
#include "../core/batch.hpp"
#include "../core/memory.hpp"
#include "../detail/finite.hpp"
#include "../detail/raise.hpp"
#include "../losses/cross_entropy.hpp"
#include "../losses/dispatch.hpp"
#include "../losses/loss_concepts.hpp"
#include "../optimizers/optimizer_concepts.hpp"
#include "local_trainer.hpp"
#include "net.hpp"
#include "passes.hpp"

CTNN_BEGIN_NAMESPACE

namespace detail {
/// Whether truncated BPTT carries every state a layer keeps between steps (a layer with a
/// streaming state must say what it carries), looking inside composite layers (`Residual`).
template <class NetT>
constexpr bool carries_every_state_of() {
  return []<std::size_t... I>(std::index_sequence<I...>) {
    return ([] {
      using Lay = typename NetT::template layer<I>;
      if constexpr (requires { typename Lay::inner; })
        return carries_every_state_of<typename Lay::inner>();
      else
        return !requires { Lay::stream_state_floats; } || requires { Lay::carry_floats; };
    }() && ...);
  }(std::make_index_sequence<NetT::layer_count>{});
}
template <class NetT>
inline constexpr bool carries_every_state = carries_every_state_of<NetT>();
}  // namespace detail

/**
 * @brief Trains a network in place, one compile-time batch per `step`.
 *
 * Owns the gradient block and optimizer state (same layout as the parameters) and the
 * activations of one batch, allocated once at construction; the network itself keeps
 * only its parameters.
 *
 * @tparam NetT a `ctnn::Net`
 * @tparam L    a loss, e.g. `loss::SoftmaxCrossEntropy`
 * @tparam O    an optimizer, e.g. `optim::Adam`
 * @tparam Bt   `Batch<B>`
 * @tparam Be   backend tag
 * @tparam Storage `storage::Heap` (buffers allocated once at construction) or
 *         `storage::InPlace` (buffers inside the object: no allocation at all, for targets
 *         without a heap; the object is then large, so give it static storage)
 */
template <class NetT, Loss L, Optimizer O, BatchType Bt, Backend Be = default_backend, class Storage = storage::Heap>
class Trainer {
  static_assert(!(std::is_same_v<L, loss::SoftmaxCrossEntropy> &&
                  std::is_same_v<typename NetT::template layer<NetT::layer_count - 1>::tag, Softmax>),
                "ctnn::Trainer: the network ends with Softmax but loss::SoftmaxCrossEntropy expects logits; "
                "remove the final Softmax (the loss applies it, fused and numerically stable)");

 public:
  using net_type = NetT;
  using loss_type = L;
  using optimizer_type = O;
  static constexpr std::size_t batch = Bt::size;
  static constexpr std::size_t out_n = NetT::output_size;
  static constexpr std::size_t targets_per_batch = batch * L::template targets_per_sample<out_n>;
  /// Scratch beyond the two gradient buffers: dz and Wᵀ for the fused SIMD backward.
  static constexpr std::size_t extra_scratch = [] {
    if constexpr (SimdBackend<Be>)
      return FusionPlan<NetT>::template backward_scratch<batch>;
    else
      return std::size_t{0};
  }();

  /// Binds to `net` (which must outlive the trainer) with optimizer options `opts`; `seed`
  /// drives the stochastic layers (Dropout masks).
  explicit Trainer(NetT& net, typename O::Options opts = {}, std::uint64_t seed = 0)
      : net_(net), seed_(seed), opt_(opts) {}
  /// Options naming something `O::Options` lacks: one readable error (see `reject_options`).
  template <class Unused = void>
  Trainer(NetT& net, detail::AnyOptimizerOptions, std::uint64_t = 0) : Trainer(net) {
    detail::reject_options<O, Unused>();
  }

  /**
   * @brief One training step on a batch: `inputs` holds B samples (B·input_size floats),
   * `targets` B labels (classification) or B·output_size values (regression). A data set's
   * last batch may hold fewer samples (n < B): the loss and the gradients are then the mean
   * over those n alone.
   * @return the batch-mean loss before the update.
   * @throws ctnn::Error on a size mismatch, an invalid label, or a non-finite loss or
   * gradient (then the parameters are left as they were).
   */
  template <std::ranges::contiguous_range X, std::ranges::contiguous_range Y>
    requires std::same_as<std::ranges::range_value_t<X>, float>
  float step(const X& inputs, const Y& targets) {
    detail::check_target_type<L, std::ranges::range_value_t<Y>>();
    return step_impl(std::span<const float>(std::ranges::data(inputs), std::ranges::size(inputs)),
                     std::span<const std::ranges::range_value_t<Y>>(std::ranges::data(targets),
                                                                    std::ranges::size(targets)));
  }

  std::size_t steps() const noexcept { return steps_; }                        ///< completed steps
  /// The optimizer state (moments), as checkpoints save it (`ctnn::io::save_checkpoint`).
  std::span<float> optimizer_state() noexcept { return state_.span(); }
  /// How `optimizer_state` is laid out: a checkpoint restores only into the same layout.
  std::string state_layout() const { return "ctnn::Trainer"; }
  /// Continues counting from `n` completed steps (the optimizer's count too): for resuming.
  void restore_steps(std::size_t n) noexcept {
    steps_ = n;
    opt_.restore_steps(n);
  }
  std::span<const float> gradients() const noexcept { return grads_.span(); }  ///< last step's gradients

  /**
   * @brief Truncated backpropagation through time over streams longer than the network's T
   * steps. When on, sample b of each step continues sample b of the step before: every
   * recurrent layer starts from the state the previous step ended in (zero at first, and
   * after `reset_state`), and backpropagation stops at the window's first step. Feed
   * consecutive windows of B streams. A step that raises leaves the carried state as it was.
   */
  void carry_state(bool on) noexcept {
    static_assert(detail::carries_every_state<NetT>,
                  "ctnn::Trainer::carry_state: a layer of this network keeps a state between steps that truncated "
                  "BPTT does not carry (it has stream_state_floats but no carry_floats)");
    carrying_ = on;
  }
  /// Whether steps carry the states (`carry_state`); checkpoints then save them.
  bool carrying_state() const noexcept { return carrying_; }
  /// Zeroes the carried states: the next step starts new streams.
  void reset_state() noexcept { std::fill_n(carry_.data(), carry_.size(), 0.0f); }
  /// The carried states (B · `NetT::carry_count` floats; layer I's at `carry_offsets[I]·B`).
  std::span<float> carried_state() noexcept { return carry_.span(); }
  O& optimizer() noexcept { return opt_; }
  NetT& net() noexcept { return net_; }
  /// The network's outputs for the last batch (n·output_size values for its n samples), before the update.
  std::span<const float> outputs() const noexcept {
    return {acts_.data() + NetT::activation_offsets[NetT::layer_count - 1] * batch, out_n * partial_};
  }

 private:
  template <class Tt>
  float step_impl(std::span<const float> inputs, std::span<const Tt> targets) {
    const float loss = compute_impl(inputs, targets);
    apply_gradients(loss);
    return loss;
  }

  /// Validates, then forward, loss and backward into the gradient block; no NaN check.
  template <class Tt>
  float compute_impl(std::span<const float> inputs, std::span<const Tt> targets, GradientReady ready = {}) {
    constexpr std::size_t per = L::template targets_per_sample<out_n>;
    const std::size_t n = inputs.size() / NetT::input_size;  // B, or fewer for a data set's last batch
    if (inputs.size() % NetT::input_size != 0 || n == 0 || n > batch)
      detail::raise("ctnn::Trainer::step: expected " + std::to_string(batch * NetT::input_size) +
                    " input values (batch " + std::to_string(batch) + " x " + std::to_string(NetT::input_size) +
                    ", or fewer whole samples for a last partial batch), got " + std::to_string(inputs.size()));
    if (targets.size() != n * per)
      detail::raise("ctnn::Trainer::step: expected " + std::to_string(n * per) + " targets for " + std::to_string(n) +
                    " samples, got " + std::to_string(targets.size()));
    for (std::size_t s = 0; s < n; ++s)
      if (!L::template valid_targets<out_n, 1>(targets.data() + s * per))
        detail::raise("ctnn::Trainer::step: a label at step " + std::to_string(steps_) + " is outside [0, " +
                      std::to_string(out_n) + ")");
    if (n < batch) {  // pad with zero samples whose gradients are zeroed below
      float* pad = pad_data();
      std::copy(inputs.begin(), inputs.end(), pad);
      std::fill(pad + inputs.size(), pad + batch * NetT::input_size, 0.0f);
      inputs = std::span<const float>(pad, batch * NetT::input_size);
    }
    partial_ = n;

    std::fill_n(grads_.data(), grads_.size(), 0.0f);
    const float* p = net_.params().data();
    float* s0 = scratch_.data();
    float* s1 = s0 + NetT::max_width * batch;
    PassContext ctx;
    ctx.scratch = s1 + NetT::max_width * batch;
    ctx.seed = seed_;
    ctx.step = steps_;
    ctx.training = true;
    ctx.ready = ready;
    if (carrying_) {  // kept until apply_gradients, which puts it back if the step fails
      std::copy_n(carry_.data(), carry_.size(), carry_before_.data());
      ctx.carry = carry_.data();
    }
    if constexpr (SimdBackend<Be>)
      fused_forward_pass_saving<NetT, batch>(Be{}, p, inputs.data(), acts_.data(), ctx);
    else
      forward_pass_saving<NetT, batch>(Be{}, p, inputs.data(), acts_.data(), ctx);
    const float* out = acts_.data() + NetT::activation_offsets[NetT::layer_count - 1] * batch;
    float loss;
    if (n == batch) {
      loss = detail::loss_value_and_gradient<L, Be, out_n, batch>(out, targets.data(), dout_.data());
    } else {  // the mean over the n real samples; the padded ones get no gradient
      std::fill_n(dout_.data(), dout_.size(), 0.0f);
      double total = 0;
      for (std::size_t s = 0; s < n; ++s)
        total += L::template value_and_gradient<out_n, 1>(out + s * out_n, targets.data() + s * per,
                                                          dout_.data() + s * out_n);
      const float inv = 1.0f / static_cast<float>(n);
      for (std::size_t k = 0; k < n * out_n; ++k) dout_.data()[k] *= inv;
      loss = static_cast<float>(total / static_cast<double>(n));
    }
    if constexpr (SimdBackend<Be>)
      fused_backward_pass<NetT, batch>(Be{}, p, inputs.data(), acts_.data(), dout_.data(), grads_.data(), s0, s1,
                                       ctx.scratch, ctx);
    else
      backward_pass<NetT, batch>(Be{}, p, inputs.data(), acts_.data(), dout_.data(), grads_.data(), s0, s1, ctx);
    return loss;
  }

 public:
  /**
   * @brief The first half of `step`: checks sizes and labels, runs forward, the loss and
   * backward, and leaves the gradients in `gradient_block()` without updating anything
   * and without the NaN check. Distributed training reduces the block across processes,
   * then calls `apply_gradients`. `ready`, if set, is called during backward each time the
   * gradients from some offset to the end of the block are final (see `GradientReady`).
   * @return the loss (possibly non-finite).
   */
  template <std::ranges::contiguous_range X, std::ranges::contiguous_range Y>
    requires std::same_as<std::ranges::range_value_t<X>, float>
  float compute_gradients(const X& inputs, const Y& targets, GradientReady ready = {}) {
    detail::check_target_type<L, std::ranges::range_value_t<Y>>();
    return compute_impl(std::span<const float>(std::ranges::data(inputs), std::ranges::size(inputs)),
                        std::span<const std::ranges::range_value_t<Y>>(std::ranges::data(targets),
                                                                       std::ranges::size(targets)),
                        ready);
  }
  /// The gradient block, writable (same layout as the parameters).
  std::span<float> gradient_block() noexcept { return grads_.span(); }
  /**
   * @brief The second half of `step`: raises `ctnn::Error` (parameters untouched) when
   * `loss` or any gradient is NaN/Inf, else applies the optimizer and counts the step.
   */
  void apply_gradients(float loss) {
    if (!std::isfinite(loss))
      fail(detail::non_finite_loss("ctnn::Trainer::step", loss, steps_));
    check_gradients();
    opt_.update(net_.params(), grads_.span(), state_.span());
    ++steps_;
  }

 private:

  /// One vectorised pass over the block; the layer is looked up only on failure.
  /// Raises `what`, the carried states (truncated BPTT) put back as they were before the step.
  [[noreturn]] void fail(const std::string& what) {
    if (carrying_) std::copy_n(carry_before_.data(), carry_.size(), carry_.data());
    detail::raise(what);
  }

  void check_gradients() {
    const std::size_t k = detail::first_non_finite(grads_.data(), NetT::param_count);
    if (k == NetT::param_count) return;
    std::size_t l = 0;
    while (l + 1 < NetT::layer_count && k >= NetT::param_offsets[l] + NetT::param_sizes[l]) ++l;
    fail(detail::non_finite_gradient("ctnn::Trainer::step", steps_,
                                     " in layer " + std::to_string(l) + detail::at_parameter(k - NetT::param_offsets[l])));
  }

  /// A partial batch padded to B: on the heap at the first one (storage::Heap), or inside.
  float* pad_data() {
    if constexpr (!in_place) pad_.resize(batch * NetT::input_size);
    return pad_.data();
  }
  template <std::size_t N>
  using buffer = Buffer<Storage, N>;
  static constexpr bool in_place = std::is_same_v<Storage, storage::InPlace>;

  NetT& net_;
  std::uint64_t seed_;
  O opt_;
  buffer<NetT::param_count> grads_;
  buffer<O::state_blocks * NetT::param_count> state_;
  buffer<NetT::activation_count * batch> acts_;
  buffer<out_n * batch> dout_;
  buffer<2 * NetT::max_width * batch + extra_scratch> scratch_;
  std::conditional_t<in_place, buffer<batch * NetT::input_size>, std::vector<float>> pad_;
  buffer<NetT::carry_count * batch> carry_;         ///< truncated BPTT: each layer's state per sample
  buffer<NetT::carry_count * batch> carry_before_;  ///< the carried state before the running step
  bool carrying_ = false;
  std::size_t partial_ = batch;
  std::size_t steps_ = 0;

 public:
  /// Bytes of every buffer the trainer holds (gradients, optimizer state, activations and saved
  /// values, output gradient, scratch, truncated-BPTT states): what it allocates when built
  /// (storage::Heap, tested) or carries inside (storage::InPlace, where a partial last batch's
  /// padding, `partial_bytes`, is inside too; storage::Heap allocates it at the first one).
  static constexpr std::size_t workspace_bytes =
      (decltype(grads_)::size() + decltype(state_)::size() + decltype(acts_)::size() + decltype(dout_)::size() +
       decltype(scratch_)::size() + decltype(carry_)::size() + decltype(carry_before_)::size()) *
      sizeof(float);
  static constexpr std::size_t partial_bytes = batch * NetT::input_size * sizeof(float);
};

CTNN_END_NAMESPACE
