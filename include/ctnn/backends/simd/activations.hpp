#pragma once
/**
 * @file activations.hpp
 * @brief Element-wise activations on SIMD registers, for the dense epilogue (value) and
 * the backward prologue (derivative). `needs_input` says whether the derivative needs
 * the pre-activation z (else the output y suffices and z is never stored).
 */
#include <numbers>
#include <type_traits>

#include "../../activations/expression.hpp"
#include "../../activations/gelu.hpp"
#include "../../activations/identity.hpp"
#include "../../activations/relu.hpp"
#include "../../activations/sigmoid.hpp"
#include "../../activations/tanh.hpp"
#include "arch.hpp"

#if defined(__ARM_NEON) && defined(__aarch64__)
#include <arm_neon.h>
#endif

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
/// a / b correctly rounded on every backend (xsimd 8.1 divides on NEON by a reciprocal
/// estimate and Newton steps, which costs the rational tanh 0.2 ulp).
template <class V>
inline V divide(V a, V b) noexcept {
#if defined(__ARM_NEON) && defined(__aarch64__)
  if constexpr (std::is_same_v<typename V::arch_type, xsimd::neon64>) return V(vdivq_f32(a, b));
#endif
  return a / b;
}

template <>
struct vector_activation<Identity> {
  static constexpr bool supported = true, needs_input = false;
  template <class V>
  static V value(V x) noexcept {
    return x;
  }
  template <class V>
  static V derivative(V, V) noexcept {
    return V(1.0f);
  }
};

template <>
struct vector_activation<ReLU> {
  static constexpr bool supported = true, needs_input = false;
  template <class V>
  static V value(V x) noexcept {
    return xsimd::select(x < V(0.0f), V(0.0f), x);  // NaN propagates, as in the scalar form
  }
  template <class V>
  static V derivative(V, V y) noexcept {
    return xsimd::select(y > V(0.0f), V(1.0f), V(0.0f));
  }
};

template <int Num, int Den>
struct vector_activation<LeakyReLUSlope<Num, Den>> {
  static constexpr float slope = static_cast<float>(Num) / static_cast<float>(Den);
  // With a positive slope, y > 0 exactly when x > 0, so the output decides the derivative.
  static constexpr bool supported = true, needs_input = !(slope > 0.0f);
  template <class V>
  static V value(V x) noexcept {
    return xsimd::select(x < V(0.0f), V(slope) * x, x);
  }
  template <class V>
  static V derivative(V x, V y) noexcept {
    if constexpr (needs_input)
      return xsimd::select(x > V(0.0f), V(1.0f), V(slope));
    else
      return xsimd::select(y > V(0.0f), V(1.0f), V(slope));
  }
};

/**
 * tanh as x·P(x²)/Q(x²), P and Q of degree 4, and ±1 where |x| > 8 (1 - tanh(8) =
 * 2.3e-7): one division, no exp, no clamp on the critical path (the |x| > 8 select is
 * computed beside it). P and Q are evaluated in Estrin's form for a short dependency
 * chain: at batch 1 this latency separates one layer from the next. The coefficients
 * are this project's weighted least-squares fit of tanh(x)/x on [0, 8]
 * (scripts/fit_tanh.py): 6.5e-9 relative in exact arithmetic, within 3.3e-7 of tanh
 * over every float in float evaluation (tested), |y| ≤ 1, odd, NaN propagates.
 */
template <>
struct vector_activation<Tanh> {
  static constexpr bool supported = true, needs_input = false;
  static constexpr float limit = 8.0f;
  static constexpr float p[5] = {1.0f, 0.1344446837902069f, 0.0035715631674975157f, 2.1894071323913522e-05f,
                                 1.5229543848249705e-08f};
  static constexpr float q[5] = {1.0f, 0.46777796745300293f, 0.026164311915636063f, 0.00034112343564629555f,
                                 8.522102348251792e-07f};
  template <class V>
  static V value(V x) noexcept {
    const V t = x * x, t2 = t * t;
    const V num = xsimd::fma(xsimd::fma(V(p[4]), t2, xsimd::fma(V(p[3]), t, V(p[2]))), t2 * x,
                             xsimd::fma(V(p[1]), t, V(p[0])) * x);
    const V den = xsimd::fma(xsimd::fma(V(q[4]), t2, xsimd::fma(V(q[3]), t, V(q[2]))), t2,
                             xsimd::fma(V(q[1]), t, V(q[0])));
    const V one = xsimd::bitwise_or(xsimd::bitwise_and(x, V(-0.0f)), V(1.0f));  // ±1 with x's sign
    return xsimd::select(xsimd::abs(x) > V(limit), one, divide(num, den));            // NaN: the compare is false
  }
  template <class V>
  static V derivative(V, V y) noexcept {
    return xsimd::fnma(y, y, V(1.0f));
  }
};

template <>
struct vector_activation<Sigmoid> {
  static constexpr bool supported = true, needs_input = false;
  template <class V>
  static V value(V x) noexcept {
    return V(1.0f) / (V(1.0f) + xsimd::exp(-x));  // exp overflow gives 1/inf = 0: no NaN
  }
  template <class V>
  static V derivative(V, V y) noexcept {
    return y * (V(1.0f) - y);
  }
};

template <>
struct vector_activation<GELU> {
  static constexpr bool supported = true, needs_input = true;
  static constexpr float inv_sqrt2 = 0.70710678118654752f;
  static constexpr float inv_sqrt2pi = 0.39894228040143268f;
  template <class V>
  static V value(V x) noexcept {
    return V(0.5f) * x * (V(1.0f) + xsimd::erf(x * V(inv_sqrt2)));
  }
  template <class V>
  static V derivative(V x, V) noexcept {
    const V cdf = V(0.5f) * (V(1.0f) + xsimd::erf(x * V(inv_sqrt2)));
    return xsimd::fma(x * V(inv_sqrt2pi), xsimd::exp(V(-0.5f) * x * x), cdf);
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

/// A user expression is generic over its value type, so the layer's own scalar
/// functions run on registers unchanged; its derivative is written in x.
template <auto Value, auto Derivative>
struct vector_activation<Custom<Value, Derivative>> : Custom<Value, Derivative> {
  static constexpr bool supported = true, needs_input = true;
};

#endif  // CTNN_SIMD

}  // namespace kernel::simd
CTNN_END_NAMESPACE
