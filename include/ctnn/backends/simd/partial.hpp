#pragma once
/**
 * @file partial.hpp
 * @brief Loads and stores of the first N < lanes floats of a register, N known at compile
 * time: the tails of sizes that are not a multiple of the vector width. Masked
 * instructions where the ISA has them, a couple of narrow moves otherwise; never a
 * read or write past the N floats.
 */
#include <cstddef>

#include "arch.hpp"

#if defined(__SSE4_2__) || defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#endif
#if defined(__ARM_NEON) && defined(__aarch64__)
#include <arm_neon.h>
#endif

#if CTNN_SIMD
CTNN_BEGIN_NAMESPACE
namespace kernel::simd {

/// Loads N floats (N == lanes: a plain unaligned load); the other lanes are 0.
template <std::size_t N, SimdBackend Be>
inline vec<Be> load_n(Be, const float* p) noexcept {
  using V = vec<Be>;
  static_assert(N >= 1 && N <= V::size);
  if constexpr (N == V::size) {
    return V::load_unaligned(p);
  }
#if defined(__AVX512F__)
  else if constexpr (std::is_same_v<Be, backend::avx512>) {
    return V(_mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << N) - 1u), p));
  }
#endif
#if defined(__AVX2__) && defined(__FMA__)
  else if constexpr (std::is_same_v<Be, backend::avx2>) {
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(N)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    return V(_mm256_maskload_ps(p, mask));
  }
#endif
#if defined(__SSE4_2__)
  else if constexpr (std::is_same_v<Be, backend::sse4>) {
    if constexpr (N == 1) return V(_mm_load_ss(p));
    // 64-bit moves through __m128i, which may alias floats (a double* would not).
    const __m128 lo = _mm_castsi128_ps(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
    if constexpr (N == 2) return V(lo);
    return V(_mm_movelh_ps(lo, _mm_load_ss(p + 2)));
  }
#endif
#if defined(__ARM_NEON) && defined(__aarch64__)
  else if constexpr (std::is_same_v<Be, backend::neon>) {
    float32x4_t v = vdupq_n_f32(0.0f);
    v = vld1q_lane_f32(p, v, 0);
    if constexpr (N >= 2) v = vld1q_lane_f32(p + 1, v, 1);
    if constexpr (N >= 3) v = vld1q_lane_f32(p + 2, v, 2);
    return V(v);
  }
#endif
  else {
    alignas(64) float buf[V::size] = {};
    for (std::size_t i = 0; i < N; ++i) buf[i] = p[i];
    return V::load_aligned(buf);
  }
}

/// Stores the first N lanes of v to p.
template <std::size_t N, SimdBackend Be>
inline void store_n(Be, float* p, vec<Be> v) noexcept {
  using V = vec<Be>;
  static_assert(N >= 1 && N <= V::size);
  if constexpr (N == V::size) {
    v.store_unaligned(p);
  }
#if defined(__AVX512F__)
  else if constexpr (std::is_same_v<Be, backend::avx512>) {
    _mm512_mask_storeu_ps(p, static_cast<__mmask16>((1u << N) - 1u), v);
  }
#endif
#if defined(__AVX2__) && defined(__FMA__)
  else if constexpr (std::is_same_v<Be, backend::avx2>) {
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(N)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    _mm256_maskstore_ps(p, mask, v);
  }
#endif
#if defined(__SSE4_2__)
  else if constexpr (std::is_same_v<Be, backend::sse4>) {
    const __m128 r = v;
    if constexpr (N == 1) {
      _mm_store_ss(p, r);
    } else {
      _mm_storel_epi64(reinterpret_cast<__m128i*>(p), _mm_castps_si128(r));
      if constexpr (N == 3) _mm_store_ss(p + 2, _mm_movehl_ps(r, r));
    }
  }
#endif
#if defined(__ARM_NEON) && defined(__aarch64__)
  else if constexpr (std::is_same_v<Be, backend::neon>) {
    const float32x4_t r = v;
    vst1q_lane_f32(p, r, 0);
    if constexpr (N >= 2) vst1q_lane_f32(p + 1, r, 1);
    if constexpr (N >= 3) vst1q_lane_f32(p + 2, r, 2);
  }
#endif
  else {
    alignas(64) float buf[V::size];
    v.store_aligned(buf);
    for (std::size_t i = 0; i < N; ++i) p[i] = buf[i];
  }
}

}  // namespace kernel::simd
CTNN_END_NAMESPACE
#endif  // CTNN_SIMD
