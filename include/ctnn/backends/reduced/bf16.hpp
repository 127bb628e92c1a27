#pragma once
/**
 * @file bf16.hpp
 * @brief Dense layers at batch 1 with bfloat16 weights and float accumulation (used by
 * `ctnn::BF16Predictor`).
 *
 * Weights are packed in pairs of consecutive inputs: the 32-bit word (p, o) holds W[2p][o] in
 * its low half and W[2p+1][o] in its high half, outputs padded to a multiple of 16 with zeros.
 * That one layout serves two kernels:
 * - where the CPU has bf16 dot products (AVX512-BF16), `vdpbf16ps` multiplies a register of
 *   16 such words by the input pair (x[2p], x[2p+1]) rounded to bf16, 32 products per
 *   instruction;
 * - elsewhere (AVX-512F, AVX2, NEON) a word becomes two floats by a shift (W[2p][o]) and a mask
 *   (W[2p+1][o]), and two FMAs take the input in full float precision.
 * Either way the weights stream at half the bytes of float weights, which is what bounds a
 * batch-1 layer whose weights do not sit in L1.
 */
#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "../tags.hpp"
#if CTNN_SIMD
#include "../simd/arch.hpp"
#endif
#if defined(__AVX512BF16__)
#include <immintrin.h>
#endif

