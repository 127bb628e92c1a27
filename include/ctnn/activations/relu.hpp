#pragma once
/**
 * @file relu.hpp
 * @brief `ctnn::ReLU` and `ctnn::LeakyReLU`.
 */
#include "../core/math.hpp"
#include "activation_concepts.hpp"

CTNN_BEGIN_NAMESPACE

/// max(x, 0); derivative 1 for x > 0, else 0 (read from y: y > 0 exactly when x > 0).
struct ReLU : detail::elementwise<ReLU> {
  static constexpr std::size_t flops_per_element = 1;
  static constexpr bool needs_input = false;
  template <class T>
  CTNN_HOST_DEVICE static constexpr T value(T x) noexcept {
    return math::select(x < T(0), T(0), x);  // NaN propagates instead of becoming 0
  }
  template <class T>
  CTNN_HOST_DEVICE static constexpr T derivative(T, T y) noexcept {
    return math::select(y > T(0), T(1), T(0));
  }
};

/// x for x > 0, else (Num/Den)·x.
template <int Num, int Den>
struct LeakyReLUSlope : detail::elementwise<LeakyReLUSlope<Num, Den>> {
  static_assert(Den != 0, "ctnn::LeakyReLUSlope<Num, Den>: Den must not be 0");
  static constexpr std::size_t flops_per_element = 1;
  static constexpr double slope = static_cast<double>(Num) / static_cast<double>(Den);
  /// With a positive slope, y > 0 exactly when x > 0, so the output decides the derivative.
  static constexpr bool needs_input = !(slope > 0.0);
  template <class T>
  CTNN_HOST_DEVICE static constexpr T value(T x) noexcept {
    return math::select(x < T(0), math::constant<T>(slope) * x, x);  // NaN propagates
  }
  template <class T>
  CTNN_HOST_DEVICE static constexpr T derivative(T x, T y) noexcept {
    return math::select((needs_input ? x : y) > T(0), T(1), math::constant<T>(slope));
  }
};

/// Leaky ReLU with the customary slope 0.01; `LeakyReLUSlope<N, D>` for another.
using LeakyReLU = LeakyReLUSlope<1, 100>;

CTNN_END_NAMESPACE
