#pragma once
/**
 * @file vectorized.hpp
 * @brief Runs an optimizer's per-parameter rule over the flat block in SIMD registers
 * (the widest this translation unit is built for), with a scalar tail. The rule is one
 * generic lambda, so the vector and scalar lanes compute the same formula.
 */
#include <cmath>
#include <cstddef>

#include "../backends/simd/math.hpp"
#include "optimizer_concepts.hpp"

CTNN_BEGIN_NAMESPACE
namespace detail {

/**
 * @brief For k in [0, n): rule(p[k], g[k], s0[k], s1[k]), updating p and the first
 * `States` state arrays (0, 1 or 2) in place; unused state arguments are zeros.
 */
template <std::size_t States, class Be = backend::native, class Rule>
inline void update_lanes(std::size_t n, float* p, const float* g, float* s0, float* s1, const Rule& step) noexcept {
  static_assert(States <= 2);
  const Rule rule = step;  // a local copy: no store through p or the states can change its constants
  std::size_t vector_end = 0;
#if CTNN_SIMD
  if constexpr (SimdBackend<Be>) {
    using V = kernel::simd::vec<Be>;
    vector_end = n - n % V::size;
    for (std::size_t k = 0; k < vector_end; k += V::size) {
      V pv = V::load_unaligned(p + k), a(0.0f), b(0.0f);
      if constexpr (States >= 1) a = V::load_unaligned(s0 + k);
      if constexpr (States >= 2) b = V::load_unaligned(s1 + k);
      rule(pv, V::load_unaligned(g + k), a, b);
      pv.store_unaligned(p + k);
      if constexpr (States >= 1) a.store_unaligned(s0 + k);
      if constexpr (States >= 2) b.store_unaligned(s1 + k);
    }
  }
#endif
  for (std::size_t k = vector_end; k < n; ++k) {
    float a = 0.0f, b = 0.0f;
    if constexpr (States >= 1) a = s0[k];
    if constexpr (States >= 2) b = s1[k];
    rule(p[k], g[k], a, b);
    if constexpr (States >= 1) s0[k] = a;
    if constexpr (States >= 2) s1[k] = b;
  }
}

}  // namespace detail
CTNN_END_NAMESPACE
