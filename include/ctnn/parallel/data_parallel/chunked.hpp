#pragma once
/**
 * @file chunked.hpp
 * @brief `DataParallel`'s steps (`step`, `step_rows`, the common run) and the chunked
 * path: each worker differentiates whole chunks of the batch into the chunk's gradient
 * block, then sums, checks and updates its range of the parameter block over the chunks in
 * chunk order. Included by `data_parallel.hpp`.
 */
#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "../../backends/simd/activations.hpp"
#include "../../backends/simd/dense.hpp"
#include "../../backends/simd/gemm.hpp"
#include "../../detail/finite.hpp"
#include "../data_parallel.hpp"

CTNN_BEGIN_NAMESPACE

template <class TrainerT, class ThreadsT, class ChunksT>
template <class Tt>
float DataParallel<TrainerT, ThreadsT, ChunksT>::step(std::span<const float> inputs, std::span<const Tt> targets) {
  detail::check_batch<L, NetT::input_size, out_n, batch>("ctnn::DataParallel::step", inputs.size(), targets, steps_);
  x_ = inputs.data();
  x_index_ = identity_.data();
  targets_ = targets.data();
  gather_ = nullptr;
  return run_step<Tt>();
}

template <class TrainerT, class ThreadsT, class ChunksT>
template <class Tt>
float DataParallel<TrainerT, ThreadsT, ChunksT>::step_rows(std::span<const float> inputs, std::span<const Tt> targets, std::span<const std::uint32_t> rows) {
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
    if constexpr (split_weights)  // every worker needs every target (each computes the loss)
      for (std::size_t s = 0; s < batch; ++s)
        std::copy_n(src + std::size_t{self.gather_rows_[s]} * targets_per_sample, targets_per_sample,
                    reinterpret_cast<Tt*>(self.workers_[w]->targets.data()) + s * targets_per_sample);
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

template <class TrainerT, class ThreadsT, class ChunksT>
template <class Tt>
float DataParallel<TrainerT, ThreadsT, ChunksT>::run_step() {
  loss_fn_ = [](const float* out, const void* t, std::size_t c, float* d) -> float {
    const auto* chunk_targets = static_cast<const Tt*>(t) + c * chunk * targets_per_sample;
    return detail::loss_value_and_gradient<L, Be, out_n, chunk>(out, chunk_targets, d);
  };
  if (carrying_) std::copy_n(carry_.data(), carry_.size(), carry_before_.data());
  crew_.run(0);
  auto fail = [&](const std::string& what) {
    if (carrying_) std::copy_n(carry_before_.data(), carry_.size(), carry_.data());
    detail::raise(what);
  };
  if constexpr (!split_weights) {  // each chunk's outputs lie in its own activation block
    constexpr std::size_t last = NetT::activation_offsets[NetT::layer_count - 1];
    for (std::size_t c = 0; c < chunks; ++c)
      std::copy_n(acts_.data() + (c * NetT::activation_count + last) * chunk, chunk * out_n, y_.data() + c * chunk * out_n);
  }
  gradients_kept_ = keep_gradients_ || gradients_only_;
  double loss = 0;
  for (double l : chunk_loss_) loss += l;  // fixed order
  loss /= chunks;
  if (gradients_only_) return static_cast<float>(loss);  // checked by apply_gradients
  if (!std::isfinite(loss))
    fail(detail::non_finite_loss("ctnn::DataParallel::step", loss, steps_));
  for (const auto& w : workers_)
    if (w->bad != no_bad)
      fail(detail::non_finite_gradient("ctnn::DataParallel::step", steps_, detail::at_parameter(w->bad)));
  ++steps_;
  return static_cast<float>(loss);
}

template <class TrainerT, class ThreadsT, class ChunksT>
void DataParallel<TrainerT, ThreadsT, ChunksT>::work_chunks(std::size_t w) {
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
    if (carrying_) ctx.carry = carry_.data() + c * NetT::carry_count * chunk;
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
      using Act = typename Plan::template activation<0>;
      const float* dy0 = fused_backward_pass<NetT, chunk, 1>(Be{}, p, x, acts, d, g, s0, s1, ctx.scratch, ctx);
      const float* z = acts + NetT::activation_offsets[0] * chunk;
      const float* y = acts + Plan::output_slot[0] * chunk;
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
    at_once = !gradients_only_ && apply_first_layer_at_once();
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
  if (!clean || gradients_only_) return;
  if constexpr (split_first)
    if (!at_once) first_layer_update(me);
  update_rest_of_range(me);
}

template <class TrainerT, class ThreadsT, class ChunksT>
void DataParallel<TrainerT, ThreadsT, ChunksT>::update_rest_of_range(Worker& me) {
  apply_segments(me, 1, [&](auto&& f) {
    if (const auto [b, e] = me.range[1]; e > b) f(b, e - b);
  });
}

template <class TrainerT, class ThreadsT, class ChunksT>
template <class F>
void DataParallel<TrainerT, ThreadsT, ChunksT>::apply_segments(Worker& me, std::size_t k, F&& segments) {
  me.opt[k].options() = opt_.options();
  const O before = me.opt[k];
  segments([&](std::size_t b, std::size_t n) {
    O o = before;
    o.update(net_.params().subspan(b, n), grad_.span().subspan(b, n), state_.span().subspan(O::state_blocks * b, O::state_blocks * n));
    me.opt[k] = o;
  });
}

template <class TrainerT, class ThreadsT, class ChunksT>
void DataParallel<TrainerT, ThreadsT, ChunksT>::apply_gradients(float loss) {
  constexpr const char* who = "ctnn::DataParallel::apply_gradients";
  auto fail = [&](const std::string& what) {  // the carried states go back as they were before the step
    if (carrying_) std::copy_n(carry_before_.data(), carry_.size(), carry_.data());
    detail::raise(what);
  };
  if (!std::isfinite(loss)) fail(detail::non_finite_loss(who, loss, steps_));
  if (const std::size_t k = detail::first_non_finite(grad_.data(), NetT::param_count); k != NetT::param_count)
    fail(detail::non_finite_gradient(who, steps_, detail::at_parameter(k)));
  crew_.run(1);
  ++steps_;
}

template <class TrainerT, class ThreadsT, class ChunksT>
void DataParallel<TrainerT, ThreadsT, ChunksT>::update_ranges(std::size_t w) {
  Worker& me = *workers_[w];
  if constexpr (split_first) first_layer_update(me);
  if constexpr (split_weights)
    update_weight_segments(me, w);
  else
    update_rest_of_range(me);
}

CTNN_END_NAMESPACE
