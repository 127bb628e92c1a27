#pragma once
/**
 * @file gemv_packed.hpp
 * @brief Batch-1 dense layers on weights packed in the order the kernel reads them
 * (used by `ctnn::Predictor`).
 *
 * At batch 1 every weight is used once, so a product is bound by how fast weights
 * stream and by how the input reaches the FMA units. With the canonical `[in][out]`
 * layout each input element must be broadcast to a whole register (one load or one
 * shuffle per input element next to the weight loads). Here the input is broadcast
 * four elements at a time instead: register lanes are (b, i) with i = k mod 4, so the
 * input block x[4t .. 4t+3] repeated in every 128-bit block multiplies a packed weight
 * vector whose lane (b, i) holds W[4t+i][o·lanes + 4b + g]. Four accumulators g = 0..3
 * cover one output vector; at the end `reduce4` sums each 128-bit block's four lanes
 * and interleaves the four accumulators so that lane 4b+g is output o·lanes + 4b + g,
 * in the natural order. Loads per FMA: 1 + 1/(16·OG) instead of 1 + 1/NV.
 *
 * Inputs and outputs stay in registers (`vec` arrays) between consecutive dense
 * layers, and the whole layer is unrolled at compile time (small layers only: `fits`).
 * Padding: sizes round up to a multiple of 4 (inputs) and of the register
 * width (outputs) with zero weights, and padded output lanes are forced to 0 after
 * the activation, so a following layer multiplies zeros by zeros.
 */
#include <algorithm>
#include <cstddef>
#include <utility>

#include "activations.hpp"
#include "partial.hpp"

#if CTNN_SIMD
CTNN_BEGIN_NAMESPACE
namespace kernel::simd {

/// The 128-bit block J of x, repeated in every block of a register.
template <std::size_t J, SimdBackend Be>
[[gnu::always_inline]] inline vec<Be> broadcast_block(Be, vec<Be> x) noexcept {
  static_assert(J < lanes<Be> / 4);
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<Be, backend::avx512>) return vec<Be>(_mm512_shuffle_f32x4(x, x, J * 0x55));
#endif
#if defined(__AVX2__) && defined(__FMA__)
  if constexpr (std::is_same_v<Be, backend::avx2>) return vec<Be>(_mm256_permute2f128_ps(x, x, J == 0 ? 0x00 : 0x11));
#endif
  if constexpr (lanes<Be> == 4) return x;
}

/// Per 128-bit block b: lane 4b+g = the sum of the four lanes of block b of a_g.
template <SimdBackend Be>
[[gnu::always_inline]] inline vec<Be> reduce4(Be, vec<Be> a0, vec<Be> a1, vec<Be> a2, vec<Be> a3) noexcept {
  using V = vec<Be>;
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<Be, backend::avx512>) {
    const __m512 u = _mm512_add_ps(_mm512_unpacklo_ps(a0, a1), _mm512_unpackhi_ps(a0, a1));
    const __m512 v = _mm512_add_ps(_mm512_unpacklo_ps(a2, a3), _mm512_unpackhi_ps(a2, a3));
    return V(_mm512_add_ps(_mm512_shuffle_ps(u, v, 0x44), _mm512_shuffle_ps(u, v, 0xEE)));
  }
#endif
#if defined(__AVX2__) && defined(__FMA__)
  if constexpr (std::is_same_v<Be, backend::avx2>) {
    const __m256 u = _mm256_add_ps(_mm256_unpacklo_ps(a0, a1), _mm256_unpackhi_ps(a0, a1));
    const __m256 v = _mm256_add_ps(_mm256_unpacklo_ps(a2, a3), _mm256_unpackhi_ps(a2, a3));
    return V(_mm256_add_ps(_mm256_shuffle_ps(u, v, 0x44), _mm256_shuffle_ps(u, v, 0xEE)));
  }
