#pragma once
/**
 * @file math.hpp
 * @brief `ctnn::math` on SIMD registers: the vector backend's specialisation of
 * `math::ops` for `xsimd::batch<float, A>`, so activations and optimizer rules written
 * once in `math::` run on registers unchanged.
 */
#include <type_traits>

#include "../../core/math.hpp"
#include "arch.hpp"

#if defined(__ARM_NEON) && defined(__aarch64__)
#include <arm_neon.h>
#endif

#if CTNN_SIMD
CTNN_BEGIN_NAMESPACE
namespace kernel::simd {
/// a / b correctly rounded on every backend (xsimd 8.1 divides on NEON by a reciprocal
/// estimate and Newton steps, which costs the rational tanh 0.2 ulp).
template <class V>
inline V divide(V a, V b) noexcept {
#if defined(__ARM_NEON) && defined(__aarch64__)
  if constexpr (std::is_same_v<typename V::arch_type, xsimd::neon64>) return V(vdivq_f32(a, b));
#endif
  return a / b;
}
}  // namespace kernel::simd

namespace math {

template <class A>
struct ops<xsimd::batch<float, A>> {
  using V = xsimd::batch<float, A>;
  using scalar = float;
  static V select(typename V::batch_bool_type c, V a, V b) noexcept { return xsimd::select(c, a, b); }
  static V fma(V a, V b, V c) noexcept { return xsimd::fma(a, b, c); }
  static V exp(V x) noexcept { return xsimd::exp(x); }
  static V erf(V x) noexcept { return xsimd::erf(x); }
  static V sqrt(V x) noexcept { return xsimd::sqrt(x); }
  static V abs(V x) noexcept { return xsimd::abs(x); }

  /**
   * tanh as x·P(x²)/Q(x²), P and Q of degree 4, and ±1 where |x| > 8 (1 - tanh(8) =
   * 2.3e-7): one division, no exp, no clamp on the critical path (the |x| > 8 select is
   * computed beside it). P and Q are evaluated in Estrin's form for a short dependency
   * chain: at batch 1 this latency separates one layer from the next. The coefficients
   * are this project's weighted least-squares fit of tanh(x)/x on [0, 8]
   * (scripts/fit_tanh.py): 6.5e-9 relative in exact arithmetic, within 3.3e-7 of tanh
   * over every float in float evaluation (tested), |y| ≤ 1, odd, NaN propagates.
   */
  static constexpr float tanh_limit = 8.0f;
  static constexpr float tanh_p[5] = {1.0f, 0.1344446837902069f, 0.0035715631674975157f, 2.1894071323913522e-05f,
                                      1.5229543848249705e-08f};
  static constexpr float tanh_q[5] = {1.0f, 0.46777796745300293f, 0.026164311915636063f, 0.00034112343564629555f,
                                      8.522102348251792e-07f};
  static V tanh(V x) noexcept {
    constexpr const float* p = tanh_p;
    constexpr const float* q = tanh_q;
    const V t = x * x, t2 = t * t;
    const V num = xsimd::fma(xsimd::fma(V(p[4]), t2, xsimd::fma(V(p[3]), t, V(p[2]))), t2 * x,
                             xsimd::fma(V(p[1]), t, V(p[0])) * x);
    const V den = xsimd::fma(xsimd::fma(V(q[4]), t2, xsimd::fma(V(q[3]), t, V(q[2]))), t2,
                             xsimd::fma(V(q[1]), t, V(q[0])));
    const V one = xsimd::bitwise_or(xsimd::bitwise_and(x, V(-0.0f)), V(1.0f));  // ±1 with x's sign
    return xsimd::select(xsimd::abs(x) > V(tanh_limit), one, kernel::simd::divide(num, den));  // NaN: the compare is false
  }
};

}  // namespace math
CTNN_END_NAMESPACE
#endif  // CTNN_SIMD
