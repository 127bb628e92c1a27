#pragma once
/**
 * @file shape.hpp
 * @brief Compile-time tensor shapes.
 */
#include <array>
#include <cstddef>
#include <type_traits>

#include "../config.hpp"

CTNN_BEGIN_NAMESPACE

/**
 * @brief The shape of one sample, as a type: `Shape<784>`, `Shape<1, 28, 28>`.
 * @tparam Dims extents, outermost first (row-major).
 */
template <std::size_t... Dims>
struct Shape {
  static constexpr std::size_t rank = sizeof...(Dims);                ///< number of extents
  static constexpr std::size_t size = (std::size_t{1} * ... * Dims);  ///< elements per sample
  static constexpr std::array<std::size_t, rank> dims{Dims...};     ///< the extents

  template <std::size_t... Other>
  friend constexpr bool operator==(Shape, Shape<Other...>) noexcept {
    return std::is_same_v<Shape, Shape<Other...>>;
  }
};

namespace detail {
template <class T>
inline constexpr bool is_shape_v = false;
template <std::size_t... D>
inline constexpr bool is_shape_v<Shape<D...>> = true;
}  // namespace detail

/// Satisfied by `ctnn::Shape<...>` only.
template <class T>
concept ShapeType = detail::is_shape_v<T>;

CTNN_END_NAMESPACE
