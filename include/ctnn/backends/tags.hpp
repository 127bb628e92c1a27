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

/// The widest backend this translation unit is compiled for (from -m flags / -march).
#if defined(__AVX512F__)
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

CTNN_END_NAMESPACE
