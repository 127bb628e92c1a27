#pragma once
/**
 * @file int8.hpp
 * @brief Dense layers at batch 1 with int8 weights and dynamically quantized inputs (used by
 * `ctnn::Int8Predictor`), as PyTorch's `quantize_dynamic` does for `nn.Linear`.
 *
 * - Weights: symmetric per output column, W[i][o] ≈ scale[o]·q[i][o] with q in [-127, 127].
 * - Inputs: asymmetric per call, x[i] ≈ s·(u[i] − z) with u in [0, 127]. Seven bits, so that
 *   AVX2's `vpmaddubsw` (u8 × s8 pairs summed into 16 bits) can never saturate: 2·127·127 < 2¹⁵,
 *   as fbgemm's "reduce_range".
 * - y[o] = s·scale[o]·(Σ_i u[i]·q[i][o] − z·Σ_i q[i][o]) + b[o]: the sum is exact in 32-bit
 *   integers, so every backend gives the same value as the scalar reference.
 *
 * Packing: the 32-bit word (t, o) holds q[4t .. 4t+3][o], one byte each, outputs padded to a
 * multiple of 16 and inputs to a multiple of 4 with zeros. One broadcast input quad then
 * multiplies a register of such words: `vpdpbusd` (AVX512-VNNI, AVX-VNNI), `vpmaddubsw` +
 * `vpmaddwd` (AVX2, AVX512BW), `sdot` (NEON with dot products), or widening multiplies (NEON).
 */
#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <utility>

#include "../../detail/finite.hpp"
#include "../tags.hpp"
#if CTNN_SIMD
#include "../simd/arch.hpp"
#endif
#if CTNN_SIMD && (defined(__AVX2__) || defined(__AVX512F__))
#include <immintrin.h>
#endif
#if CTNN_SIMD && defined(__ARM_NEON) && defined(__aarch64__)
#include <arm_neon.h>
#endif

CTNN_BEGIN_NAMESPACE
namespace kernel::int8 {

/// The largest quantized input (7 bits; see the file comment).
inline constexpr int input_max = 127;

/// A dense layer In → Out with int8 weights (see the file comment), per-column scales and the
/// column sums the input's zero point needs.
template <std::size_t In, std::size_t Out>
struct Packed {
  static constexpr std::size_t quads = (In + 3) / 4;
  static constexpr std::size_t in_pad = quads * 4;
  static constexpr std::size_t out_pad = (Out + 15) / 16 * 16;
  alignas(64) std::array<std::uint32_t, quads * out_pad> w{};
  alignas(64) std::array<float, out_pad> scale{}, bias{};
  alignas(64) std::array<std::int32_t, out_pad> colsum{};

  /// From ctnn's canonical layout: W [In][Out] row-major, b [Out]. Columns that are all zero
  /// get scale 1.
  void pack(const float* W, const float* b) noexcept {
    w.fill(0);
    scale.fill(1.0f);
    bias.fill(0.0f);
    colsum.fill(0);
    for (std::size_t o = 0; o < Out; ++o) {
      float m = 0.0f;
      for (std::size_t i = 0; i < In; ++i) m = std::max(m, std::fabs(W[i * Out + o]));
      if (m > 0.0f) scale[o] = m / 127.0f;
      for (std::size_t i = 0; i < In; ++i) {
        const float r = std::nearbyint(W[i * Out + o] / scale[o]);
        const int q = static_cast<int>(std::clamp(r, -127.0f, 127.0f));
        w[i / 4 * out_pad + o] |= static_cast<std::uint32_t>(static_cast<std::uint8_t>(static_cast<std::int8_t>(q)))
                                  << (8 * (i % 4));
        colsum[o] += q;
      }
    }
    std::copy_n(b, Out, bias.begin());
  }
  /// The quantized weight q[i][o].
  int weight(std::size_t i, std::size_t o) const noexcept {
    return static_cast<std::int8_t>(static_cast<std::uint8_t>(w[i / 4 * out_pad + o] >> (8 * (i % 4))));
  }
};

/// An input vector quantized: x[i] ≈ scale·(q[i] − zero), q padded with zeros to a multiple of 4.
template <std::size_t In>
struct Input {
  alignas(64) std::array<std::uint8_t, (In + 3) / 4 * 4> q{};
  float scale = 1.0f;
  int zero = 0;
  bool finite = true;  ///< false: x held a NaN or an infinity, and the layer's outputs are NaN

