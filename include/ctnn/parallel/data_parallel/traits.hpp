#pragma once
/**
 * @file traits.hpp
 * @brief `ctnn::Threads<N>`, `ctnn::Chunks<C>` and what `DataParallel` reads off its
 * trainer at compile time: the network, loss, optimizer and batch, the first layer's sizes,
 * whether the network is a three-Dense-node MLP, the default chunk count.
 */
#include <algorithm>
#include <cstddef>

#include "../../network/fusion.hpp"
#include "../../network/trainer.hpp"

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
template <class NetT, class L, class O, std::size_t B, class Be, class S>
struct trainer_traits<Trainer<NetT, L, O, Batch<B>, Be, S>> {
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

CTNN_END_NAMESPACE