CTNN_BEGIN_NAMESPACE
namespace kernel::bf16 {

/// The bfloat16 nearest to f (ties to even); NaN stays a (quiet) NaN, infinities stay.
constexpr std::uint16_t from_float(float f) noexcept {
  const std::uint32_t u = std::bit_cast<std::uint32_t>(f);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<std::uint16_t>((u >> 16) | 0x40u);
  return static_cast<std::uint16_t>((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
}

/// The float a bfloat16 stands for (exact).
constexpr float to_float(std::uint16_t h) noexcept { return std::bit_cast<float>(static_cast<std::uint32_t>(h) << 16); }

/// A dense layer In → Out with bf16 weights in input pairs (see the file comment) and float biases.
template <std::size_t In, std::size_t Out>
struct Packed {
  static constexpr std::size_t pairs = (In + 1) / 2;
  static constexpr std::size_t out_pad = (Out + 15) / 16 * 16;
  alignas(64) std::array<std::uint32_t, pairs * out_pad> w{};
  alignas(64) std::array<float, out_pad> bias{};

  /// From ctnn's canonical layout: W [In][Out] row-major, b [Out].
  void pack(const float* W, const float* b) noexcept {
    w.fill(0);
    bias.fill(0.0f);
    for (std::size_t i = 0; i < In; ++i)
      for (std::size_t o = 0; o < Out; ++o)
        w[i / 2 * out_pad + o] |= static_cast<std::uint32_t>(from_float(W[i * Out + o])) << (16 * (i % 2));
    std::copy_n(b, Out, bias.begin());
  }
  /// Weight W[i][o] as stored (rounded to bf16).
  float weight(std::size_t i, std::size_t o) const noexcept {
    return to_float(static_cast<std::uint16_t>(w[i / 2 * out_pad + o] >> (16 * (i % 2))));
  }
};

/// Whether backend Be's kernel rounds the input to bf16 (it uses native bf16 dot products).
template <class Be>
inline constexpr bool rounds_input =
#if defined(__AVX512BF16__) && CTNN_SIMD
    std::is_same_v<Be, backend::avx512>;
#else
    false;
#endif

/**
 * @brief The reference: y[o] = b[o] + Σ_i x'[i]·W'[i][o], summed in double; W' the stored
 * bf16 weights, x' = x rounded to bf16 when `round_input` (else x).
 */
template <std::size_t In, std::size_t Out>
void dense_reference(const Packed<In, Out>& P, const float* x, float* y, bool round_input) noexcept {
  for (std::size_t o = 0; o < Out; ++o) {
    double s = P.bias[o];
    for (std::size_t i = 0; i < In; ++i)
      s += static_cast<double>(round_input ? to_float(from_float(x[i])) : x[i]) * static_cast<double>(P.weight(i, o));
    y[o] = static_cast<float>(s);
  }
}

/**
 * @brief y[0, out_pad) = x·W + b (no activation). `x` holds 2·pairs floats (the last one
 * zero when In is odd); the padded outputs come out zero.
 */
template <std::size_t In, std::size_t Out>
void dense(backend::scalar, const Packed<In, Out>& P, const float* x, float* y) noexcept {
  using Pk = Packed<In, Out>;
  std::copy_n(P.bias.data(), Pk::out_pad, y);
  for (std::size_t p = 0; p < Pk::pairs; ++p) {
    const float x0 = x[2 * p], x1 = x[2 * p + 1];
    const std::uint32_t* row = P.w.data() + p * Pk::out_pad;
    for (std::size_t o = 0; o < Pk::out_pad; ++o) {
      y[o] += x0 * std::bit_cast<float>(row[o] << 16);
      y[o] += x1 * std::bit_cast<float>(row[o] & 0xFFFF0000u);
    }
  }
}

#if CTNN_SIMD
/// Output vectors [V0, V0 + NV) of one layer: accumulators stay in registers over all pairs.
template <std::size_t NV, std::size_t V0, std::size_t In, std::size_t Out, SimdBackend Be>
[[gnu::always_inline]] inline void dense_block(Be, const Packed<In, Out>& P, const float* x, [[maybe_unused]] const std::uint32_t* xb,
                                               float* y) noexcept {
  using Pk = Packed<In, Out>;
  using V = simd::vec<Be>;
  constexpr std::size_t L = V::size;
  const std::uint32_t* w = P.w.data() + V0 * L;
#if defined(__AVX512BF16__)
  if constexpr (rounds_input<Be>) {
    // Native: one vdpbf16ps per 16 outputs and input pair; two accumulator sets when the
    // block is narrow, so that enough independent chains cover the instruction's latency.
    constexpr std::size_t sets = NV <= 8 ? 2 : 1;
    __m512 acc[sets][NV];
    for (std::size_t j = 0; j < NV; ++j) {
      acc[0][j] = _mm512_load_ps(P.bias.data() + (V0 + j) * L);
      if constexpr (sets == 2) acc[1][j] = _mm512_setzero_ps();
    }
    std::size_t p = 0;
    for (; p + sets <= Pk::pairs; p += sets)
      for (std::size_t s = 0; s < sets; ++s) {
        const __m512bh xv = (__m512bh)_mm512_set1_epi32(static_cast<int>(xb[p + s]));
        for (std::size_t j = 0; j < NV; ++j)
          acc[s][j] = _mm512_dpbf16_ps(acc[s][j], (__m512bh)_mm512_load_si512(w + (p + s) * Pk::out_pad + j * L), xv);
      }
    for (; p < Pk::pairs; ++p) {
      const __m512bh xv = (__m512bh)_mm512_set1_epi32(static_cast<int>(xb[p]));
      for (std::size_t j = 0; j < NV; ++j)
        acc[0][j] = _mm512_dpbf16_ps(acc[0][j], (__m512bh)_mm512_load_si512(w + p * Pk::out_pad + j * L), xv);
    }
    for (std::size_t j = 0; j < NV; ++j) {
      __m512 r = acc[0][j];
      if constexpr (sets == 2) r = _mm512_add_ps(r, acc[1][j]);
      _mm512_storeu_ps(y + (V0 + j) * L, r);
    }
    return;
  }
#endif
  // Widened on the fly: the low half of each word shifted up is W[2p][o], the high half
  // masked is W[2p+1][o]; one accumulator set for each, so the two FMAs do not chain.
  using U = xsimd::batch<std::uint32_t, simd::arch_t<Be>>;
  V a[NV], c[NV];
  for (std::size_t j = 0; j < NV; ++j) {
    a[j] = V::load_aligned(P.bias.data() + (V0 + j) * L);
    c[j] = V(0.0f);
  }
  const U high(0xFFFF0000u);
  for (std::size_t p = 0; p < Pk::pairs; ++p) {
    const V x0(x[2 * p]), x1(x[2 * p + 1]);
    for (std::size_t j = 0; j < NV; ++j) {
      const U v = U::load_aligned(w + p * Pk::out_pad + j * L);
      a[j] = xsimd::fma(x0, xsimd::bitwise_cast<V>(v << 16), a[j]);
      c[j] = xsimd::fma(x1, xsimd::bitwise_cast<V>(v & high), c[j]);
    }
  }
  for (std::size_t j = 0; j < NV; ++j) (a[j] + c[j]).store_unaligned(y + (V0 + j) * L);
}

template <std::size_t In, std::size_t Out, SimdBackend Be>
void dense(Be be, const Packed<In, Out>& P, const float* x, float* y) noexcept {
  using Pk = Packed<In, Out>;
  constexpr std::size_t L = simd::lanes<Be>;
  constexpr std::size_t vectors = Pk::out_pad / L;
  // Accumulators per block: half the register file (two sets on the widening path).
  constexpr std::size_t block = std::max<std::size_t>(1, simd::arch_of<Be>::registers / (rounds_input<Be> ? 2 : 4));
  [[maybe_unused]] alignas(64) std::uint32_t xb[rounds_input<Be> ? Pk::pairs : 1];
  if constexpr (rounds_input<Be>)
    for (std::size_t p = 0; p < Pk::pairs; ++p)
      xb[p] = static_cast<std::uint32_t>(from_float(x[2 * p])) | static_cast<std::uint32_t>(from_float(x[2 * p + 1])) << 16;
  [&]<std::size_t... K>(std::index_sequence<K...>) {
    (dense_block<block, K * block>(be, P, x, xb, y), ...);
  }(std::make_index_sequence<vectors / block>{});
  if constexpr (vectors % block != 0) dense_block<vectors % block, vectors / block * block>(be, P, x, xb, y);
}
#endif

}  // namespace kernel::bf16
CTNN_END_NAMESPACE
