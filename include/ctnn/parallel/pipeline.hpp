#pragma once
/**
 * @file pipeline.hpp
 * @brief Executes a `ctnn::Plan` as a pipeline: one persistent thread per stage, pinned to
 * its core, micro-batches flowing through bounded channels.
 *
 * Each stage is the slice of layers [first, last] of the network, seen as a network of its
 * own (`stage_net_t`), so it runs the same fused SIMD (or scalar) passes as a whole net,
 * reading and writing the network's parameter block and a gradient block of the same
 * layout in place. Training (`PipelineTrainer`): the batch of M·b samples is split into M
 * micro-batches; stages run their `schedule_ops` (GPipe or 1F1B), the last stage computes
 * the loss gradient of each micro-batch scaled by 1/M, every stage accumulates its
 * parameter gradients, and once all stages are done the trainer checks the gradients and
 * applies one optimizer step — the same update as `Trainer` on the whole batch.
 * Streaming inference (`PipelineInference`): any number of micro-batches stream through,
 * each stage double-buffering its output.
 */

#include <algorithm>
#include <atomic>
#include <array>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "../core/memory.hpp"
#include "../detail/finite.hpp"
#include "../detail/raise.hpp"
#include "../losses/dispatch.hpp"
#include "../losses/loss_concepts.hpp"
#include "../network/net.hpp"
#include "../optimizers/optimizer_concepts.hpp"
#include "partition.hpp"
#include "schedule.hpp"
#include "threading.hpp"

CTNN_BEGIN_NAMESPACE

namespace pipeline_detail {
template <class S>
struct input_of;
template <std::size_t... D>
struct input_of<Shape<D...>> {
  using type = Input<D...>;
};
template <class NetT, std::size_t First, std::size_t... I>
auto slice(std::index_sequence<I...>)
    -> Net<typename input_of<typename NetT::template layer<First>::input_shape>::type,
           typename NetT::template layer<First + I>::tag...>;
}  // namespace pipeline_detail

/// Layers [First, Last] of NetT as a network of their own (same parameter layout as the slice).
template <class NetT, std::size_t First, std::size_t Last>
using sub_net_t = decltype(pipeline_detail::slice<NetT, First>(std::make_index_sequence<Last - First + 1>{}));

/// The network of stage S of a plan.
template <class PlanT, std::size_t S>
using stage_net_t = sub_net_t<typename PlanT::net, PlanT::first[S], PlanT::last[S]>;

namespace pipeline_detail {

using Clock = std::chrono::steady_clock;
inline double seconds(Clock::duration d) noexcept { return std::chrono::duration<double>(d).count(); }

template <class PlanT>
inline constexpr bool cpu_only = [] {
  for (const auto& d : PlanT::devices::specs)
    if (d.cuda) return false;
  return true;
}();

}  // namespace pipeline_detail

/// Per-stage figures of the last `step` or `run`: busy seconds and busy / wall time.
struct StageStats {
  double busy_seconds = 0;
  double utilisation = 0;
};

/**
 * @brief Trains `Plan::net` through the pipeline: batches of M micro-batches of
 * `Plan::micro_batch` samples, one optimizer step per batch.
 *
 * @tparam PlanT a `ctnn::Plan` (from `ctnn::partition`)
 * @tparam L     loss; @tparam O optimizer
 * @tparam M     micro-batches per batch
 * @tparam Sc    `Schedule::gpipe` or `Schedule::one_f_one_b`
 * @tparam Be    backend of every CPU stage
 */
template <class PlanT, Loss L, Optimizer O, std::size_t M, Schedule Sc = Schedule::one_f_one_b,
          Backend Be = default_backend>
class PipelineTrainer {
  static_assert(M >= 1, "ctnn::PipelineTrainer: at least one micro-batch per batch");
  static_assert(pipeline_detail::cpu_only<PlanT>,
                "ctnn::PipelineTrainer: this plan has a CUDA stage; CPU pipelines run CpuCore stages only (CUDA "
                "stages come with the CUDA backend)");
  static constexpr const char* who = "ctnn::PipelineTrainer::step";

