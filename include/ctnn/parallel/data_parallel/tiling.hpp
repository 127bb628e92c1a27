#pragma once
/**
 * @file tiling.hpp
 * @brief The compile-time arithmetic of `DataParallel`'s two ways of splitting work by
 * weights, each as one constexpr type read off the fusion plan:
 * - `RowTiling`: a first Dense layer's input rows cut into groups and weight-gradient panels;
 * - `WeightSplit`: a run of Dense nodes (the whole network) split by weights — the first node
 *   by `RowTiling`, the second by its input rows (`ColumnTiling` of the first node's outputs),
 *   the small tail behind them computed by every worker — with the parameter offsets, the
 *   tail's buffer layout and the cost rule that chooses it.
 * Every boundary is fixed at compile time from the chunk count, never from the thread count,
 * so the partial sums, and so the weights, are the same bits for any number of threads.
 */
#include <algorithm>
#include <array>
#include <cstddef>
#include <numeric>
#include <utility>

#include "../../backends/simd/dense.hpp"
#include "../../network/fusion.hpp"

CTNN_BEGIN_NAMESPACE

namespace dp_detail {

/// Bound v of `parts` near-equal runs of `n` items in order; empty runs come first, so the
/// last run is never empty while n ≥ 1.
constexpr std::size_t share(std::size_t v, std::size_t parts, std::size_t n) {
  return n >= parts ? (v * n + parts - 1) / parts : (v + n < parts ? 0 : v + n - parts);
}

/// `Width` columns (or rows) cut into `Groups` near-equal groups of multiples of `Quantum`: group g is
/// [column(g), column(g + 1)).
template <std::size_t Width, std::size_t Groups, std::size_t Quantum = 16>
struct ColumnTiling {
  static constexpr std::size_t column(std::size_t g) {
    return g >= Groups ? Width : std::min(Width, (g * Width + Groups * Quantum / 2) / (Groups * Quantum) * Quantum);
  }
};

/**
 * @brief A first Dense layer of `In` inputs and `Out` outputs split by its input rows into
 * `Groups` groups. A group's forward product (its rows' share of x·W for the whole batch) is
 * one partial sum, and the partials are added in group order; within a group the weight
 * gradient is computed in panels of `panel_rows` rows from the group's first row.
 */
template <std::size_t In, std::size_t Out, std::size_t Groups>
struct RowTiling {
  /// Rows whose weights span a multiple of 64 floats: every range and panel boundary is one,
  /// so each weight takes the same path through the vectorised update wherever it lies.
  static constexpr std::size_t row_align = 64 / std::gcd(Out, std::size_t{64});
  /// Group boundaries fall on multiples of this many rows: aligned, and whole 6-row
  /// micro-kernel blocks where the alignment allows.
  static constexpr std::size_t row_quantum = 6 / std::gcd(std::size_t{6}, row_align) * row_align;
  /// Rows per weight-gradient panel: a multiple of 24 (whole micro-kernel row blocks) and of
  /// the alignment.
  static constexpr std::size_t panel_rows = std::min(In, 24 / std::gcd(std::size_t{24}, row_align) * row_align);
  /// First row of group g (In for g ≥ Groups): near-equal groups of multiples of row_quantum
  /// rows but the last.
  static constexpr std::size_t row(std::size_t g) { return ColumnTiling<In, Groups, row_quantum>::column(g); }
  /// The weight-gradient panels of all groups, numbered in row order: group g's are
  /// [panel_begin(g), panel_begin(g + 1)), full panels of panel_rows and then its tail.
  static constexpr std::size_t panel_begin(std::size_t g) {
    std::size_t n = 0;
    for (std::size_t h = 0; h < std::min(g, Groups); ++h) n += (row(h + 1) - row(h) + panel_rows - 1) / panel_rows;
    return n;
  }
  static constexpr std::size_t panel_count = panel_begin(Groups);
};

/// Whether the whole network is a run of at least three fused Dense nodes behind a first
/// layer split by rows: the shape `WeightSplit` handles.
template <class NetT, bool SplitFirst>
constexpr bool is_dense_run() {
  using P = FusionPlan<NetT>;
  if constexpr (!SplitFirst || P::count < 3)
    return false;
  else
    return []<std::size_t... N>(std::index_sequence<N...>) {
      return (P::template dense_node<N + 1> && ...);
    }(std::make_index_sequence<P::count - 1>{});
}

/// Not a run of Dense nodes: placeholders, never used.
template <class NetT, std::size_t B, bool DenseRun>
struct WeightSplit {
  static constexpr bool chosen = false;
  static constexpr std::size_t mid = 1, w2 = 0, b2 = 0, tail_begin = 0, tail_floats = 0, dx_floats = 0, scratch_floats = 0;
  using act1 = detail::node_activation<NetT, 0>;
};

/**
 * @brief A network of fused Dense nodes 0, 1, …, C−1 (C ≥ 3) split by weights at batch B.
 * Node 0 is split by its input rows (`RowTiling`), node 1 by its input rows, which are node
 * 0's output columns (`ColumnTiling` of node 0's width); each worker owns contiguous
 * rows of both matrices, and no gradient is summed over chunks. Nodes 2 … C−1, the *tail*,
 * are computed by every worker for the whole batch (worker 0 keeps their gradients): chosen
 * only when the tail costs at most an eighth of the split nodes' multiply-adds, so that the
 * copies cost little beside what the split saves.
 */
template <class NetT, std::size_t B>
struct WeightSplit<NetT, B, true> {
  using P = FusionPlan<NetT>;
  static constexpr std::size_t count = P::count;
  template <std::size_t N>
  using layer = typename P::template head<N>;
  template <std::size_t N>
  using act = typename P::template activation<N>;
  template <std::size_t N>
  static constexpr bool keeps_z = P::saves_pre_activation[N];
  using act1 = act<1>;

