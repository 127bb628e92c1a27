#pragma once
/**
 * @file math.hpp
 * @brief The element-wise functions that activations and optimizer rules are written in,
 * one spelling for every value type an executor runs them on: `float` and `double` on
 * the host (the scalar reference), `float` in CUDA device code, and SIMD registers.
 *
 * ```cpp
 * template <class T>
 * CTNN_HOST_DEVICE static T value(T x) noexcept { return x * math::sigmoid(x); }
 * ```
 * Each function forwards to `math::ops<T>`. This header defines `ops` for the
 * floating-point types (the C++ library on the host, CUDA's functions on the device);
 * `backends/simd/math.hpp` specialises it for xsimd registers, where `tanh` is ctnn's
 * rational approximation (within 3.3e-7 of tanh over every float) and `exp` and `erf`
 * are xsimd's. A comparison gives `bool` on scalars and a lane mask on registers; both
 * go to `select`.
 */
#include <cmath>
#include <concepts>

#include "../config.hpp"

CTNN_BEGIN_NAMESPACE
namespace math {

/// The functions for value type T; specialised per SIMD register type by the vector backend.
template <class T>
struct ops;

template <std::floating_point T>
struct ops<T> {
  using scalar = T;
  CTNN_HOST_DEVICE static constexpr T select(bool c, T a, T b) noexcept { return c ? a : b; }
// In CUDA device code the float forms are CUDA's `expf`, `tanhf`, ...; on the host, <cmath>.
#if defined(__CUDA_ARCH__)
#define CTNN_MATH_CALL(fn, ...)                                         \
  if constexpr (sizeof(T) == sizeof(float)) return ::fn##f(__VA_ARGS__); \
  else return ::fn(__VA_ARGS__)
#else
#define CTNN_MATH_CALL(fn, ...) return std::fn(__VA_ARGS__)
#endif
  CTNN_HOST_DEVICE static T fma(T a, T b, T c) noexcept { CTNN_MATH_CALL(fma, a, b, c); }
  CTNN_HOST_DEVICE static T exp(T x) noexcept { CTNN_MATH_CALL(exp, x); }
  CTNN_HOST_DEVICE static T erf(T x) noexcept { CTNN_MATH_CALL(erf, x); }
  CTNN_HOST_DEVICE static T tanh(T x) noexcept { CTNN_MATH_CALL(tanh, x); }
  CTNN_HOST_DEVICE static T sqrt(T x) noexcept { CTNN_MATH_CALL(sqrt, x); }
#undef CTNN_MATH_CALL
  CTNN_HOST_DEVICE static constexpr T abs(T x) noexcept { return x < T(0) ? -x : x; }
};

/// The lane type of T (T itself for a scalar).
template <class T>
using scalar_t = typename ops<T>::scalar;

/// The constant v in T: rounded once to T's lane type, broadcast on registers.
template <class T>
CTNN_HOST_DEVICE constexpr T constant(double v) noexcept {
  return T(static_cast<scalar_t<T>>(v));
}

/// c ? a : b, lane by lane on registers.
template <class T, class Mask>
CTNN_HOST_DEVICE constexpr T select(Mask c, T a, T b) noexcept {
  return ops<T>::select(c, a, b);
}
/// a·b + c with one rounding.
template <class T>
CTNN_HOST_DEVICE T fma(T a, T b, T c) noexcept {
  return ops<T>::fma(a, b, c);
}
template <class T>
CTNN_HOST_DEVICE T exp(T x) noexcept {
  return ops<T>::exp(x);
}
template <class T>
CTNN_HOST_DEVICE T erf(T x) noexcept {
  return ops<T>::erf(x);
}
template <class T>
CTNN_HOST_DEVICE T tanh(T x) noexcept {
  return ops<T>::tanh(x);
}
template <class T>
CTNN_HOST_DEVICE T sqrt(T x) noexcept {
  return ops<T>::sqrt(x);
}
template <class T>
CTNN_HOST_DEVICE constexpr T abs(T x) noexcept {
  return ops<T>::abs(x);
}

/// 1 / (1 + e^-x) without overflow: with e = e^-|x| ≤ 1, it is 1/(1+e) for x ≥ 0 and
/// e/(1+e) below, so exp never sees a large argument and the tail keeps its precision.
template <class T>
CTNN_HOST_DEVICE T sigmoid(T x) noexcept {
  const T e = math::exp(-math::abs(x));
  return math::select(x >= T(0), T(1), e) / (T(1) + e);
}

/// +1, -1 or 0 by the sign of x (0 for ±0 and NaN).
template <class T>
CTNN_HOST_DEVICE constexpr T sign(T x) noexcept {
  return math::select(x > T(0), T(1), math::select(x < T(0), T(-1), T(0)));
}

}  // namespace math
CTNN_END_NAMESPACE
