#pragma once
/**
 * @file activations.hpp
 * @brief Element-wise activations on SIMD registers, for the dense epilogue (value) and
 * the backward prologue (derivative). `needs_input` says whether the derivative needs
 * the pre-activation z (else the output y suffices and z is never stored).
 */
#include "../../activations/activation_concepts.hpp"
#include "../../activations/identity.hpp"  // the "no activation" of the kernels
#include "math.hpp"

CTNN_BEGIN_NAMESPACE
namespace kernel::simd {

/// Primary template: no vector form; the activation then runs as its own scalar layer.
template <class Act>
struct vector_activation {
  static constexpr bool supported = false;
};

/// Several element-wise activations in a row, applied left to right in one pass. The
/// derivative is the product of each one's derivative at its own input, recomputed from z.
template <class... Acts>
struct Chain {};

#if CTNN_SIMD
/// An activation written in `ctnn::math` runs on registers as it is written.
template <FusableActivation Act>
struct vector_activation<Act> {
  static constexpr bool supported = true, needs_input = Act::needs_input;
  template <class V>
  static V value(V x) noexcept {
    return Act::value(x);
  }
  template <class V>
  static V derivative(V x, V y) noexcept {
    return Act::derivative(x, y);
  }
};

template <class... Acts>
struct vector_activation<Chain<Acts...>> {
  static constexpr bool supported = (vector_activation<Acts>::supported && ...);
  static constexpr bool needs_input = true;
  template <class V>
  static V value(V x) noexcept {
    ((x = vector_activation<Acts>::value(x)), ...);
    return x;
  }
  template <class V>
  static V derivative(V z, V) noexcept {
    V u = z, d(1.0f);
    (
        [&] {
          const V next = vector_activation<Acts>::value(u);
          d *= vector_activation<Acts>::derivative(u, next);
          u = next;
        }(),
        ...);
    return d;
  }
};

#endif  // CTNN_SIMD

}  // namespace kernel::simd
CTNN_END_NAMESPACE
