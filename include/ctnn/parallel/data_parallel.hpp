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
 */
#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "../core/memory.hpp"
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
  explicit DataParallel(NetT& net, typename O::Options opts = {}, std::size_t threads = ThreadsT::count,
                        std::uint64_t seed = 0)
      : net_(net),
        opt_(opts),
        seed_(seed),
        threads_(threads),
        chunk_grads_(chunks * NetT::param_count),
        state_(O::state_blocks * NetT::param_count),
        acts_(chunks * NetT::activation_count * chunk),
        dout_(chunks * out_n * chunk) {
    static_assert(ThreadsT::count <= chunks, "ctnn::DataParallel: more threads than chunks; raise Chunks<C>");
    if (threads_ == 0 || threads_ > chunks)
      detail::raise("ctnn::DataParallel: thread count " + std::to_string(threads_) + " outside [1, " +
                    std::to_string(chunks) + "] (the batch is cut into " + std::to_string(chunks) + " chunks)");
    for (std::size_t w = 0; w < threads_; ++w) {
      workers_.push_back(std::make_unique<Worker>(opts));
      // Parameter ranges on 64-float boundaries: every element meets the same SIMD lane
      // position whatever the thread count, so the update is bit-identical too.
      const std::size_t per = (NetT::param_count / threads_ + 63) / 64 * 64;
      workers_[w]->begin = std::min(NetT::param_count, w * per);
      workers_[w]->end = w + 1 == threads_ ? NetT::param_count : std::min(NetT::param_count, (w + 1) * per);
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
    if (inputs.size() != batch * NetT::input_size)
      detail::raise("ctnn::DataParallel::step: expected " + std::to_string(batch * NetT::input_size) +
                    " input values, got " + std::to_string(inputs.size()));
    if (targets.size() != batch * targets_per_sample)
      detail::raise("ctnn::DataParallel::step: expected " + std::to_string(batch * targets_per_sample) +
                    " targets, got " + std::to_string(targets.size()));
    if constexpr (std::is_integral_v<Tt>)
      if (!L::template valid_targets<out_n, batch>(targets.data()))
        detail::raise("ctnn::DataParallel::step: a label at step " + std::to_string(steps_) + " is outside [0, " +
                      std::to_string(out_n) + ")");
    x_ = inputs.data();
    targets_ = targets.data();
    loss_fn_ = [](const float* out, const void* t, std::size_t c, float* d) -> float {
      return L::template value_and_gradient<out_n, chunk>(out, static_cast<const Tt*>(t) + c * chunk * targets_per_sample, d);
    };
    crew_.run(0);
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
  template <std::ranges::contiguous_range X, std::ranges::contiguous_range Y>
  float step(const X& inputs, const Y& targets) {
    using Tt = std::ranges::range_value_t<Y>;
    return step(std::span<const float>(std::ranges::data(inputs), std::ranges::size(inputs)),
                std::span<const Tt>(std::ranges::data(targets), std::ranges::size(targets)));
  }

  std::size_t threads() const noexcept { return threads_; }
  std::size_t steps() const noexcept { return steps_; }
  /// The last step's reduced gradients (chunk 0's block, into which the others are summed).
  std::span<const float> gradients() const noexcept { return chunk_grads_.span().first(NetT::param_count); }
  /// Its options (e.g. the learning rate) are copied to every worker's optimizer each step.
  O& optimizer() noexcept { return opt_; }
  /// The outputs for the last batch (B·output_size values, in sample order).
  std::vector<float> outputs() const {
    std::vector<float> y(batch * out_n);
    for (std::size_t c = 0; c < chunks; ++c)
      std::copy_n(acts_.data() + (c * NetT::activation_count + NetT::activation_offsets[NetT::layer_count - 1]) * chunk,
                  chunk * out_n, y.data() + c * chunk * out_n);
    return y;
  }

 private:
  static constexpr std::size_t no_bad = ~std::size_t{0};
  static constexpr std::size_t extra = [] {
    if constexpr (SimdBackend<Be>)
      return FusionPlan<NetT>::template backward_scratch<chunk>;
    else
      return std::size_t{0};
  }();

  struct Worker {
    explicit Worker(typename O::Options o) : opt(o) {}
    O opt;
    AlignedBuffer scratch{2 * NetT::max_width * chunk + extra};
    std::size_t begin = 0, end = 0;  ///< parameter range this worker reduces and updates
    std::size_t bad = no_bad;        ///< first non-finite gradient in the range
  };

  void work(std::size_t w) {
    Worker& me = *workers_[w];
    float* s0 = me.scratch.data();
    float* s1 = s0 + NetT::max_width * chunk;
    const float* p = net_.params().data();
    // 1. Chunks w, w + T, w + 2T, ...: forward, loss gradient, backward into the chunk's block.
    for (std::size_t c = w; c < chunks; c += threads_) {
      float* g = chunk_grads_.data() + c * NetT::param_count;
      std::fill_n(g, NetT::param_count, 0.0f);
      float* acts = acts_.data() + c * NetT::activation_count * chunk;
      float* d = dout_.data() + c * out_n * chunk;
      const float* x = x_ + c * chunk * NetT::input_size;
      PassContext ctx;
      ctx.scratch = s1 + NetT::max_width * chunk;
      ctx.seed = seed_;
      ctx.step = steps_ * chunks + c;  // masks depend on the chunk, not the thread
      ctx.training = true;
      if constexpr (SimdBackend<Be>)
        fused_forward_pass_saving<NetT, chunk>(Be{}, p, x, acts, ctx);
      else
        forward_pass_saving<NetT, chunk>(Be{}, p, x, acts, ctx);
      chunk_loss_[c] = loss_fn_(acts + NetT::activation_offsets[NetT::layer_count - 1] * chunk, targets_, c, d);
      for (std::size_t i = 0; i < out_n * chunk; ++i) d[i] *= 1.0f / static_cast<float>(chunks);
      if constexpr (SimdBackend<Be>)
        fused_backward_pass<NetT, chunk>(Be{}, p, x, acts, d, g, s0, s1, ctx.scratch, ctx);
      else
        backward_pass<NetT, chunk>(Be{}, p, x, acts, d, g, s0, s1, ctx);
    }
    barrier_->arrive_and_wait();
    // 2. Reduce this worker's range over the chunks, in chunk order, and check it.
    me.bad = no_bad;
    float* out = chunk_grads_.data();  // chunk 0's block receives the sum
    // The check rides along the last addition: a float is NaN or ±Inf exactly when its
    // exponent bits are all ones; OR-ing that test over the range vectorises.
    std::uint32_t poison = 0;
    auto non_finite = [](float v) noexcept -> std::uint32_t {
      return (std::bit_cast<std::uint32_t>(v) & 0x7f800000u) == 0x7f800000u;
    };
    if constexpr (chunks == 1) {
      for (std::size_t k = me.begin; k < me.end; ++k) poison |= non_finite(out[k]);
    } else {
      for (std::size_t c = 1; c < chunks; ++c) {
        const float* g = chunk_grads_.data() + c * NetT::param_count;
        if (c + 1 < chunks) {
          for (std::size_t k = me.begin; k < me.end; ++k) out[k] += g[k];
        } else {
          for (std::size_t k = me.begin; k < me.end; ++k) {
            out[k] += g[k];
            poison |= non_finite(out[k]);
          }
        }
      }
    }
    if (poison != 0)  // rare: find the first offender for the message
      for (std::size_t k = me.begin; k < me.end; ++k)
        if (!std::isfinite(out[k])) {
          me.bad = k;
          break;
        }
    barrier_->arrive_and_wait();
    // 3. Update this worker's range, only if everything is clean.
    bool clean = true;
    double loss = 0;
    for (double l : chunk_loss_) loss += l;
    clean = std::isfinite(loss);
    for (const auto& other : workers_) clean = clean && other->bad == no_bad;
    if (clean && me.end > me.begin) {
      me.opt.options() = opt_.options();
      const std::size_t n = me.end - me.begin;
      me.opt.update(net_.params().subspan(me.begin, n), chunk_grads_.span().subspan(me.begin, n),
                    state_.span().subspan(O::state_blocks * me.begin, O::state_blocks * n));
    }
  }

  NetT& net_;
  O opt_;
  std::uint64_t seed_;
  std::size_t threads_;
  AlignedBuffer chunk_grads_, state_, acts_, dout_;
  std::array<double, chunks> chunk_loss_{};
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<pipeline_detail::Barrier> barrier_;
  const float* x_ = nullptr;
  const void* targets_ = nullptr;
  float (*loss_fn_)(const float*, const void*, std::size_t, float*) = nullptr;
  std::size_t steps_ = 0;
  pipeline_detail::Crew crew_;  // last: its threads stop before the buffers go
};

CTNN_END_NAMESPACE
