#pragma once
/**
 * @file activation_concepts.hpp
 * @brief The element-wise activation protocol and the generic binding every one shares.
 */
#include <concepts>
#include <cstddef>

#include "../backends/scalar/dense.hpp"
#include "../layers/layer_concepts.hpp"

CTNN_BEGIN_NAMESPACE

/**
 * @brief An element-wise activation: `value(x)` and `derivative(x, y)` where y = value(x)
 * (so tanh and sigmoid can use their output), in float and double.
 */
template <class A>
concept Activation = requires(float f, double d) {
  { A::value(f) } -> std::same_as<float>;
  { A::value(d) } -> std::same_as<double>;
  { A::derivative(f, f) } -> std::same_as<float>;
  { A::derivative(d, d) } -> std::same_as<double>;
  { A::flops_per_element } -> std::convertible_to<std::size_t>;
};

namespace detail {
/// Base of every element-wise activation tag: shape-preserving, parameter-free.
template <class Act>
struct elementwise {
  template <std::size_t Index, class In, bool Last>
  struct check {};

  template <class In>
  struct bind {
    using tag = Act;
    using input_shape = In;
    using output_shape = In;
    static constexpr std::size_t param_count = 0;
    static constexpr std::size_t flops = Act::flops_per_element * In::size;
    static constexpr bool trainable = false;

    template <std::size_t B, class Be, class T>
    static void forward(Be be, const T*, const T* x, T* y) noexcept {
      kernel::activation_forward<Act, B * In::size>(be, x, y);
    }
    template <std::size_t B, class Be, class T>
    static void backward(Be be, const T*, const T* x, const T* y, const T* dy, T* dx, T*) noexcept {
      if (dx != nullptr) kernel::activation_backward<Act, B * In::size>(be, x, y, dy, dx);
    }
  };
};
}  // namespace detail

CTNN_END_NAMESPACE