  /// Sets the scale and zero point for inputs in [lo, hi] (lo ≤ 0 ≤ hi); returns 1/scale.
  float set_range(float lo, float hi) noexcept {
    const float range = hi - lo;
    scale = range > 0.0f ? range / static_cast<float>(input_max) : 1.0f;
    const float inv = 1.0f / scale;
    zero = static_cast<int>(std::clamp(std::nearbyint(-lo * inv), 0.0f, static_cast<float>(input_max)));
    return inv;
  }
  /// One input's code, as a float in [0, input_max] (inv = 1/scale).
  float code(float x, float inv) const noexcept {
    return std::clamp(std::nearbyint(x * inv) + static_cast<float>(zero), 0.0f, static_cast<float>(input_max));
  }
};

/// Quantizes x (asymmetric, [min(x, 0), max(x, 0)] onto [0, 127]); the same arithmetic on
/// every backend, so the integer sums that follow are identical everywhere.
template <std::size_t In>
void quantize(const float* x, Input<In>& in) noexcept {
  float lo = 0.0f, hi = 0.0f;
  bool finite = true;
  for (std::size_t i = 0; i < In; ++i) {
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
    finite &= ctnn::detail::is_finite(x[i]);
  }
  in.finite = finite;
  if (!finite) return;
  const float inv = in.set_range(lo, hi);
  for (std::size_t i = 0; i < In; ++i) in.q[i] = static_cast<std::uint8_t>(in.code(x[i], inv));
}

/// The same quantization with the scalar backend's name (the reference).
template <std::size_t In>
void quantize(backend::scalar, const float* x, Input<In>& in) noexcept {
  quantize(x, in);
}

#if CTNN_SIMD
/// The same quantization in registers: min, max and the rounding are exact operations, so the
/// result equals the scalar one bit for bit.
template <std::size_t In, SimdBackend Be>
void quantize(Be, const float* x, Input<In>& in) noexcept {
  using V = simd::vec<Be>;
  constexpr std::size_t L = V::size, full = In / L * L;
  V lo(0.0f), hi(0.0f), probe(0.0f);
  for (std::size_t k = 0; k < full; k += L) {
    const V v = V::load_unaligned(x + k);
    lo = xsimd::min(lo, v);
    hi = xsimd::max(hi, v);
    probe += v * V(0.0f);  // NaN once any element is NaN or infinite
  }
  alignas(64) float l[L], h[L], p[L];
  lo.store_aligned(l);
  hi.store_aligned(h);
  probe.store_aligned(p);
  float lo_s = 0.0f, hi_s = 0.0f, probe_s = 0.0f;
  for (std::size_t j = 0; j < L; ++j) {
    lo_s = std::min(lo_s, l[j]);
    hi_s = std::max(hi_s, h[j]);
    probe_s += p[j];
  }
  for (std::size_t k = full; k < In; ++k) {
    lo_s = std::min(lo_s, x[k]);
    hi_s = std::max(hi_s, x[k]);
    probe_s += x[k] * 0.0f;
  }
  in.finite = probe_s == 0.0f;
  if (!in.finite) return;
  const float inv = in.set_range(lo_s, hi_s);
  alignas(64) float r[(In + L - 1) / L * L];
  const V vinv(inv), vz(static_cast<float>(in.zero)), vmax(static_cast<float>(input_max)), vzero(0.0f);
  for (std::size_t k = 0; k < full; k += L)
    xsimd::min(xsimd::max(xsimd::nearbyint(V::load_unaligned(x + k) * vinv) + vz, vzero), vmax).store_aligned(r + k);
  for (std::size_t k = full; k < In; ++k) r[k] = in.code(x[k], inv);
  for (std::size_t k = 0; k < In; ++k) in.q[k] = static_cast<std::uint8_t>(r[k]);
}
#endif

/// acc[o] = Σ_i q_in[i]·q[i][o] for o in [0, out_pad): the reference (and the scalar backend).
template <std::size_t In, std::size_t Out>
void products(backend::scalar, const Packed<In, Out>& P, const Input<In>& x, std::int32_t* acc) noexcept {
  using Pk = Packed<In, Out>;
  std::fill_n(acc, Pk::out_pad, 0);
  for (std::size_t t = 0; t < Pk::quads; ++t) {
    const std::uint32_t* row = P.w.data() + t * Pk::out_pad;
    for (std::size_t o = 0; o < Pk::out_pad; ++o)
      for (std::size_t k = 0; k < 4; ++k)
        acc[o] += static_cast<std::int32_t>(x.q[4 * t + k]) *
                  static_cast<std::int8_t>(static_cast<std::uint8_t>(row[o] >> (8 * k)));
  }
}

namespace detail {
/// The input quad t as one 32-bit word.
template <std::size_t In>
inline std::uint32_t quad(const Input<In>& x, std::size_t t) noexcept {
  return static_cast<std::uint32_t>(x.q[4 * t]) | static_cast<std::uint32_t>(x.q[4 * t + 1]) << 8 |
         static_cast<std::uint32_t>(x.q[4 * t + 2]) << 16 | static_cast<std::uint32_t>(x.q[4 * t + 3]) << 24;
}

/// Runs block<NV, V0>() over `vectors` output registers in blocks of at most `Max`.
template <std::size_t vectors, std::size_t Max, class F>
[[gnu::always_inline]] inline void for_blocks(F block) noexcept {
  [&]<std::size_t... K>(std::index_sequence<K...>) {
    (block.template operator()<Max, K * Max>(), ...);
  }(std::make_index_sequence<vectors / Max>{});
  if constexpr (vectors % Max != 0) block.template operator()<vectors % Max, vectors / Max * Max>();
}
}  // namespace detail

#if CTNN_SIMD && defined(__AVX2__) && defined(__FMA__)
/// AVX2: 8 outputs a register; AVX-VNNI's vpdpbusd where the CPU has it, else vpmaddubsw + vpmaddwd.
template <std::size_t In, std::size_t Out>
void products(backend::avx2, const Packed<In, Out>& P, const Input<In>& x, std::int32_t* acc) noexcept {
  using Pk = Packed<In, Out>;
  detail::for_blocks<Pk::out_pad / 8, 12>([&]<std::size_t NV, std::size_t V0>() {
    __m256i a[NV];
    for (std::size_t j = 0; j < NV; ++j) a[j] = _mm256_setzero_si256();
    [[maybe_unused]] const __m256i ones = _mm256_set1_epi16(1);
    for (std::size_t t = 0; t < Pk::quads; ++t) {
      const __m256i xv = _mm256_set1_epi32(static_cast<int>(detail::quad(x, t)));
      const std::uint32_t* row = P.w.data() + t * Pk::out_pad + V0 * 8;
      for (std::size_t j = 0; j < NV; ++j) {
        const __m256i wv = _mm256_load_si256(reinterpret_cast<const __m256i*>(row + j * 8));
#if defined(__AVXVNNI__)
        a[j] = _mm256_dpbusd_avx_epi32(a[j], xv, wv);
#elif defined(__AVX512VNNI__) && defined(__AVX512VL__)
        a[j] = _mm256_dpbusd_epi32(a[j], xv, wv);
#else
        a[j] = _mm256_add_epi32(a[j], _mm256_madd_epi16(_mm256_maddubs_epi16(xv, wv), ones));
#endif
      }
    }
    for (std::size_t j = 0; j < NV; ++j) _mm256_storeu_si256(reinterpret_cast<__m256i*>(acc + (V0 + j) * 8), a[j]);
  });
}
#endif

#if CTNN_SIMD && defined(__AVX512BW__)
/// AVX-512: 16 outputs a register; AVX512-VNNI's vpdpbusd where the CPU has it.
template <std::size_t In, std::size_t Out>
void products(backend::avx512, const Packed<In, Out>& P, const Input<In>& x, std::int32_t* acc) noexcept {
  using Pk = Packed<In, Out>;
  detail::for_blocks<Pk::out_pad / 16, 16>([&]<std::size_t NV, std::size_t V0>() {
    __m512i a[NV];
    for (std::size_t j = 0; j < NV; ++j) a[j] = _mm512_setzero_si512();
    [[maybe_unused]] const __m512i ones = _mm512_set1_epi16(1);
    for (std::size_t t = 0; t < Pk::quads; ++t) {
      const __m512i xv = _mm512_set1_epi32(static_cast<int>(detail::quad(x, t)));
      const std::uint32_t* row = P.w.data() + t * Pk::out_pad + V0 * 16;
      for (std::size_t j = 0; j < NV; ++j) {
        const __m512i wv = _mm512_load_si512(row + j * 16);
#if defined(__AVX512VNNI__)
        a[j] = _mm512_dpbusd_epi32(a[j], xv, wv);
#else
        a[j] = _mm512_add_epi32(a[j], _mm512_madd_epi16(_mm512_maddubs_epi16(xv, wv), ones));
#endif
      }
    }
    for (std::size_t j = 0; j < NV; ++j) _mm512_storeu_si512(acc + (V0 + j) * 16, a[j]);
  });
}
#endif

#if CTNN_SIMD && defined(__ARM_NEON) && defined(__aarch64__)
/// NEON: 4 outputs a register; sdot where the CPU has dot products (the inputs, 0..127, are
/// valid signed bytes), else widening multiplies and pairwise additions.
template <std::size_t In, std::size_t Out>
void products(backend::neon, const Packed<In, Out>& P, const Input<In>& x, std::int32_t* acc) noexcept {
  using Pk = Packed<In, Out>;
  detail::for_blocks<Pk::out_pad / 4, 16>([&]<std::size_t NV, std::size_t V0>() {
    int32x4_t a[NV];
    for (std::size_t j = 0; j < NV; ++j) a[j] = vdupq_n_s32(0);
    for (std::size_t t = 0; t < Pk::quads; ++t) {
      const int8x16_t xv = vreinterpretq_s8_u32(vdupq_n_u32(detail::quad(x, t)));
      const std::uint32_t* row = P.w.data() + t * Pk::out_pad + V0 * 4;
      for (std::size_t j = 0; j < NV; ++j) {
        const int8x16_t wv = vreinterpretq_s8_u32(vld1q_u32(row + j * 4));
#if defined(__ARM_FEATURE_DOTPROD)
        a[j] = vdotq_s32(a[j], wv, xv);
#else
        const int32x4_t lo = vpaddlq_s16(vmull_s8(vget_low_s8(wv), vget_low_s8(xv)));   // outputs 0, 1: two pair sums each
        const int32x4_t hi = vpaddlq_s16(vmull_high_s8(wv, xv));                       // outputs 2, 3
        a[j] = vaddq_s32(a[j], vpaddq_s32(lo, hi));
#endif
      }
    }
    for (std::size_t j = 0; j < NV; ++j) vst1q_s32(acc + (V0 + j) * 4, a[j]);
  });
}
#endif

/// y[o] = s·scale[o]·(acc[o] − z·colsum[o]) + b[o] for o < Out; NaN everywhere when the
/// input was not finite.
template <std::size_t In, std::size_t Out>
void dequantize(const Packed<In, Out>& P, const Input<In>& x, const std::int32_t* acc, float* y) noexcept {
  if (!x.finite) {
    std::fill_n(y, Out, std::numeric_limits<float>::quiet_NaN());
    return;
  }
  for (std::size_t o = 0; o < Out; ++o)
    y[o] = static_cast<float>(acc[o] - x.zero * P.colsum[o]) * (x.scale * P.scale[o]) + P.bias[o];
}

}  // namespace kernel::int8
CTNN_END_NAMESPACE
