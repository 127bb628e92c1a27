#pragma once
/**
 * @file input.hpp
 * @brief `ctnn::Input<N...>`: the shape of one input sample; the first argument of a Net.
 */
#include <cstddef>

#include "../core/shape.hpp"

CTNN_BEGIN_NAMESPACE

/// Declares the input of a network: `Input<784>`, `Input<1, 28, 28>`.
template <std::size_t... Dims>
struct Input {
  static_assert(sizeof...(Dims) >= 1, "ctnn::Input<>: state the input extents, e.g. Input<784>");
  static_assert(((Dims > 0) && ...), "ctnn::Input: every extent must be at least 1, e.g. Input<784>");
  using shape = Shape<Dims...>;
};

namespace detail {
template <class T>
inline constexpr bool is_input_v = false;
template <std::size_t... D>
inline constexpr bool is_input_v<Input<D...>> = true;
}  // namespace detail

CTNN_END_NAMESPACE