#endif
#if defined(__SSE4_2__)
  if constexpr (std::is_same_v<Be, backend::sse4>) {
    const __m128 u = _mm_add_ps(_mm_unpacklo_ps(a0, a1), _mm_unpackhi_ps(a0, a1));
    const __m128 v = _mm_add_ps(_mm_unpacklo_ps(a2, a3), _mm_unpackhi_ps(a2, a3));
    return V(_mm_add_ps(_mm_shuffle_ps(u, v, 0x44), _mm_shuffle_ps(u, v, 0xEE)));
  }
#endif
#if defined(__ARM_NEON) && defined(__aarch64__)
  if constexpr (std::is_same_v<Be, backend::neon>) return V(vpaddq_f32(vpaddq_f32(a0, a1), vpaddq_f32(a2, a3)));
#endif
}

/// Packed layout of one dense layer In → Out at batch 1 on backend Be.
template <SimdBackend Be, std::size_t In, std::size_t Out>
struct PackedDense {
  static constexpr std::size_t W = lanes<Be>;
  static constexpr std::size_t in_vecs = (In + W - 1) / W;    ///< input registers (zero-padded)
  static constexpr std::size_t blocks = (In + 3) / 4;         ///< input blocks of 4 (t)
  static constexpr std::size_t out_vecs = (Out + W - 1) / W;  ///< output registers
  /// Output vectors per pass over the input: 4 accumulators each, within the register file.
  static constexpr std::size_t group = std::min<std::size_t>(out_vecs, arch_of<Be>::registers == 32 ? 4 : 2);
  static constexpr std::size_t weight_floats = out_vecs * blocks * 4 * W;
  static constexpr std::size_t floats = weight_floats + out_vecs * W;  ///< weights, then the padded bias
  /// Whether the layer is small enough for this kernel: it is fully unrolled (input in
  /// registers, blocks by shuffles), at most 1024 FMA instructions. Wider layers stream
  /// their weights from L2 and run faster on the canonical row-streaming kernel.
  static constexpr bool fits = blocks * out_vecs * 4 <= 1024;

  /// Packs canonical w[In][Out] and b[Out]; `out` receives `floats` floats.
  static void pack(const float* w, const float* b, float* out) noexcept {
    std::size_t n = 0;
    for (std::size_t o0 = 0; o0 < out_vecs; o0 += group)
      for (std::size_t t = 0; t < blocks; ++t)
        for (std::size_t o = o0; o < std::min(out_vecs, o0 + group); ++o)
          for (std::size_t g = 0; g < 4; ++g, n += W)
            for (std::size_t bl = 0; bl < W / 4; ++bl)
              for (std::size_t i = 0; i < 4; ++i) {
                const std::size_t k = 4 * t + i, j = o * W + 4 * bl + g;
                out[n + 4 * bl + i] = (k < In && j < Out) ? w[k * Out + j] : 0.0f;
              }
    for (std::size_t j = 0; j < out_vecs * W; ++j) out[weight_floats + j] = j < Out ? b[j] : 0.0f;
  }
};

