#pragma once
/**
 * @file loss.hpp
 * @brief Softmax cross-entropy on a SIMD backend: each sample's logits in vectors, one
 * vector exponential per W logits instead of one scalar call per logit.
 */
#include <cmath>
#include <concepts>
#include <cstddef>
#include <limits>

#include "arch.hpp"
#include "partial.hpp"

#if CTNN_SIMD
CTNN_BEGIN_NAMESPACE
namespace kernel::simd {

/// Lane indices 0, 1, …, W−1 as floats (to mask the lanes past a partial vector).
template <SimdBackend Be>
inline vec<Be> lane_indices() noexcept {
  constexpr std::size_t W = lanes<Be>;
  alignas(64) float idx[W];
  for (std::size_t i = 0; i < W; ++i) idx[i] = static_cast<float>(i);
  return vec<Be>::load_aligned(idx);
}

/// The largest lane of v.
template <SimdBackend Be>
inline float max_lane(vec<Be> v) noexcept {
  constexpr std::size_t W = lanes<Be>;
  alignas(64) float buf[W];
  v.store_aligned(buf);
  float m = buf[0];
  for (std::size_t i = 1; i < W; ++i) m = buf[i] > m ? buf[i] : m;
  return m;
}

/**
 * @brief The same quantity as `loss::SoftmaxCrossEntropy::value_and_gradient<N, B>` (the
 * scalar reference): L = 1/B Σ_s (m_s + log Σ_i e^{z_si − m_s} − z_s[label_s]) with m_s the
 * sample's largest logit, and, when dz is not null, dz = (softmax(z) − onehot) / B. The
 * exponentials are xsimd's and the per-sample sums are added in lanes, so results differ
 * from the reference by rounding only (tests/test_simd_loss.cpp bounds it). A NaN or infinite
 * logit gives a NaN loss, as there.
 */
template <std::size_t N, std::size_t B, SimdBackend Be, std::integral L>
float softmax_cross_entropy(Be be, const float* z, const L* labels, float* dz) noexcept {
  static_assert(N >= 1 && B >= 1);
  using V = vec<Be>;
  constexpr std::size_t W = V::size, full = N / W, tail = N % W;
  const V neg_inf(-std::numeric_limits<float>::infinity());
  const auto in_tail = lane_indices<Be>() < V(static_cast<float>(tail));
  float total = 0;
  for (std::size_t s = 0; s < B; ++s) {
    const float* zs = z + s * N;
    float* ds = dz != nullptr ? dz + s * N : nullptr;
    float m;
    if constexpr (full == 0) {  // one partial vector: N scalar comparisons beat a lane reduction
      m = zs[0];
      for (std::size_t i = 1; i < N; ++i) m = zs[i] > m ? zs[i] : m;
    } else {
      V mv = V::load_unaligned(zs);
      for (std::size_t j = 1; j < full; ++j) mv = xsimd::max(mv, V::load_unaligned(zs + j * W));
      if constexpr (tail != 0) mv = xsimd::max(mv, xsimd::select(in_tail, load_n<tail>(be, zs + full * W), neg_inf));
      m = max_lane<Be>(mv);
    }
    const V mvec(m);
    V sum(0.0f), e_tail(0.0f);
    for (std::size_t j = 0; j < full; ++j) {
      const V e = xsimd::exp(V::load_unaligned(zs + j * W) - mvec);
      sum += e;
      if (ds != nullptr) e.store_unaligned(ds + j * W);
    }
    if constexpr (tail != 0) {
      e_tail = xsimd::select(in_tail, xsimd::exp(load_n<tail>(be, zs + full * W) - mvec), V(0.0f));
      sum += e_tail;
    }
    const float se = xsimd::hadd(sum);
    const auto label = static_cast<std::size_t>(labels[s]);
    total += m + std::log(se) - zs[label];
    if (ds != nullptr) {
      const V scale(1.0f / (se * static_cast<float>(B)));
      for (std::size_t j = 0; j < full; ++j) (V::load_unaligned(ds + j * W) * scale).store_unaligned(ds + j * W);
      if constexpr (tail != 0) store_n<tail>(be, ds + full * W, e_tail * scale);
      ds[label] -= 1.0f / static_cast<float>(B);
    }
  }
  return total / static_cast<float>(B);
}

}  // namespace kernel::simd
CTNN_END_NAMESPACE
#endif  // CTNN_SIMD
