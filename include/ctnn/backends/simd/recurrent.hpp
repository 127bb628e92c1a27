#pragma once
/**
 * @file recurrent.hpp
 * @brief The vector pieces of a recurrent step for one sample: `y = b + x W` with the
 * accumulators in registers, and the gate functions (the rational tanh of `activations.hpp`,
 * and σ(x) = (1 + tanh(x/2)) / 2, which needs no exp) on a register or on one float.
 */
#include <algorithm>
#include <cstddef>
#include <type_traits>

#include "activations.hpp"
#include "arch.hpp"

#if CTNN_SIMD
CTNN_BEGIN_NAMESPACE
namespace kernel::simd {

/// The next narrower register of the same instruction set (512 → 256 → 128 bits), `void` below that.
template <class Arch>
struct narrower {
  using type = void;
};
#if defined(__AVX512F__) && defined(__AVX2__) && defined(__FMA__)
template <>
struct narrower<xsimd::avx512f> {
  using type = xsimd::fma3<xsimd::avx2>;
};
#endif
#if defined(__AVX2__) && defined(__FMA__) && defined(__SSE4_2__)
template <>
struct narrower<xsimd::fma3<xsimd::avx2>> {
  using type = xsimd::sse4_2;
};
#endif

/// Calls `f(batch type, first)` over [From, N) in registers of Arch, then of the narrower
/// ones, and `f(float, j)` for each remaining element.
template <std::size_t From, std::size_t N, class Arch, class F>
inline void for_each_width(F&& f) noexcept {
  if constexpr (std::is_void_v<Arch>) {
    for (std::size_t j = From; j < N; ++j) f(std::type_identity<float>{}, j);
  } else {
    using V = xsimd::batch<float, Arch>;
    constexpr std::size_t L = V::size, full = (N - From) / L;
    for (std::size_t j = From; j < From + full * L; j += L) f(std::type_identity<V>{}, j);
    for_each_width<From + full * L, N, typename narrower<Arch>::type>(f);
  }
}

/// Registers of an instruction set (16 for SSE and AVX2, 32 for AVX-512 and NEON).
template <class Arch>
inline constexpr std::size_t register_count = std::is_same_v<Arch, xsimd::avx512f> || std::is_same_v<Arch, xsimd::neon64> ? 32 : 16;

/// Columns [C0, C0 + count·L) of y = b + x W in `count` registers of V, each with two partial
/// sums (even and odd k), so the chain of dependent FMAs is half as long: 2·count + 2
/// registers live.
template <std::size_t M, std::size_t N, class V, std::size_t C0, std::size_t count>
inline void row_times_group(const float* x, const float* W, const float* b, float* y) noexcept {
  constexpr std::size_t L = V::size;
  // Unrolled over the registers by a fold, so that the accumulators stay in registers.
  [&]<std::size_t... C>(std::index_sequence<C...>) {
    V acc[count] = {V::load_unaligned(b + C0 + C * L)...};
    V acc2[count] = {(static_cast<void>(C), V(0.0f))...};
    std::size_t k = 0;
    for (; k + 1 < M; k += 2) {
      const V x0(x[k]), x1(x[k + 1]);
      const float* w0 = W + k * N + C0;
      const float* w1 = w0 + N;
      ((acc[C] = xsimd::fma(x0, V::load_unaligned(w0 + C * L), acc[C]),
        acc2[C] = xsimd::fma(x1, V::load_unaligned(w1 + C * L), acc2[C])),
       ...);
    }
    if (k < M) {
      const V xk(x[k]);
      ((acc[C] = xsimd::fma(xk, V::load_unaligned(W + k * N + C0 + C * L), acc[C])), ...);
    }
    ((acc[C] + acc2[C]).store_unaligned(y + C0 + C * L), ...);
  }(std::make_index_sequence<count>{});
}

/// Columns [C0, N) of y = b + x W in registers of Arch (groups as large as the registers
/// allow), the rest narrower.
template <std::size_t M, std::size_t N, class Arch, std::size_t C0 = 0>
inline void row_times_from(const float* x, const float* W, const float* b, float* y) noexcept {
  if constexpr (std::is_void_v<Arch>) {
    for (std::size_t j = C0; j < N; ++j) {
      float s = b[j];
      for (std::size_t k = 0; k < M; ++k) s += x[k] * W[k * N + j];
      y[j] = s;
    }
  } else {
    using V = xsimd::batch<float, Arch>;
    constexpr std::size_t L = V::size, full = (N - C0) / L;
    if constexpr (full > 0) {
      constexpr std::size_t most = (register_count<Arch> - 2) / 2;
      constexpr std::size_t count = full < most ? full : most;
      row_times_group<M, N, V, C0, count>(x, W, b, y);
      row_times_from<M, N, Arch, C0 + count * L>(x, W, b, y);
    } else {
      row_times_from<M, N, typename narrower<Arch>::type, C0>(x, W, b, y);
    }
  }
}

/// y[0..N) = b + x[0..M) W for one row x, W `[M][N]` (rows contiguous), accumulators in
/// registers of backend Be (and narrower ones for the last columns).
template <std::size_t M, std::size_t N, SimdBackend Be>
inline void row_times(Be, const float* x, const float* W, const float* b, float* y) noexcept {
  row_times_from<M, N, arch_t<Be>>(x, W, b, y);
}

#if defined(__SSE4_2__)
using narrowest_arch = xsimd::sse4_2;
#elif defined(__ARM_NEON) && defined(__aarch64__)
using narrowest_arch = xsimd::neon64;
#else
using narrowest_arch = xsimd::default_arch;
#endif

/// The gate functions of a recurrent cell, on a register of any width or on one float (the
/// same arithmetic: a float goes through lane 0 of the narrowest register).
struct gate_math {
  template <class V>
  static V tanh(V x) noexcept {
    return math::tanh(x);
  }
  template <class V>
  static V sigma(V x) noexcept {
    return xsimd::fma(tanh(x * V(0.5f)), V(0.5f), V(0.5f));
  }
  static float tanh(float x) noexcept { return tanh(xsimd::batch<float, narrowest_arch>(x)).get(0); }
  static float sigma(float x) noexcept { return sigma(xsimd::batch<float, narrowest_arch>(x)).get(0); }
};

}  // namespace kernel::simd
CTNN_END_NAMESPACE
#endif  // CTNN_SIMD
