#pragma once
/**
 * @file arch.hpp
 * @brief Maps ctnn's SIMD backend tags to xsimd architectures and register budgets.
 */
#include <concepts>
#include <cstddef>

#include "../tags.hpp"

#if CTNN_SIMD
#include <xsimd/xsimd.hpp>
#endif

CTNN_BEGIN_NAMESPACE
namespace kernel::simd {

template <class Be>
struct arch_of;  // undefined: not a SIMD backend

#if CTNN_SIMD && defined(__SSE4_2__)
template <>
struct arch_of<backend::sse4> {
  using type = xsimd::sse4_2;
  static constexpr std::size_t registers = 16;
};
#endif
#if CTNN_SIMD && defined(__AVX2__) && defined(__FMA__)
template <>
struct arch_of<backend::avx2> {
  using type = xsimd::fma3<xsimd::avx2>;
  static constexpr std::size_t registers = 16;
};
#endif
#if CTNN_SIMD && defined(__AVX512F__)
template <>
struct arch_of<backend::avx512> {
  using type = xsimd::avx512f;
  static constexpr std::size_t registers = 32;
};
#endif
#if CTNN_SIMD && defined(__ARM_NEON) && defined(__aarch64__)
template <>
struct arch_of<backend::neon> {
  using type = xsimd::neon64;
  static constexpr std::size_t registers = 32;
};
#endif

}  // namespace kernel::simd

/// A SIMD backend this translation unit was compiled to run (its instructions are enabled).
template <class Be>
concept SimdBackend = requires { typename kernel::simd::arch_of<Be>::type; };

#if CTNN_SIMD
namespace kernel::simd {
template <SimdBackend Be>
using arch_t = typename arch_of<Be>::type;
template <SimdBackend Be>
using vec = xsimd::batch<float, arch_t<Be>>;
template <SimdBackend Be>
inline constexpr std::size_t lanes = vec<Be>::size;
}  // namespace kernel::simd
#endif

CTNN_END_NAMESPACE
