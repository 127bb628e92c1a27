#pragma once
/**
 * @file workers.hpp
 * @brief `DataParallel`'s per-thread state (`Worker`: its ranges, row groups, optimizer
 * copies and scratch) and the constructor that deals the work out. Included by
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
struct DataParallel<TrainerT, ThreadsT, ChunksT>::Worker {
  explicit Worker(typename O::Options o) : opt{O(o), O(o)} {}
  std::array<O, 2> opt;  ///< one per range, so each steps once per step (Adam's count)
  static constexpr std::size_t scratch_floats = split_weights ? 0 : 2 * NetT::max_width * chunk + extra;
  static constexpr std::size_t wt_floats = SimdBackend<Be> && !split_weights ? NetT::param_count : 0;
  AlignedBuffer scratch{scratch_floats};
  AlignedBuffer wt{wt_floats};  ///< Wᵀ of Dense layers, refreshed every step
  /// Parameters this worker updates: [0] first-layer weight rows it computed itself
  /// (split_first), [1] a slice of the others, which it first sums over the chunks.
  std::array<Range, 2> range{};
  std::size_t group_begin = 0, group_end = 0;  ///< first-layer row groups it owns
  std::size_t hid_begin = 0, hid_end = 0;      ///< split_weights: second-node row groups it owns
  std::uint32_t x_bits = 0;  ///< max |x| (as bits) over its rows of the batch's inputs
  std::size_t bad = no_bad;        ///< first non-finite gradient in the range
  // split_weights: what every worker computes for the whole batch, each its own copy (the
  // first node's output in the columns its groups read, the second node's output and
  // gradient, the tail's outputs, the loss gradient and the gradients between tail nodes,
  // db2, the tail's bias gradients for workers but 0), and Wᵀ of its rows of the second node.
  static constexpr std::size_t h_n = split_weights ? batch * first_out : 0, m_n = split_weights ? batch * mid : 0;
  static constexpr std::size_t tail_n = split_weights ? WS::tail_floats : 0, dy_n = split_weights ? batch * out_n : 0,
                               dx_n = split_weights ? WS::dx_floats : 0, bwd_n = split_weights ? WS::scratch_floats : 0,
                               tail_grad_n = split_weights ? tail_params : 0;
  static constexpr std::size_t target_floats = split_weights ? 2 * batch * targets_per_sample : 0;
  /// Every float this worker allocates (DataParallel::workspace_bytes).
  static constexpr std::size_t floats = scratch_floats + wt_floats + h_n + if_needs_input<Act0>(h_n) + m_n +
                                        if_needs_input<Act1>(m_n) + m_n + tail_n + dy_n + 2 * dx_n + bwd_n +
                                        tail_grad_n + (split_weights ? mid + mid * first_out : 0) + target_floats;
  AlignedBuffer h1{h_n}, z1{if_needs_input<Act0>(h_n)};  ///< only its row groups' columns
  AlignedBuffer h2{m_n}, z2{if_needs_input<Act1>(m_n)}, dz2{m_n};
  AlignedBuffer tail{tail_n}, dy{dy_n}, dx0{dx_n}, dx1{dx_n}, bwd{bwd_n}, tail_grad{tail_grad_n};
  AlignedBuffer db2{split_weights ? mid : 0}, wt2{split_weights ? mid * first_out : 0};
  AlignedBuffer targets{target_floats};  ///< split_weights with step_rows: the batch's targets (8 bytes each)
  std::array<double, chunks> loss{};
};

template <class TrainerT, class ThreadsT, class ChunksT>
constexpr std::size_t DataParallel<TrainerT, ThreadsT, ChunksT>::workspace_bytes(std::size_t threads) noexcept {
  return (chunk_grads_floats + NetT::param_count + O::state_blocks * NetT::param_count + acts_floats + dout_floats +
          y_floats + dz_first_floats + partial_floats + q2_floats + dz1_floats + 2 * NetT::carry_count * batch +
          threads * Worker::floats) *
         sizeof(float);
}

template <class TrainerT, class ThreadsT, class ChunksT>
DataParallel<TrainerT, ThreadsT, ChunksT>::DataParallel(NetT& net, typename O::Options opts, std::size_t threads,
                      std::uint64_t seed)
    : net_(net),
      opt_(opts),
      seed_(seed),
      threads_(threads),
      chunk_grads_(chunk_grads_floats),
      grad_(NetT::param_count),
      state_(O::state_blocks * NetT::param_count),
      acts_(acts_floats),
      dout_(dout_floats),
      y_(y_floats),
      dz_first_(dz_first_floats) {
  static_assert(ThreadsT::count <= chunks, "ctnn::DataParallel: more threads than chunks; raise Chunks<C>");
  if (threads_ == 0 || threads_ > chunks)
    detail::raise("ctnn::DataParallel: thread count " + std::to_string(threads_) + " outside [1, " +
                  std::to_string(chunks) + "] (the batch is cut into " + std::to_string(chunks) + " chunks)");
  for (std::size_t w = 0; w < threads_; ++w) {
    workers_.push_back(std::make_unique<Worker>(opts));
    // Every range boundary is a multiple of 64 floats from the start of its part (or
    // the part's end, the same for every thread count), so each element takes the same
    // path through the vectorised update whatever the thread count: bit-identical.
    Worker& me = *workers_[w];
    auto slice = [&](std::size_t from, std::size_t to, std::size_t v) {
      return v == threads_ ? to : std::min(to, from + ((to - from) * v / threads_ + 63) / 64 * 64);
    };
    if constexpr (split_first) {
      // Whole groups of first-layer rows, and a slice of the rest of the block (34K
      // floats of 235K for the Fashion-MNIST MLP).
      me.group_begin = dp_detail::share(w, threads_, groups);
      me.group_end = dp_detail::share(w + 1, threads_, groups);
      // The second node's row groups go the other way round (worker w takes those of the
      // first-layer groups of worker threads − 1 − w): the parameter block holds W1's rows,
      // then b1, then W2's rows, and a core's hardware prefetcher reads on past the end of
      // the rows it streams. This way the last worker's W1 rows are followed by its own
      // W2 rows, and the first worker's W2 rows by its own third node, instead of lines
      // the other core must take back before each write (docs/parallelism.md, section A).
      // The same groups are computed, so the same bits.
      me.hid_begin = dp_detail::share(threads_ - 1 - w, threads_, groups);
      me.hid_end = dp_detail::share(threads_ - w, threads_, groups);
      me.range[0] = {RowSplit::row(me.group_begin) * first_out, RowSplit::row(me.group_end) * first_out};
      if constexpr (!split_weights)  // the split MLP's workers update segments (for_each_weight_segment)
        me.range[1] = {slice(first_weights, NetT::param_count, w), slice(first_weights, NetT::param_count, w + 1)};
    } else {
      me.range[1] = {slice(0, NetT::param_count, w), slice(0, NetT::param_count, w + 1)};
    }
  }
  barrier_ = std::make_unique<pipeline_detail::Barrier>(threads_);
  crew_.start_pinned(threads_, [](std::size_t w) { return w; }, [this](std::size_t w, int job) {
    if (job == 0)
      work(w);
    else
      update_ranges(w);
  });
}

CTNN_END_NAMESPACE
