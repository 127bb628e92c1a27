#pragma once
/**
 * @file relu.hpp
 * @brief `ctnn::ReLU` and `ctnn::LeakyReLU`.
 */
#include "activation_concepts.hpp"

CTNN_BEGIN_NAMESPACE

/// max(x, 0); derivative 1 for x > 0, else 0.
struct ReLU : detail::elementwise<ReLU> {
  static constexpr std::size_t flops_per_element = 1;
  template <class T>
  static constexpr T value(T x) noexcept {
    return x < T(0) ? T(0) : x;  // NaN propagates instead of becoming 0
  }
  template <class T>
  static constexpr T derivative(T x, T) noexcept {
    return x > T(0) ? T(1) : T(0);
  }
};

/// x for x > 0, else (Num/Den)·x.
template <int Num, int Den>
struct LeakyReLUSlope : detail::elementwise<LeakyReLUSlope<Num, Den>> {
  static_assert(Den != 0, "ctnn::LeakyReLUSlope<Num, Den>: Den must not be 0");
  static constexpr std::size_t flops_per_element = 1;
  template <class T>
  static constexpr T slope = T(Num) / T(Den);
  template <class T>
  static constexpr T value(T x) noexcept {
    return x < T(0) ? slope<T> * x : x;  // NaN propagates
  }
  template <class T>
  static constexpr T derivative(T x, T) noexcept {
    return x > T(0) ? T(1) : slope<T>;
  }
};

/// Leaky ReLU with the customary slope 0.01; `LeakyReLUSlope<N, D>` for another.
using LeakyReLU = LeakyReLUSlope<1, 100>;

CTNN_END_NAMESPACE
