#pragma once
/**
 * @file gelu.hpp
 * @brief `ctnn::GELU` (exact form, with erf).
 */
#include <cmath>
#include <numbers>

#include "activation_concepts.hpp"

CTNN_BEGIN_NAMESPACE

/// x Φ(x) with Φ the standard normal CDF; derivative Φ(x) + x φ(x).
struct GELU : detail::elementwise<GELU> {
  static constexpr std::size_t flops_per_element = 1;
  template <class T>
  static T value(T x) noexcept {
    return T(0.5) * x * (T(1) + std::erf(x / std::numbers::sqrt2_v<T>));
  }
  template <class T>
  static T derivative(T x, T) noexcept {
    const T cdf = T(0.5) * (T(1) + std::erf(x / std::numbers::sqrt2_v<T>));
    const T pdf = std::exp(T(-0.5) * x * x) * std::numbers::inv_sqrtpi_v<T> / std::numbers::sqrt2_v<T>;
    return cdf + x * pdf;
  }
};

CTNN_END_NAMESPACE
