#pragma once
/**
 * @file silu.hpp
 * @brief `ctnn::SiLU` (swish): x·σ(x).
 */
#include "../core/math.hpp"
#include "activation_concepts.hpp"

CTNN_BEGIN_NAMESPACE

/// x·σ(x); derivative σ(x)·(1 + x·(1 − σ(x))), which needs x (PyTorch's `nn.SiLU`).
struct SiLU : detail::elementwise<SiLU> {
  static constexpr std::size_t flops_per_element = 4;  ///< exp, add, divide, multiply
  static constexpr bool needs_input = true;
  template <class T>
  CTNN_HOST_DEVICE static T value(T x) noexcept {
    return x * math::sigmoid(x);
  }
  template <class T>
  CTNN_HOST_DEVICE static T derivative(T x, T) noexcept {
    const T s = math::sigmoid(x);
    return s * (T(1) + x * (T(1) - s));
  }
};

CTNN_END_NAMESPACE