 public:
  using NetT = typename PlanT::net;
  using net_type = NetT;
  using loss_type = L;
  using optimizer_type = O;
  static constexpr std::size_t P = PlanT::stage_count;
  static constexpr std::size_t b = PlanT::micro_batch;
  static constexpr std::size_t batch = b * M;
  static constexpr std::size_t out_n = NetT::output_size;
  static constexpr std::size_t targets_per_sample = L::template targets_per_sample<out_n>;

  explicit PipelineTrainer(NetT& net, typename O::Options opts = {}, std::uint64_t seed = 0)
      : net_(net),
        opt_(opts),
        stage_opts_(make_opts(opts, std::make_index_sequence<P>{})),
        seed_(seed),
        grads_(NetT::param_count),
        state_(O::state_blocks * NetT::param_count) {
    for (std::size_t s = 0; s + 1 < P; ++s) {
      fwd_.emplace_back(std::make_unique<pipeline_detail::Channel>(M));
      bwd_.emplace_back(std::make_unique<pipeline_detail::Channel>(M));
    }
    crew_.start(P, PlanT::devices::specs.data(), [this](std::size_t s, int job) { dispatch(s, job); });
  }
  PipelineTrainer(const PipelineTrainer&) = delete;
  PipelineTrainer& operator=(const PipelineTrainer&) = delete;

  /**
   * @brief One optimizer step on `inputs` (batch·input_size floats) and `targets`.
   * @return the batch-mean loss before the update.
   * @throws ctnn::Error on a size mismatch, an invalid label, or a non-finite loss or gradient
   * (parameters then unchanged).
   */
  template <class Tt>
  float step(std::span<const float> inputs, std::span<const Tt> targets) {
    const float loss = run_batch(inputs, targets, true);
    if (!std::isfinite(loss)) detail::raise(detail::non_finite_loss(who, loss, steps_));
    for (std::size_t s = 0; s < P; ++s)
      if (bad_[s] != no_bad)
        detail::raise(detail::non_finite_gradient(who, steps_, " in stage " + std::to_string(s) + detail::at_parameter(bad_[s])));
    ++steps_;
    return loss;
  }

  /**
   * @brief The first half of `step`: the batch through the pipeline, gradients left in
   * `gradient_block()`, nothing updated and no NaN check (for data parallelism across
   * processes: reduce the block, then `apply_gradients`).
   */
  template <std::ranges::contiguous_range X, std::ranges::contiguous_range Y>
  float compute_gradients(const X& inputs, const Y& targets) {
    using Tt = std::ranges::range_value_t<Y>;
    return run_batch(std::span<const float>(std::ranges::data(inputs), std::ranges::size(inputs)),
                     std::span<const Tt>(std::ranges::data(targets), std::ranges::size(targets)), false);
  }
  /// The gradient block, writable (same layout as the parameters).
  std::span<float> gradient_block() noexcept { return grads_.span(); }
  /// The second half of `step`: raises (parameters untouched) on a non-finite loss or
  /// gradient, else every stage's optimizer updates its slice.
  void apply_gradients(float loss) {
    if (!std::isfinite(loss)) detail::raise(detail::non_finite_loss(who, loss, steps_));
    if (const std::size_t k = detail::first_non_finite(grads_.data(), grads_.size()); k != grads_.size())
      detail::raise(detail::non_finite_gradient(who, steps_, detail::at_parameter(k)));
    [&]<std::size_t... S>(std::index_sequence<S...>) { (update_stage<S>(), ...); }(std::make_index_sequence<P>{});
    ++steps_;
  }

  template <std::ranges::contiguous_range X, std::ranges::contiguous_range Y>
  float step(const X& inputs, const Y& targets) {
    using Tt = std::ranges::range_value_t<Y>;
    return step(std::span<const float>(std::ranges::data(inputs), std::ranges::size(inputs)),
                std::span<const Tt>(std::ranges::data(targets), std::ranges::size(targets)));
  }

