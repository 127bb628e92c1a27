#pragma once
/**
 * @file identity.hpp
 * @brief `ctnn::Identity`.
 */
#include "activation_concepts.hpp"

CTNN_BEGIN_NAMESPACE

/// y = x; a placeholder where a layer list needs an activation slot.
struct Identity : detail::elementwise<Identity> {
  static constexpr std::size_t flops_per_element = 0;
  static constexpr bool needs_input = false;
  template <class T>
  CTNN_HOST_DEVICE static constexpr T value(T x) noexcept {
    return x;
  }
  template <class T>
  CTNN_HOST_DEVICE static constexpr T derivative(T, T) noexcept {
    return T(1);
  }
};

CTNN_END_NAMESPACE
