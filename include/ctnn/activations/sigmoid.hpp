#pragma once
/**
 * @file sigmoid.hpp
 * @brief `ctnn::Sigmoid`.
 */
#include <cmath>

#include "activation_concepts.hpp"

CTNN_BEGIN_NAMESPACE

/// 1 / (1 + e^-x), evaluated without overflow for large |x|; derivative y (1 - y).
struct Sigmoid : detail::elementwise<Sigmoid> {
  static constexpr std::size_t flops_per_element = 1;
  template <class T>
  static T value(T x) noexcept {
    if (x >= T(0)) return T(1) / (T(1) + std::exp(-x));
    const T e = std::exp(x);
    return e / (T(1) + e);
  }
  template <class T>
  static constexpr T derivative(T, T y) noexcept {
    return y * (T(1) - y);
  }
};

CTNN_END_NAMESPACE