  std::span<const float> gradients() const noexcept { return grads_.span(); }  ///< last step's gradients
  /// The optimizer: its options (e.g. the learning rate) are copied to every stage's
  /// optimizer at each step.
  O& optimizer() noexcept { return opt_; }
  std::size_t steps() const noexcept { return steps_; }
  /// Busy time and utilisation of each stage in the last step.
  std::array<StageStats, P> stage_stats() const noexcept {
    std::array<StageStats, P> r;
    for (std::size_t s = 0; s < P; ++s) r[s] = {busy_[s], wall_ > 0 ? busy_[s] / wall_ : 0.0};
    return r;
  }
  /// The outputs of micro-batch k of the last step (b·output_size values).
  std::span<const float> outputs(std::size_t k) const noexcept { return {output_of<P - 1>(k), b * out_n}; }

 private:
  template <std::size_t S>
  struct Stage {
    using SubNet = stage_net_t<PlanT, S>;
    static constexpr std::size_t first = PlanT::first[S];
    static constexpr std::size_t extra = [] {
      if constexpr (SimdBackend<Be>)
        return FusionPlan<SubNet>::template backward_scratch<b>;
      else
        return std::size_t{0};
    }();
    static constexpr std::size_t acts_n = SubNet::activation_count * b * M, dx_n = S == 0 ? 1 : SubNet::input_size * b * M,
                                 dout_n = S + 1 == P ? out_n * b * M : 1, scratch_n = 2 * SubNet::max_width * b + extra,
                                 transposed_n = SimdBackend<Be> ? SubNet::param_count : 1;
    static constexpr std::size_t floats = acts_n + dx_n + dout_n + scratch_n + transposed_n;
    AlignedBuffer acts{acts_n};
    AlignedBuffer dx{dx_n};                  // gradient of this stage's input, per micro-batch
    AlignedBuffer dout{dout_n};              // loss gradient (last stage)
    AlignedBuffer scratch{scratch_n};
    AlignedBuffer transposed{transposed_n};  // Wᵀ, once per step
  };

  template <std::size_t... S>
  static auto make_stages(std::index_sequence<S...>) -> std::tuple<Stage<S>...>;
  using Stages = decltype(make_stages(std::make_index_sequence<P>{}));

 public:
  /// Every byte of the buffers the trainer allocates when built: gradients, optimizer state,
  /// and per stage its micro-batches' activations, input and loss gradients, scratch and Wᵀ
  /// (the channels between the stages and the threads' bookkeeping aside).
  static constexpr std::size_t workspace_bytes = sizeof(float) * [] {
    return NetT::param_count * (1 + O::state_blocks) +
           []<std::size_t... S>(std::index_sequence<S...>) { return (Stage<S>::floats + ...); }(std::make_index_sequence<P>{});
  }();

 private:

  template <std::size_t S>
  const float* output_of(std::size_t k) const noexcept {
    using SubNet = typename Stage<S>::SubNet;
    return std::get<S>(stages_).acts.data() + (k * SubNet::activation_count + SubNet::activation_offsets[SubNet::layer_count - 1]) * b;
  }
  template <std::size_t S>
  const float* input_of(std::size_t k) const noexcept {
    if constexpr (S == 0)
      return x_ + k * b * NetT::input_size;
    else
      return output_of<S - 1>(k);
  }

  static constexpr std::size_t no_bad = ~std::size_t{0};

