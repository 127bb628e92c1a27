#pragma once
/**
 * @file weight_split.hpp
 * @brief `DataParallel`'s split of a run of Dense nodes by its weights (`dp_detail::WeightSplit`):
 * the second node's input rows grouped like the first layer's, partial products summed in
 * group order, each worker updating contiguous rows of both large matrices; the tail computed
 * by every worker. Included by `data_parallel.hpp`.
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
struct DataParallel<TrainerT, ThreadsT, ChunksT>::FirstActGradEpilogue {
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

template <class TrainerT, class ThreadsT, class ChunksT>
template <std::size_t Out, bool FirstRows, class Epi>
void DataParallel<TrainerT, ThreadsT, ChunksT>::sum_groups(const float* parts, Epi& epi, std::size_t m0, std::size_t m1, std::size_t j0,
                std::size_t j1) {
  using V = kernel::simd::vec<Be>;
  constexpr std::size_t W = V::size;
  auto column = [&]<std::size_t L>(std::size_t m, std::size_t j) {
    const std::size_t o = m * Out + j;
    V acc(0.0f);
    bool first = true;
    [&]<std::size_t... G>(std::index_sequence<G...>) {
      (
          [&] {
            if constexpr (FirstRows ? RowSplit::row(G + 1) > RowSplit::row(G) : HidSplit::column(G + 1) > HidSplit::column(G)) {
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

template <class TrainerT, class ThreadsT, class ChunksT>
template <std::size_t G>
void DataParallel<TrainerT, ThreadsT, ChunksT>::second_node_partial(Worker& me, const float* p) {
  constexpr std::size_t r0 = HidSplit::column(G), nr = HidSplit::column(G + 1) - r0;
  if constexpr (nr > 0) {
    kernel::simd::StoreEpilogue<Be, mid> epi{Be{}, q2_.data() + G * batch * mid};
    kernel::simd::gemm<kernel::simd::GemmShape<batch, mid, nr, first_out, 1, mid>>(Be{}, me.h1.data() + r0,
                                                                                    p + WS::w2 + r0 * mid, epi);
  }
}

template <class TrainerT, class ThreadsT, class ChunksT>
template <std::size_t G>
std::uint32_t DataParallel<TrainerT, ThreadsT, ChunksT>::second_node_backward(Worker& me, float* grad) {
  constexpr std::size_t r0 = HidSplit::column(G), nr = HidSplit::column(G + 1) - r0;
  if constexpr (nr > 0) {
    namespace ks = kernel::simd;
    ks::StoreEpilogue<Be, mid> we{Be{}, grad + WS::w2 + r0 * mid};
    ks::gemm<ks::GemmShape<nr, mid, batch, 1, first_out, mid>>(Be{}, me.h1.data() + r0, me.dz2.data(), we);
    float* db1 = grad + first_weights + r0;
    std::fill_n(db1, nr, 0.0f);
    FirstActGradEpilogue de{ks::vector_activation<Act0>::needs_input ? me.z1.data() + r0 : nullptr, me.h1.data() + r0,
                            dz1_.data() + r0, db1};
    ks::gemm<ks::GemmShape<batch, nr, mid, mid, 1, first_out>>(Be{}, me.dz2.data(), me.wt2.data() + r0, de);
    std::uint32_t dz_bits = 0;
    for (std::size_t m = 0; m < batch; ++m) dz_bits = std::max(dz_bits, detail::max_abs_bits(dz1_.data() + m * first_out + r0, nr));
    group_dz_bits_[G] = dz_bits;
    return std::max(detail::max_abs_bits(grad + WS::w2 + r0 * mid, nr * mid), detail::max_abs_bits(db1, nr));
  }
  return 0;
}

template <class TrainerT, class ThreadsT, class ChunksT>
template <class F>
void DataParallel<TrainerT, ThreadsT, ChunksT>::for_each_weight_segment(const Worker& me, std::size_t w, F&& f) const {
  for (std::size_t g = me.hid_begin; g < me.hid_end; ++g)
    if (HidSplit::column(g + 1) > HidSplit::column(g)) {
      f(WS::w2 + HidSplit::column(g) * mid, (HidSplit::column(g + 1) - HidSplit::column(g)) * mid);
      f(first_weights + HidSplit::column(g), HidSplit::column(g + 1) - HidSplit::column(g));
    }
  if (w == 0) {
    f(WS::b2, mid);
    [&]<std::size_t... K>(std::index_sequence<K...>) {
      (
          [&] {
            using Lay = typename WS::template layer<K + 2>;
            constexpr std::size_t at = Plan::param_begin[K + 2];
            f(at, Lay::weight_count);
            f(at + Lay::weight_count, Lay::out);
          }(),
          ...);
    }(std::make_index_sequence<Plan::count - 2>{});
  }
}

template <class TrainerT, class ThreadsT, class ChunksT>
void DataParallel<TrainerT, ThreadsT, ChunksT>::tail_forward(Worker& me, const float* p) {
  [&]<std::size_t... K>(std::index_sequence<K...>) {
    (
        [&] {
          constexpr std::size_t N = K + 2;
          using Lay = typename WS::template layer<N>;
          const float* in = me.h2.data();
          if constexpr (N > 2) in = me.tail.data() + WS::y_at[N - 1];
          const float* wn = p + Plan::param_begin[N];
          kernel::dense_act_forward<Lay::in, Lay::out, batch, typename WS::template act<N>>(
              Be{}, wn, wn + Lay::weight_count, in, me.tail.data() + WS::y_at[N],
              WS::template keeps_z<N> ? me.tail.data() + WS::z_at[N] : nullptr);
        }(),
        ...);
  }(std::make_index_sequence<Plan::count - 2>{});
}

template <class TrainerT, class ThreadsT, class ChunksT>
void DataParallel<TrainerT, ThreadsT, ChunksT>::tail_backward(Worker& me, const float* p, float* tail_grad, bool weights) {
  const float* d = me.dy.data();
  [&]<std::size_t... K>(std::index_sequence<K...>) {
    (
        [&] {
          constexpr std::size_t N = Plan::count - 1 - K;
          using Lay = typename WS::template layer<N>;
          const float* in = me.h2.data();
          float* dx = me.dz2.data();
          if constexpr (N > 2) {
            in = me.tail.data() + WS::y_at[N - 1];
            dx = (K % 2 == 0 ? me.dx0 : me.dx1).data();
          }
          const float* wn = p + Plan::param_begin[N];
          float* g = tail_grad + (Plan::param_begin[N] - WS::tail_begin);
          kernel::dense_act_backward<Lay::in, Lay::out, batch, typename WS::template act<N>>(
              Be{}, wn, in, WS::template keeps_z<N> ? me.tail.data() + WS::z_at[N] : nullptr,
              me.tail.data() + WS::y_at[N], d, dx, weights ? g : nullptr, g + Lay::weight_count, me.bwd.data());
          d = dx;
        }(),
        ...);
  }(std::make_index_sequence<Plan::count - 2>{});
}

template <class TrainerT, class ThreadsT, class ChunksT>
void DataParallel<TrainerT, ThreadsT, ChunksT>::work_weight_split(std::size_t w) {
  namespace ks = kernel::simd;
  Worker& me = *workers_[w];
  const float* p = net_.params().data();
  float* grad = grad_.data();
  if (gather_ != nullptr) gather_(*this, w);
  const void* targets = gather_ != nullptr ? static_cast<const void*>(me.targets.data()) : targets_;
  constexpr auto own = [](const Worker& wk, std::size_t g) { return g >= wk.group_begin && g < wk.group_end; };
  const auto own_hid = [&me](std::size_t g) { return g >= me.hid_begin && g < me.hid_end; };
  // 1. Its row groups' partial products of the first node, Wᵀ of its rows of the second,
  // and the largest |x| over its input rows (for the pre-check of step 4).
  [&]<std::size_t... G>(std::index_sequence<G...>) {
    ((own(me, G) ? first_layer_partial<G>(p) : void()), ...);
  }(std::make_index_sequence<groups>{});
  ks::transpose<first_out, mid>(p + WS::w2, me.wt2.data(), HidSplit::column(me.hid_begin), HidSplit::column(me.hid_end));
  record_input_bits(me);
  reset_panels(me);
  barrier_->arrive_and_wait();
  // 2. The first node's output for the whole batch, the columns its row groups of the second
  // node read (the partials summed in group order, bias, activation), then their partials.
  {
    ks::BiasActivationEpilogue<Be, Act0, first_out> epi{Be{}, p + first_weights, me.h1.data(),
                                                        ks::vector_activation<Act0>::needs_input ? me.z1.data() : nullptr};
    sum_groups<first_out, true>(partial_.data(), epi, 0, batch, HidSplit::column(me.hid_begin), HidSplit::column(me.hid_end));
  }
  [&]<std::size_t... G>(std::index_sequence<G...>) { ((own_hid(G) ? second_node_partial<G>(me, p) : void()), ...); }(
      std::make_index_sequence<groups>{});
  barrier_->arrive_and_wait();
  // 3. Every worker, the whole batch: the second node's output, the tail, the loss and its
  // gradient per chunk, back through the tail to the second node's output gradient; worker
  // 0 keeps the tail's and the second node's bias gradients. Then its row groups' weight
  // gradients and input-gradient columns.
  float* db2 = me.db2.data();
  {
    ks::BiasActivationEpilogue<Be, Act1, mid> epi{Be{}, p + WS::b2, me.h2.data(),
                                                  ks::vector_activation<Act1>::needs_input ? me.z2.data() : nullptr};
    sum_groups<mid, false>(q2_.data(), epi);
  }
  tail_forward(me, p);
  const float* y = me.tail.data() + WS::y_at[Plan::count - 1];
  for (std::size_t c = 0; c < chunks; ++c) {
    me.loss[c] = loss_fn_(y + c * chunk * out_n, targets, c, me.dy.data() + c * chunk * out_n);
    if (w == 0) chunk_loss_[c] = me.loss[c];
  }
  for (std::size_t i = 0; i < batch * out_n; ++i) me.dy.data()[i] *= 1.0f / static_cast<float>(chunks);
  std::fill_n(db2, mid, 0.0f);
  float* tail_grad = w == 0 ? grad + WS::tail_begin : me.tail_grad.data();
  std::fill_n(tail_grad, tail_params, 0.0f);
  tail_backward(me, p, tail_grad, w == 0);
  ks::activation_gradient<mid, batch, Act1>(Be{}, ks::vector_activation<Act1>::needs_input ? me.z2.data() : nullptr,
                                            me.h2.data(), me.dz2.data(), me.dz2.data(), db2);
  if (w == 0) {
    std::copy_n(db2, mid, grad + WS::b2);
    w0_bits_ = detail::max_abs_bits(grad + WS::b2, NetT::param_count - WS::b2);
  }
  [&]<std::size_t... G>(std::index_sequence<G...>) {
    ((own_hid(G) ? void(group_g_bits_[G] = second_node_backward<G>(me, grad)) : void()), ...);
  }(std::make_index_sequence<groups>{});
  barrier_->arrive_and_wait();
  // 4. The first node's weight rows from dz1 (every group's columns are in dz1_ now),
  // updated at once when the pre-check allows.
  bool at_once = !gradients_only_;
  {
    for (double l : me.loss) at_once = at_once && std::isfinite(l);
    std::uint32_t g_bits = w0_bits_, dz_bits = 0;
    for (std::uint32_t b : group_g_bits_) g_bits = std::max(g_bits, b);
    for (std::uint32_t b : group_dz_bits_) dz_bits = std::max(dz_bits, b);
    at_once = at_once && g_bits < detail::non_finite_bits && first_layer_bound_holds(dz_bits);
  }
  // Every gradient of the step is finite: no check, no barrier; the other parameters are
  // updated first, while their gradients are still in this core's cache.
  if (at_once) update_weight_segments(me, w);
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
  for_each_weight_segment(me, w, scan);
  barrier_->arrive_and_wait();
  bool clean = true;
  for (double l : me.loss) clean = clean && std::isfinite(l);
  for (const auto& other : workers_) clean = clean && other->bad == no_bad;
  if (!clean) return;
  if (gradients_only_) return;
  first_layer_update(me);
  update_weight_segments(me, w);
}

template <class TrainerT, class ThreadsT, class ChunksT>
void DataParallel<TrainerT, ThreadsT, ChunksT>::update_weight_segments(Worker& me, std::size_t w) {
  apply_segments(me, 1, [&](auto&& f) { for_each_weight_segment(me, w, f); });
}

CTNN_END_NAMESPACE
