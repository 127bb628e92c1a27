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

/**
 * @brief An activation written once for every executor: `value` and `derivative` are
 * templates over the value type, written in `ctnn::math` (so they run on floats, SIMD
 * registers and in CUDA device code, each marked `CTNN_HOST_DEVICE`), and `needs_input`
 * says whether the derivative reads the pre-activation x (else the output y suffices and
 * the executors keep only y). Such an activation fuses into the Dense epilogue of the
 * SIMD and CUDA kernels; one that is only an `Activation` runs as its own scalar layer.
 */
template <class A>
concept FusableActivation = Activation<A> && requires {
  { A::needs_input } -> std::convertible_to<bool>;
};

namespace detail {
/// Base of every element-wise activation tag: shape-preserving, parameter-free.
template <class Act>
struct elementwise {
  template <std::size_t Index, class In, bool Last>
  struct check {};

  template <class In>
  struct bind {
    static_assert(Activation<Act>,
                  "ctnn: an element-wise activation (derived from ctnn::detail::elementwise) needs static value(x) "
                  "and derivative(x, y) for float and double, and flops_per_element (see ctnn::Activation; "
                  "activations/silu.hpp is one)");
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