  template <class Tt>
  float run_batch(std::span<const float> inputs, std::span<const Tt> targets, bool update) {
    detail::check_batch<L, NetT::input_size, out_n, batch>("ctnn::PipelineTrainer::step", inputs.size(), targets,
                                                           steps_);
    x_ = inputs.data();
    targets_ = targets.data();
    loss_fn_ = [](const float* out, const void* t, std::size_t k, float* d) -> float {
      const auto* micro_targets = static_cast<const Tt*>(t) + k * b * targets_per_sample;
      return detail::loss_value_and_gradient<L, Be, out_n, b>(out, micro_targets, d);
    };
    loss_sum_ = 0;
    update_ = update;
    const auto t0 = pipeline_detail::Clock::now();
    crew_.run(0);  // every stage: its micro-batches, its checks, then (if asked and all are clean) its update
    wall_ = pipeline_detail::seconds(pipeline_detail::Clock::now() - t0);
    return static_cast<float>(loss_sum_ / M);
  }

  void dispatch(std::size_t s, int) {
    [&]<std::size_t... S>(std::index_sequence<S...>) { ((s == S ? run_stage<S>() : void()), ...); }(
        std::make_index_sequence<P>{});
  }

  /// After every stage has checked its gradients (and the last one the loss): whether all are clean.
  bool clean() const noexcept {
    if (!std::isfinite(loss_sum_)) return false;
    for (std::size_t s = 0; s < P; ++s)
      if (bad_[s] != no_bad) return false;
    return true;
  }

  /// Range of stage S in the flat parameter block.
  template <std::size_t S>
  static constexpr std::size_t begin_of = NetT::param_offsets[PlanT::first[S]];
  template <std::size_t S>
  static constexpr std::size_t end_of = S + 1 == P ? NetT::param_count : NetT::param_offsets[PlanT::first[S + 1]];

  template <std::size_t S>
  void update_stage() {
    constexpr std::size_t n = end_of<S> - begin_of<S>;
    if constexpr (n > 0) {
      O& o = stage_opts_[S];
      o.options() = opt_.options();
      o.update(net_.params().subspan(begin_of<S>, n), grads_.span().subspan(begin_of<S>, n),
               state_.span().subspan(O::state_blocks * begin_of<S>, O::state_blocks * n));
    }
  }

  template <std::size_t S>
  void run_stage() {
    using St = Stage<S>;
    using SubNet = typename St::SubNet;
    St& st = std::get<S>(stages_);
    float* params = net_.params().data() + NetT::param_offsets[St::first];
    float* grads = grads_.data() + NetT::param_offsets[St::first];
    float* s0 = st.scratch.data();
    float* s1 = s0 + SubNet::max_width * b;
    std::fill(grads_.data() + begin_of<S>, grads_.data() + end_of<S>, 0.0f);
    double busy = 0;
    bool transposed_ready = false;
    constexpr auto ops = schedule_ops<M>(Sc, P, S);
    for (const PipelineOp op : ops) {
      const std::size_t k = op.forward ? (S == 0 ? op.micro : fwd_[S - 1]->pop()) : (S + 1 == P ? op.micro : bwd_[S]->pop());
      const auto t0 = pipeline_detail::Clock::now();
      PassContext ctx;
      ctx.scratch = s1 + SubNet::max_width * b;
      ctx.seed = seed_;
      ctx.step = steps_ * M + k;
      ctx.layer = St::first;
      ctx.training = true;
      if constexpr (SimdBackend<Be>) {
        ctx.transposed = st.transposed.data();
        ctx.transposed_ready = transposed_ready;
      }
      float* acts = st.acts.data() + k * SubNet::activation_count * b;
      const float* in = input_of<S>(k);
      if (op.forward) {
        if constexpr (SimdBackend<Be>)
          fused_forward_pass_saving<SubNet, b>(Be{}, params, in, acts, ctx);
        else
          forward_pass_saving<SubNet, b>(Be{}, params, in, acts, ctx);
        if constexpr (S + 1 == P) loss_gradient(k, acts + SubNet::activation_offsets[SubNet::layer_count - 1] * b, st);
      } else {
        const float* dy;
        if constexpr (S + 1 == P)
          dy = st.dout.data() + k * out_n * b;
        else
          dy = std::get<S + 1>(stages_).dx.data() + k * Stage<S + 1>::SubNet::input_size * b;
        float* dx_in = S == 0 ? nullptr : st.dx.data() + k * SubNet::input_size * b;
        if constexpr (SimdBackend<Be>) {
          fused_backward_pass<SubNet, b>(Be{}, params, in, acts, dy, grads, s0, s1, ctx.scratch, ctx, dx_in);
          transposed_ready = true;
        } else
          backward_pass<SubNet, b>(Be{}, params, in, acts, dy, grads, s0, s1, ctx, dx_in);
      }
      busy += pipeline_detail::seconds(pipeline_detail::Clock::now() - t0);
      if (op.forward) {
        if constexpr (S + 1 < P) fwd_[S]->push(k);
      } else {
        if constexpr (S > 0) bwd_[S - 1]->push(k);
      }
    }
    const std::size_t n = end_of<S> - begin_of<S>, k = detail::first_non_finite(grads_.data() + begin_of<S>, n);
    bad_[S] = k == n ? no_bad : k;
    barrier_.arrive_and_wait();  // every stage's checks are in
    const auto t1 = pipeline_detail::Clock::now();
    if (update_ && clean()) update_stage<S>();  // one optimizer step per batch, each stage on its slice
    busy_[S] = busy + pipeline_detail::seconds(pipeline_detail::Clock::now() - t1);
  }

