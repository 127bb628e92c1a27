#pragma once
/**
 * @file gelu.hpp
 * @brief `ctnn::GELU` (exact form, with erf).
 */
#include "../core/math.hpp"
#include "activation_concepts.hpp"

CTNN_BEGIN_NAMESPACE

/// x Φ(x) with Φ the standard normal CDF; derivative Φ(x) + x φ(x).
struct GELU : detail::elementwise<GELU> {
  static constexpr std::size_t flops_per_element = 1;
  static constexpr bool needs_input = true;
  template <class T>
  CTNN_HOST_DEVICE static T value(T x) noexcept {
    return T(0.5) * x * (T(1) + math::erf(x * math::constant<T>(0.70710678118654752440)));
  }
  template <class T>
  CTNN_HOST_DEVICE static T derivative(T x, T) noexcept {
    const T cdf = T(0.5) * (T(1) + math::erf(x * math::constant<T>(0.70710678118654752440)));
    return math::fma(x * math::constant<T>(0.39894228040143267794), math::exp(T(-0.5) * x * x), cdf);  // + x·φ(x)
  }
};

CTNN_END_NAMESPACE
