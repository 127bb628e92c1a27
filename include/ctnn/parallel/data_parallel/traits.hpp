#pragma once
/**
 * @file traits.hpp
 * @brief `ctnn::Threads<N>`, `ctnn::Chunks<C>` and what `DataParallel` reads off its
 * trainer at compile time: the network, loss, optimizer and batch, the first layer's sizes,
 * the default chunk count.
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