  template <class St>
  void loss_gradient(std::size_t k, const float* out, St& st) {
    float* d = st.dout.data() + k * out_n * b;
    const float l = loss_fn_(out, targets_, k, d);
    for (std::size_t i = 0; i < out_n * b; ++i) d[i] *= 1.0f / static_cast<float>(M);
    loss_sum_ += l;  // only the last stage's thread writes it; read after the crew finishes
  }

  template <std::size_t... S>
  static std::array<O, P> make_opts(typename O::Options o, std::index_sequence<S...>) {
    return {((void)S, O(o))...};
  }

  NetT& net_;
  O opt_;
  std::array<O, P> stage_opts_;  ///< one per stage: each updates its slice (same step count)
  std::uint64_t seed_;
  AlignedBuffer grads_, state_;
  std::array<std::size_t, P> bad_{};  ///< first non-finite gradient per stage, or no_bad
  pipeline_detail::Barrier barrier_{P};
  Stages stages_;
  std::vector<std::unique_ptr<pipeline_detail::Channel>> fwd_, bwd_;
  const float* x_ = nullptr;
  const void* targets_ = nullptr;
  float (*loss_fn_)(const float*, const void*, std::size_t, float*) = nullptr;
  double loss_sum_ = 0;
  bool update_ = true;  ///< whether the stages apply the optimizer at the end of the batch
  std::array<double, P> busy_{};
  double wall_ = 0;
  std::size_t steps_ = 0;
  pipeline_detail::Crew crew_;  // last: its threads stop before the buffers go
};

/**
 * @brief Streaming inference through the pipeline: `run(x, y, n)` pushes n micro-batches
 * of `Plan::micro_batch` samples through the stages; each stage double-buffers its output,
 * so stage s works on micro-batch k while stage s+1 works on k−1.
 */
template <class PlanT, Backend Be = default_backend>
class PipelineInference {
  static_assert(pipeline_detail::cpu_only<PlanT>, "ctnn::PipelineInference: CPU stages only for now");

 public:
  using NetT = typename PlanT::net;
  static constexpr std::size_t P = PlanT::stage_count;
  static constexpr std::size_t b = PlanT::micro_batch;
  static constexpr std::size_t slots = 2;  ///< output buffers per stage

  explicit PipelineInference(const NetT& net) : net_(net) {
    for (std::size_t s = 0; s + 1 < P; ++s) {
      ready_.emplace_back(std::make_unique<pipeline_detail::Channel>(slots));
      credit_.emplace_back(std::make_unique<pipeline_detail::Channel>(slots));
    }
    crew_.start(P, PlanT::devices::specs.data(), [this](std::size_t s, int) {
      [&]<std::size_t... S>(std::index_sequence<S...>) { ((s == S ? run_stage<S>() : void()), ...); }(
          std::make_index_sequence<P>{});
    });
  }

