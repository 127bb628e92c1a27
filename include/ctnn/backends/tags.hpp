#pragma once
/**
 * @file tags.hpp
 * @brief Backend tags. A backend is a template argument; kernels overload on the tag and
 * a more specialised backend inherits from the one it falls back to
 * (`avx512 → avx2 → sse4 → scalar`, `neon → scalar`).
 */
#include "../config.hpp"

CTNN_BEGIN_NAMESPACE
namespace backend {

/// Plain loops: the reference every fast path is tested against. Always available.
struct scalar {};

/// SSE4.2 (4 floats per register).
struct sse4 : scalar {};
/// AVX2 with FMA (8 floats per register).
struct avx2 : sse4 {};
/// AVX-512F (16 floats per register, 32 registers).
struct avx512 : avx2 {};
/// AArch64 NEON (4 floats per register, 32 registers).
struct neon : scalar {};

/// The widest backend this translation unit is compiled for (from -m flags / -march), or
/// scalar where CTNN_SIMD is 0.
#if !CTNN_SIMD
using native = scalar;
#elif defined(__AVX512F__)
using native = avx512;
#elif defined(__AVX2__) && defined(__FMA__)
using native = avx2;
#elif defined(__SSE4_2__)
using native = sse4;
#elif defined(__ARM_NEON) && defined(__aarch64__)
using native = neon;
#else
using native = scalar;
#endif

}  // namespace backend

/// The backend a network uses when none is named: the widest SIMD one compiled for.
using default_backend = backend::native;

/// The name of a backend: "avx512", "avx2", "sse4", "neon" or "scalar".
template <class Be = default_backend>
constexpr const char* backend_name() noexcept {
  if constexpr (__is_same(Be, backend::avx512)) return "avx512";
  else if constexpr (__is_same(Be, backend::avx2)) return "avx2";
  else if constexpr (__is_same(Be, backend::sse4)) return "sse4";
  else if constexpr (__is_same(Be, backend::neon)) return "neon";
  else return "scalar";
}

CTNN_END_NAMESPACE

// Fast or says why: a translation unit compiled without AVX2 (x86) or NEON (AArch64) runs a
// slow path; say which, once, at compile time. Define CTNN_NO_ISA_MESSAGE to silence it (on
// targets where the scalar path is the intended one, e.g. microcontrollers).
#if !defined(CTNN_NO_ISA_MESSAGE) && !defined(__CUDA_ARCH__)
#if !CTNN_SIMD && (defined(__SSE2__) || defined(__ARM_NEON))
#pragma message("ctnn: CTNN_SIMD is 0, so ctnn runs its scalar reference path although this target has SIMD instructions; define CTNN_NO_ISA_MESSAGE to silence this")
#elif (defined(__x86_64__) || defined(__i386__)) && !(defined(__AVX2__) && defined(__FMA__))
#if defined(__SSE4_2__)
#pragma message("ctnn: compiled without AVX2, so ctnn runs its SSE4.2 path (4 floats wide); for the fast AVX2 or AVX-512 path compile with -march=native (link ctnn::native) or -mavx2 -mfma; define CTNN_NO_ISA_MESSAGE to silence this")
#else
#pragma message("ctnn: compiled for baseline x86-64, so ctnn runs its scalar reference path (about 10x slower); for the fast AVX2 or AVX-512 path compile with -march=native (link ctnn::native) or -mavx2 -mfma; define CTNN_NO_ISA_MESSAGE to silence this")
#endif
#elif !defined(__x86_64__) && !defined(__i386__) && !(defined(__ARM_NEON) && defined(__aarch64__))
#pragma message("ctnn: no SIMD instruction set ctnn uses is enabled (AVX2, AVX-512, AArch64 NEON), so ctnn runs its scalar reference path; define CTNN_NO_ISA_MESSAGE to silence this")
#endif
#endif