  static constexpr std::size_t mid = layer<1>::out;  ///< node 1's width
  static constexpr std::size_t w2 = P::param_begin[1], b2 = w2 + layer<1>::weight_count;
  static constexpr std::size_t tail_begin = P::param_begin[2];  ///< the tail's first parameter

  /// Per worker, for the whole batch: each tail node's output y, then its pre-activation z
  /// where the derivative reads it; `y_at[N]`/`z_at[N]` in floats (N ≥ 2).
  static constexpr auto layout = [] {
    struct L {
      std::array<std::size_t, count> y{}, z{};
      std::size_t floats = 0;
    } l;
    [&]<std::size_t... K>(std::index_sequence<K...>) {
      (
          [&] {
            constexpr std::size_t N = K + 2;
            l.y[N] = l.floats;
            l.floats += B * layer<N>::out;
            l.z[N] = l.floats;
            if constexpr (keeps_z<N>) l.floats += B * layer<N>::out;
          }(),
          ...);
    }(std::make_index_sequence<count - 2>{});
    return l;
  }();
  static constexpr auto y_at = layout.y, z_at = layout.z;
  static constexpr std::size_t tail_floats = layout.floats;
  /// Each of the two buffers that carry a gradient between tail nodes (past node 2's input).
  static constexpr std::size_t dx_floats = [] {
    std::size_t m = 0;
    [&]<std::size_t... K>(std::index_sequence<K...>) {
      ((m = std::max(m, B * layer<K + 3>::in)), ...);
    }(std::make_index_sequence<count - 3>{});
    return m;
  }();
  /// `kernel::dense_act_backward`'s scratch for the largest tail node.
  static constexpr std::size_t scratch_floats = [] {
    std::size_t m = 0;
    [&]<std::size_t... K>(std::index_sequence<K...>) {
      ((m = std::max(m, kernel::simd::dense_backward_scratch<layer<K + 2>::in, layer<K + 2>::out, B>)), ...);
    }(std::make_index_sequence<count - 2>{});
    return m;
  }();
  static constexpr std::size_t split_macs = layer<0>::in * layer<0>::out + layer<1>::in * layer<1>::out;
  static constexpr std::size_t tail_macs = [] {
    return []<std::size_t... K>(std::index_sequence<K...>) {
      return ((layer<K + 2>::in * layer<K + 2>::out) + ...);
    }(std::make_index_sequence<count - 2>{});
  }();
  static constexpr bool chosen = 8 * tail_macs <= split_macs;
};

}  // namespace dp_detail

CTNN_END_NAMESPACE
