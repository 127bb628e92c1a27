#pragma once
/**
 * @file first_layer.hpp
 * @brief `DataParallel`'s split of a first Dense layer by its input rows: per-group partial
 * products of the forward pass, the weight gradient in panels claimed by the workers, the
 * NaN/Inf pre-check that lets the optimizer's rule run in the product's epilogue. Included by
 * `data_parallel.hpp`.
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
struct DataParallel<TrainerT, ThreadsT, ChunksT>::StoreCheckEpilogue {
  using V = kernel::simd::vec<Be>;
  float* c;
  typename V::batch_bool_type poison = typename V::batch_bool_type(false);
  template <std::size_t L>
  void store(V acc, std::size_t m, std::size_t j) noexcept {
    kernel::simd::store_n<L>(Be{}, c + m * first_out + j, acc);
    poison = poison | (xsimd::abs(acc) > V(std::numeric_limits<float>::max())) | (acc != acc);
  }
};

template <class TrainerT, class ThreadsT, class ChunksT>
template <class Rule>
struct DataParallel<TrainerT, ThreadsT, ChunksT>::UpdateEpilogue {
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

template <class TrainerT, class ThreadsT, class ChunksT>
template <std::size_t Rows>
bool DataParallel<TrainerT, ThreadsT, ChunksT>::first_layer_rows(std::size_t r0, const float* dz, float* to) {
  using S = kernel::simd::GemmShape<Rows, first_out, batch, 1, first_in, first_out>;
  StoreCheckEpilogue epi{to};
  kernel::simd::gemm<S>(Be{}, x_columns(r0), dz, epi);
  return xsimd::any(epi.poison);
}

template <class TrainerT, class ThreadsT, class ChunksT>
template <class F>
void DataParallel<TrainerT, ThreadsT, ChunksT>::for_each_panel(const Worker& me, F&& f) {
  for (std::size_t p = RowSplit::panel_begin(me.group_begin); p < RowSplit::panel_begin(me.group_end); ++p) with_panel(p, f);
}

template <class TrainerT, class ThreadsT, class ChunksT>
template <class F>
void DataParallel<TrainerT, ThreadsT, ChunksT>::with_panel(std::size_t p, F&& f) {
  [&]<std::size_t... G>(std::index_sequence<G...>) {
    (
        [&] {
          constexpr std::size_t r0 = RowSplit::row(G), r1 = RowSplit::row(G + 1), full = (r1 - r0) / RowSplit::panel_rows;
          if (p < RowSplit::panel_begin(G) || p >= RowSplit::panel_begin(G + 1)) return;
          const std::size_t i = p - RowSplit::panel_begin(G);
          if constexpr (full > 0)
            if (i < full) return f.template operator()<RowSplit::panel_rows>(r0 + i * RowSplit::panel_rows);
          if constexpr ((r1 - r0) % RowSplit::panel_rows != 0) f.template operator()<(r1 - r0) % RowSplit::panel_rows>(r0 + full * RowSplit::panel_rows);
        }(),
        ...);
  }(std::make_index_sequence<groups>{});
}

template <class TrainerT, class ThreadsT, class ChunksT>
template <class F>
void DataParallel<TrainerT, ThreadsT, ChunksT>::claim_panels(const Worker& me, std::size_t w, F&& f) {
  auto claim = [&](std::size_t p) { return !panel_taken_[p].v.exchange(true, std::memory_order_relaxed); };
  for (std::size_t p = RowSplit::panel_begin(me.group_begin); p < RowSplit::panel_begin(me.group_end) && claim(p); ++p) f(p);
  for (std::size_t v = 1; v < threads_; ++v) {
    const Worker& other = *workers_[(w + v) % threads_];
    for (std::size_t p = RowSplit::panel_begin(other.group_end); p-- > RowSplit::panel_begin(other.group_begin) && claim(p);) f(p);
  }
}

template <class TrainerT, class ThreadsT, class ChunksT>
void DataParallel<TrainerT, ThreadsT, ChunksT>::reset_panels(const Worker& me) noexcept {
  for (std::size_t p = RowSplit::panel_begin(me.group_begin); p < RowSplit::panel_begin(me.group_end); ++p)
    panel_taken_[p].v.store(false, std::memory_order_relaxed);
}

template <class TrainerT, class ThreadsT, class ChunksT>
bool DataParallel<TrainerT, ThreadsT, ChunksT>::apply_first_layer_at_once() const noexcept {
  constexpr float g_limit = std::numeric_limits<float>::max() / static_cast<float>(2 * chunks);
  std::uint32_t dz_bits = 0;
  for (std::size_t c = 0; c < chunks; ++c) {
    if (!std::isfinite(chunk_loss_[c]) || chunk_g_bits_[c] > std::bit_cast<std::uint32_t>(g_limit)) return false;
    dz_bits = std::max(dz_bits, chunk_dz_bits_[c]);
  }
  return first_layer_bound_holds(dz_bits);
}

template <class TrainerT, class ThreadsT, class ChunksT>
bool DataParallel<TrainerT, ThreadsT, ChunksT>::first_layer_bound_holds(std::uint32_t dz_bits) const noexcept {
  if (dz_bits >= detail::non_finite_bits) return false;
  double x_max = 0;
  for (const auto& wk : workers_) {
    if (wk->x_bits >= detail::non_finite_bits) return false;
    x_max = std::max(x_max, double(std::bit_cast<float>(wk->x_bits)));
  }
  return double(batch) * x_max * double(std::bit_cast<float>(dz_bits)) <= double(std::numeric_limits<float>::max()) / 4;
}

template <class TrainerT, class ThreadsT, class ChunksT>
void DataParallel<TrainerT, ThreadsT, ChunksT>::record_input_bits(Worker& me) const noexcept {
  const std::size_t i0 = RowSplit::row(me.group_begin), i1 = RowSplit::row(me.group_end);
  std::uint32_t xb = 0;
  for (std::size_t smp = 0; smp < batch; ++smp)
    xb = std::max(xb, detail::max_abs_bits(x_ + std::size_t{x_index_[smp]} * first_in + i0, i1 - i0));
  me.x_bits = xb;
}

template <class TrainerT, class ThreadsT, class ChunksT>
template <std::size_t G>
void DataParallel<TrainerT, ThreadsT, ChunksT>::first_layer_partial(const float* w0) {
  constexpr std::size_t r0 = RowSplit::row(G), rows = RowSplit::row(G + 1) - r0;
  if constexpr (rows > 0) {
    using S = kernel::simd::GemmShape<batch, first_out, rows, first_in, 1, first_out>;
    kernel::simd::StoreEpilogue<Be, first_out> epi{Be{}, partial_.data() + G * batch * first_out};
    kernel::simd::gemm<S>(Be{}, kernel::simd::IndexedA<first_in, true>{x_ + r0, x_index_}, w0 + r0 * first_out, epi);
  }
}

template <class TrainerT, class ThreadsT, class ChunksT>
void DataParallel<TrainerT, ThreadsT, ChunksT>::first_layer_combine(std::size_t c, const float* bias, float* acts) {
  float* y = acts + Plan::output_slot[0] * chunk;
  float* z = Plan::saves_pre_activation[0] ? acts + NetT::activation_offsets[0] * chunk : nullptr;
  kernel::simd::BiasActivationEpilogue<Be, Act0, first_out> epi{Be{}, bias, y, z};
  sum_groups<first_out, true>(partial_.data(), epi, c * chunk, (c + 1) * chunk);
}

template <class TrainerT, class ThreadsT, class ChunksT>
bool DataParallel<TrainerT, ThreadsT, ChunksT>::first_layer_gradient(Worker& me, const float* dz, bool& at_once, std::size_t w) {
  if (w == 0 && !at_once && !gradients_only_) ++deferred_;
  me.opt[0].options() = opt_.options();
  float* out = grad_.data();
  if (!at_once) {
    bool poison = false;
    for_each_panel(me, [&]<std::size_t Rows>(std::size_t r0) { poison |= first_layer_rows<Rows>(r0, dz, out + r0 * first_out); });
    return poison;
  }
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
  return false;  // applied, never stored
}

template <class TrainerT, class ThreadsT, class ChunksT>
void DataParallel<TrainerT, ThreadsT, ChunksT>::first_layer_update(Worker& me) {
  apply_segments(me, 0, [&](auto&& f) {
    for_each_panel(me, [&]<std::size_t Rows>(std::size_t r0) { f(r0 * first_out, Rows * first_out); });
  });
}

CTNN_END_NAMESPACE
