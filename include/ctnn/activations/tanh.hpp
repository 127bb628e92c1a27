#pragma once
/**
 * @file tanh.hpp
 * @brief `ctnn::Tanh`.
 */
#include "../core/math.hpp"
#include "activation_concepts.hpp"

CTNN_BEGIN_NAMESPACE

/// tanh(x); derivative 1 - y².
struct Tanh : detail::elementwise<Tanh> {
  static constexpr std::size_t flops_per_element = 1;
  static constexpr bool needs_input = false;
  template <class T>
  CTNN_HOST_DEVICE static T value(T x) noexcept {
    return math::tanh(x);
  }
  template <class T>
  CTNN_HOST_DEVICE static constexpr T derivative(T, T y) noexcept {
    return T(1) - y * y;
  }
};

CTNN_END_NAMESPACE