  /// y[k] = net(x[k]) for n micro-batches; x holds n·b·input_size floats, y n·b·output_size.
  void run(std::span<const float> x, std::span<float> y, std::size_t n) {
    if (x.size() < n * b * NetT::input_size || y.size() < n * b * NetT::output_size)
      detail::raise("ctnn::PipelineInference::run: buffers smaller than " + std::to_string(n) + " micro-batches");
    x_ = x.data();
    y_ = y.data();
    n_ = n;
    for (auto& c : credit_)
      for (std::size_t i = 0; i < slots; ++i) c->push(i);
    const auto t0 = pipeline_detail::Clock::now();
    crew_.run(0);
    wall_ = pipeline_detail::seconds(pipeline_detail::Clock::now() - t0);
    for (auto& c : credit_)
      for (std::size_t i = 0; i < slots; ++i) (void)c->pop();  // every slot came back
  }
  std::array<StageStats, P> stage_stats() const noexcept {
    std::array<StageStats, P> r;
    for (std::size_t s = 0; s < P; ++s) r[s] = {busy_[s], wall_ > 0 ? busy_[s] / wall_ : 0.0};
    return r;
  }

 private:
  template <std::size_t S>
  struct Stage {
    using SubNet = stage_net_t<PlanT, S>;
    AlignedBuffer out{SubNet::output_size * b * slots};
    AlignedBuffer scratch{2 * SubNet::max_width * b + SubNet::template inference_scratch<b>};
  };
  template <std::size_t... S>
  static auto make_stages(std::index_sequence<S...>) -> std::tuple<Stage<S>...>;
  using Stages = decltype(make_stages(std::make_index_sequence<P>{}));

  template <std::size_t S>
  void run_stage() {
    using SubNet = typename Stage<S>::SubNet;
    auto& st = std::get<S>(stages_);
    const float* params = net_.params().data() + NetT::param_offsets[PlanT::first[S]];
    float* s0 = st.scratch.data();
    float* s1 = s0 + SubNet::max_width * b;
    PassContext ctx;
    ctx.scratch = s1 + SubNet::max_width * b;
    double busy = 0;
    for (std::size_t k = 0; k < n_; ++k) {
      const float* in;
      std::size_t in_slot = 0;
      if constexpr (S == 0) {
        in = x_ + k * b * NetT::input_size;
      } else {
        in_slot = ready_[S - 1]->pop();
        in = std::get<S - 1>(stages_).out.data() + in_slot * SubNet::input_size * b;
      }
      float* out;
      std::size_t slot = 0;
      if constexpr (S + 1 == P) {
        out = y_ + k * b * NetT::output_size;
      } else {
        slot = credit_[S]->pop();
        out = st.out.data() + slot * SubNet::output_size * b;
      }
      const auto t0 = pipeline_detail::Clock::now();
      if constexpr (SimdBackend<Be>)
        fused_forward_pass<SubNet, b>(Be{}, params, in, out, s0, s1, ctx);
      else
        forward_pass<SubNet, b>(Be{}, params, in, out, s0, s1, ctx);
      busy += pipeline_detail::seconds(pipeline_detail::Clock::now() - t0);
      if constexpr (S > 0) credit_[S - 1]->push(in_slot);
      if constexpr (S + 1 < P) ready_[S]->push(slot);
    }
    busy_[S] = busy;
  }

  const NetT& net_;
  Stages stages_;
  std::vector<std::unique_ptr<pipeline_detail::Channel>> ready_, credit_;
  const float* x_ = nullptr;
  float* y_ = nullptr;
  std::size_t n_ = 0;
  std::array<double, P> busy_{};
  double wall_ = 0;
  pipeline_detail::Crew crew_;
};

CTNN_END_NAMESPACE
