#pragma once
/**
 * @file mlp_split.hpp
 * @brief `DataParallel`'s split of a three-Dense-node network by its weights: the second
 * node's input rows grouped like the first layer's, partial products summed in group order,
 * each worker updating contiguous rows of both large matrices. Included by
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

template <class TrainerT, class ThreadsT, class ChunksT>
template <std::size_t G>
void DataParallel<TrainerT, ThreadsT, ChunksT>::mlp_forward(Worker& me, const float* p) {
  constexpr std::size_t r0 = group_hid(G), nr = group_hid(G + 1) - r0;
  if constexpr (nr > 0) {
    kernel::simd::StoreEpilogue<Be, mid> epi{Be{}, q2_.data() + G * batch * mid};
    kernel::simd::gemm<kernel::simd::GemmShape<batch, mid, nr, first_out, 1, mid>>(Be{}, me.h1.data() + r0,
                                                                                    p + M3::w2 + r0 * mid, epi);
  }
}

template <class TrainerT, class ThreadsT, class ChunksT>
template <std::size_t G>
std::uint32_t DataParallel<TrainerT, ThreadsT, ChunksT>::mlp_backward(Worker& me, float* grad) {
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

template <class TrainerT, class ThreadsT, class ChunksT>
void DataParallel<TrainerT, ThreadsT, ChunksT>::update_segment(const O& before, O& after, std::size_t b, std::size_t n) {
  O o = before;
  o.update(net_.params().subspan(b, n), grad_.span().subspan(b, n), state_.span().subspan(O::state_blocks * b, O::state_blocks * n));
  after = o;
}

template <class TrainerT, class ThreadsT, class ChunksT>
template <class F>
void DataParallel<TrainerT, ThreadsT, ChunksT>::for_each_mlp_segment(const Worker& me, std::size_t w, F&& f) const {
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

template <class TrainerT, class ThreadsT, class ChunksT>
void DataParallel<TrainerT, ThreadsT, ChunksT>::work_mlp(std::size_t w) {
  namespace ks = kernel::simd;
  Worker& me = *workers_[w];
  const float* p = net_.params().data();
  float* grad = grad_.data();
  if (gather_ != nullptr) gather_(*this, w);
  const void* targets = gather_ != nullptr ? static_cast<const void*>(me.targets.data()) : targets_;
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
  if (at_once) update_mlp_segments(me, w);
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
  if (gradients_only_) return;
  first_layer_update(me);
  update_mlp_segments(me, w);
}

template <class TrainerT, class ThreadsT, class ChunksT>
void DataParallel<TrainerT, ThreadsT, ChunksT>::update_mlp_segments(Worker& me, std::size_t w) {
  me.opt[1].options() = opt_.options();
  const O before = me.opt[1];
  for_each_mlp_segment(me, w, [&](std::size_t b, std::size_t n) { update_segment(before, me.opt[1], b, n); });
}

CTNN_END_NAMESPACE
