#pragma once
/**
 * @file sigmoid.hpp
 * @brief `ctnn::Sigmoid`.
 */
#include "../core/math.hpp"
#include "activation_concepts.hpp"

CTNN_BEGIN_NAMESPACE

/// 1 / (1 + e^-x), evaluated without overflow for large |x|; derivative y (1 - y).
struct Sigmoid : detail::elementwise<Sigmoid> {
  static constexpr std::size_t flops_per_element = 1;
  static constexpr bool needs_input = false;
  template <class T>
  CTNN_HOST_DEVICE static T value(T x) noexcept {
    return math::sigmoid(x);
  }
  template <class T>
  CTNN_HOST_DEVICE static constexpr T derivative(T, T y) noexcept {
    return y * (T(1) - y);
  }
};

CTNN_END_NAMESPACE
