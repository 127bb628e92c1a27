#pragma once
/**
 * @file tanh.hpp
 * @brief `ctnn::Tanh`.
 */
#include <cmath>

#include "activation_concepts.hpp"

CTNN_BEGIN_NAMESPACE

/// tanh(x); derivative 1 - y².
struct Tanh : detail::elementwise<Tanh> {
  static constexpr std::size_t flops_per_element = 1;
  template <class T>
  static T value(T x) noexcept {
    return std::tanh(x);
  }
  template <class T>
  static constexpr T derivative(T, T y) noexcept {
    return T(1) - y * y;
  }
};

CTNN_END_NAMESPACE