/// Lanes at or past `n` set to 0 (NaN included), the others kept.
template <SimdBackend Be>
[[gnu::always_inline]] inline vec<Be> keep_first(Be, vec<Be> v, std::size_t n) noexcept {
  using V = vec<Be>;
  alignas(64) static constexpr float iota[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  return xsimd::select(V::load_aligned(iota) < V(static_cast<float>(n)), v, V(0.0f));
}

namespace detail_b1 {
/// acc[a] += q · p[a·W ..] for a = 0 .. A-1 (A independent FMAs on one broadcast block).
template <class V, std::size_t... a>
[[gnu::always_inline]] inline void fma_block(V q, const float* p, V* acc, std::index_sequence<a...>) noexcept {
  ((acc[a] = xsimd::fma(q, V::load_aligned(p + a * V::size), acc[a])), ...);
}

/// The unrolled pass over all T input blocks: block t from register x[t / per_vec].
template <class Be, std::size_t T, std::size_t KS, std::size_t A, std::size_t... t>
[[gnu::always_inline]] inline void blocks_unrolled(Be be, const float* p, const vec<Be>* x, vec<Be> (*acc)[A], std::index_sequence<t...>) noexcept {
  constexpr std::size_t per_vec = lanes<Be> / 4;
  (fma_block(broadcast_block<t % per_vec>(be, x[t / per_vec]), p + t * A * lanes<Be>, acc[t * KS / T],
             std::make_index_sequence<A>{}),
   ...);
}

}  // namespace detail_b1

/// One group of G output vectors from O0 on: 4·G accumulators over all input blocks in
/// KS independent chains, then reduce4, bias, activation. Always inlined: as a call, the
/// caller's registers (the input, the next layer's constants) go through memory.
template <std::size_t In, std::size_t Out, class Act, std::size_t O0, std::size_t G, SimdBackend Be>
[[gnu::always_inline]] inline void dense_b1_group(Be be, const float* packed, const vec<Be>* x, vec<Be>* y) noexcept {
  using V = vec<Be>;
  using L = PackedDense<Be, In, Out>;
  constexpr std::size_t W = L::W, T = L::blocks, A = 4 * G;
  constexpr std::size_t KS = std::max<std::size_t>(1, std::min<std::size_t>(T, (arch_of<Be>::registers == 32 ? 16 : 8) / A));
  const float* p = packed + O0 * T * 4 * W;
  V acc[KS][A];
  for (std::size_t c = 0; c < KS; ++c)
    for (std::size_t a = 0; a < A; ++a) acc[c][a] = V(0.0f);
  detail_b1::blocks_unrolled<Be, T, KS, A>(be, p, x, acc, std::make_index_sequence<T>{});
  for (std::size_t c = 1; c < KS; ++c)
    for (std::size_t a = 0; a < A; ++a) acc[0][a] += acc[c][a];
  const float* bias = packed + L::weight_floats;
  for (std::size_t o = 0; o < G; ++o) {
    const V z = reduce4(be, acc[0][4 * o], acc[0][4 * o + 1], acc[0][4 * o + 2], acc[0][4 * o + 3]) +
                V::load_aligned(bias + (O0 + o) * W);
    V v = vector_activation<Act>::value(z);
    if constexpr (Out % W != 0)
      if (O0 + o + 1 == L::out_vecs) v = keep_first(be, v, Out % W);
    y[O0 + o] = v;
  }
}

/// Every output group in turn.
template <std::size_t In, std::size_t Out, class Act, SimdBackend Be, std::size_t... gi>
[[gnu::always_inline]] inline void dense_b1_groups(Be be, const float* packed, const vec<Be>* x, vec<Be>* y,
                                                   std::index_sequence<gi...>) noexcept {
  using L = PackedDense<Be, In, Out>;
  (dense_b1_group<In, Out, Act, gi * L::group, std::min(L::group, L::out_vecs - gi * L::group)>(be, packed, x, y), ...);
}

/**
 * y = act(x W + b) at batch 1 from packed weights. x: `in_vecs` registers whose lanes
 * past In are 0; y: `out_vecs` registers whose lanes past Out are set to 0.
 */
template <std::size_t In, std::size_t Out, class Act, SimdBackend Be>
[[gnu::always_inline]] inline void dense_b1_packed(Be be, const float* packed, const vec<Be>* x, vec<Be>* y) noexcept {
  using L = PackedDense<Be, In, Out>;
  static_assert(L::fits, "dense_b1_packed: layer too large to unroll; use the canonical kernel");
  dense_b1_groups<In, Out, Act>(be, packed, x, y, std::make_index_sequence<(L::out_vecs + L::group - 1) / L::group>{});
}

}  // namespace kernel::simd
CTNN_END_NAMESPACE
#endif  // CTNN_SIMD
