#pragma once
/**
 * @file gemm.hpp
 * @brief The one register-blocked micro-kernel every dense product runs on, specialised
 * on the compile-time sizes.
 *
 * Computes C[M][N] = A[M][K] · B[K][N] with B's rows contiguous (the canonical
 * `[in][out]` weight layout streams exactly so) and hands each finished accumulator
 * register to an epilogue, which adds bias, applies the activation and stores, or adds
 * into C. A is addressed with two strides, so the same kernel computes X·W (forward),
 * Xᵀ·dZ (weight gradient) and dZ·Wᵀ (input gradient, with Wᵀ packed once per step).
 *
 * Blocking: MR rows × NV vectors of accumulators, sized to the register file; when
 * there are too few accumulators to hide the FMA latency (batch 1, narrow outputs)
 * the K loop is split over KS independent chains that are summed at the end. The last
 * column vector may be partial (N % lanes): it is loaded and stored with `load_n` /
 * `store_n`, never by a scalar loop. A single column (a Dense layer of one output) is a
 * dot product per row instead (`dot_rows`).
 *
 * A shape may also address A through `row_offset(m) + k_offset(k)` (separable, computed
 * once per row of a block and once per k): convolutions run on the same micro-kernel as
 * implicit GEMMs whose A rows are gathered from the input tensor (`conv.hpp`).
 *
 * A may instead be an `IndexedA`: the batch's samples picked by index from a data set in
 * memory, as the rows of A (X·W) or as its columns (Xᵀ·dZ), so that a shuffled batch is
 * multiplied where it lies, without a gathered copy (`DataParallel::step_rows`).
 */
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "partial.hpp"

#if CTNN_SIMD
CTNN_BEGIN_NAMESPACE
namespace kernel::simd {

/// Compile-time description of one product: sizes and strides, all in floats.
template <std::size_t M_, std::size_t N_, std::size_t K_, std::size_t ARowStride, std::size_t AColStride,
          std::size_t LdB>
struct GemmShape {
  static constexpr std::size_t M = M_, N = N_, K = K_;
  static constexpr std::size_t a_rs = ARowStride, a_cs = AColStride, ldb = LdB;
  static constexpr std::size_t row_offset(std::size_t m) noexcept { return m * a_rs; }
  static constexpr std::size_t k_offset(std::size_t k) noexcept { return k * a_cs; }
};

/**
 * @brief An A operand whose samples are picked by index from a row-major table of
 * samples `Stride` floats apart (a data set in memory): with `OnRows`, A[m][k] =
 * base[index[m]·Stride + S::k_offset(k)] (the selected samples as rows: X·W); else
 * A[m][k] = base[index[k]·Stride + S::row_offset(m)] (as columns: Xᵀ·dZ). The shape's
 * stride of the indexed dimension is not used. Same products, bit for bit, as the plain
 * operand on the gathered copy.
 */
template <std::size_t Stride, bool OnRows>
struct IndexedA {
  const float* base;
  const std::uint32_t* index;
  template <class S>
  const float* row(std::size_t m) const noexcept {
    if constexpr (OnRows)
      return base + std::size_t{index[m]} * Stride;
    else
      return base + S::row_offset(m);
  }
  template <class S>
  std::size_t col(std::size_t k) const noexcept {
    if constexpr (OnRows)
      return S::k_offset(k);
    else
      return std::size_t{index[k]} * Stride;
  }
};
/// The plain operand: A[m][k] = a[S::row_offset(m) + S::k_offset(k)].
struct PlainA {
  const float* base;
  template <class S>
  const float* row(std::size_t m) const noexcept {
    return base + S::row_offset(m);
  }
  template <class S>
  static constexpr std::size_t col(std::size_t k) noexcept {
    return S::k_offset(k);
  }
};

/// Block sizes for a backend and shape.
template <SimdBackend Be, class S>
struct Blocking {
  static constexpr std::size_t W = lanes<Be>;
  static constexpr std::size_t regs = arch_of<Be>::registers;
  static constexpr std::size_t nvec = (S::N + W - 1) / W;
  static constexpr std::size_t nv_max = S::M == 1 ? (regs == 32 ? 16 : 8) : (regs == 32 ? 4 : 2);
  static constexpr std::size_t NV = std::min(nvec, nv_max);
  static constexpr std::size_t MR = std::min<std::size_t>({S::M, std::max<std::size_t>(1, (regs == 32 ? 24 : 12) / NV), 8});
};

template <SimdBackend Be, class S, std::size_t MR, std::size_t NV, std::size_t Last, class A, class Epi>
inline void micro_kernel(Be be, A a, const float* b, std::size_t m0, std::size_t j0, Epi& epi) noexcept {
  using V = vec<Be>;
  constexpr std::size_t W = V::size;
  constexpr std::size_t accs = MR * NV;
  // Independent chains over K when the block alone cannot cover FMA latency × ports.
  constexpr std::size_t KS = accs >= 8 ? 1 : std::min<std::size_t>(8 / accs, std::max<std::size_t>(S::K, 1));
  V acc[KS][MR][NV];
  for (std::size_t c = 0; c < KS; ++c)
    for (std::size_t r = 0; r < MR; ++r)
      for (std::size_t v = 0; v < NV; ++v) acc[c][r][v] = V(0.0f);

  const float* arow[MR];
  for (std::size_t r = 0; r < MR; ++r) arow[r] = a.template row<S>(m0 + r);

  auto step = [&](std::size_t c, std::size_t k) {
    const float* brow = b + k * S::ldb + j0;
    V bv[NV];
    for (std::size_t v = 0; v < NV; ++v) {
      if (v + 1 == NV)
        bv[v] = load_n<Last>(be, brow + v * W);
      else
        bv[v] = V::load_unaligned(brow + v * W);
    }
    const std::size_t ko = a.template col<S>(k);
    for (std::size_t r = 0; r < MR; ++r) {
      const V av(arow[r][ko]);
      for (std::size_t v = 0; v < NV; ++v) acc[c][r][v] = xsimd::fma(av, bv[v], acc[c][r][v]);
    }
  };
  constexpr std::size_t rounds = S::K / KS;
  for (std::size_t it = 0; it < rounds; ++it)
    for (std::size_t c = 0; c < KS; ++c) step(c, it * KS + c);
  for (std::size_t k = rounds * KS; k < S::K; ++k) step(0, k);

  for (std::size_t r = 0; r < MR; ++r)
    for (std::size_t v = 0; v < NV; ++v) {
      V sum = acc[0][r][v];
      for (std::size_t c = 1; c < KS; ++c) sum += acc[c][r][v];
      if (v + 1 == NV)
        epi.template store<Last>(sum, m0 + r, j0 + v * W);
      else
        epi.template store<W>(sum, m0 + r, j0 + v * W);
    }
}

/// The micro-kernel kept out of line: inlined into a large caller (a whole network's
/// pass), GCC 12 allocates its registers worse (W3 measured 45% slower), and one call
/// per block costs nothing next to a block's K·MR·NV FMAs.
template <SimdBackend Be, class S, std::size_t MR, std::size_t NV, std::size_t Last, class A, class Epi>
[[gnu::noinline]] void micro_kernel_call(Be be, A a, const float* b, std::size_t m0, std::size_t j0, Epi& epi) noexcept {
  micro_kernel<Be, S, MR, NV, Last>(be, a, b, m0, j0, epi);
}

/// Runs every row block of one column block (batch 1, latency-bound, stays inline).
template <SimdBackend Be, class S, std::size_t NV, std::size_t Last, class A, class Epi>
inline void column_block(Be be, A a, const float* b, std::size_t j0, Epi& epi) noexcept {
  constexpr std::size_t MR = Blocking<Be, S>::MR;
  std::size_t m0 = 0;
  if constexpr (S::M > MR) {
    for (; m0 + MR <= S::M; m0 += MR) micro_kernel_call<Be, S, MR, NV, Last>(be, a, b, m0, j0, epi);
  } else {
    for (; m0 + MR <= S::M; m0 += MR) micro_kernel<Be, S, MR, NV, Last>(be, a, b, m0, j0, epi);
  }
  if constexpr (S::M % MR != 0) micro_kernel<Be, S, S::M % MR, NV, Last>(be, a, b, m0, j0, epi);
}

template <class S>
inline constexpr bool is_gemm_shape = false;
template <std::size_t M, std::size_t N, std::size_t K, std::size_t Rs, std::size_t Cs, std::size_t Ld>
inline constexpr bool is_gemm_shape<GemmShape<M, N, K, Rs, Cs, Ld>> = true;

/// Whether C = A·B is one column (a Dense layer of one output) with A's rows and B's column
/// contiguous: then each row is a dot product over K in full registers, not K broadcasts into
/// one partial register.
template <class S, class A>
inline constexpr bool dot_product_shape = [] {
  if constexpr (is_gemm_shape<S> && std::is_same_v<A, PlainA>)
    return S::N == 1 && S::a_cs == 1 && S::ldb == 1;
  else
    return false;
}();

/// C[m][0] = Σ_k A[m][k]·B[k] for every row: four chains of full registers over K, the
/// remainder zero-filled by `load_n`, summed across lanes, handed to the epilogue in lane 0.
template <class S, SimdBackend Be, class Epi>
inline void dot_rows(Be be, PlainA a, const float* b, Epi& epi) noexcept {
  using V = vec<Be>;
  constexpr std::size_t W = V::size, full = S::K / W, tail = S::K % W;
  constexpr std::size_t P = std::clamp<std::size_t>(full, 1, 4);
  for (std::size_t m = 0; m < S::M; ++m) {
    const float* x = a.template row<S>(m);
    V acc[P];
    for (std::size_t c = 0; c < P; ++c) acc[c] = V(0.0f);
    for (std::size_t i = 0; i < full; ++i)
      acc[i % P] = xsimd::fma(V::load_unaligned(x + i * W), V::load_unaligned(b + i * W), acc[i % P]);
    if constexpr (tail > 0) acc[0] = xsimd::fma(load_n<tail>(be, x + full * W), load_n<tail>(be, b + full * W), acc[0]);
    if constexpr (P >= 4) acc[2] += acc[3];
    if constexpr (P >= 2) acc[0] += acc[1];
    if constexpr (P >= 3) acc[0] += acc[2];
    epi.template store<1>(V(xsimd::hadd(acc[0])), m, 0);
  }
}

/**
 * @brief C = A·B through `epi.store<Lanes>(acc, row, col)`, for shape S and an A operand
 * (`PlainA` or `IndexedA`). Full column blocks of NV vectors first, then one block with
 * the leftover vectors, whose last vector may hold fewer than `lanes` columns.
 */
template <class S, SimdBackend Be, class A, class Epi>
inline void gemm_operand(Be be, A a, const float* b, Epi& epi) noexcept {
  if constexpr (dot_product_shape<S, A>) {
    dot_rows<S>(be, a, b, epi);
    return;
  }
  using Bl = Blocking<Be, S>;
  constexpr std::size_t W = Bl::W, NV = Bl::NV;
  constexpr std::size_t full_vecs = S::N / W, tail = S::N % W;
  constexpr std::size_t blocks = full_vecs / NV;
  constexpr std::size_t left_vecs = full_vecs % NV + (tail ? 1 : 0);
  for (std::size_t jb = 0; jb < blocks; ++jb) column_block<Be, S, NV, W>(be, a, b, jb * NV * W, epi);
  if constexpr (left_vecs > 0) column_block<Be, S, left_vecs, tail ? tail : W>(be, a, b, blocks * NV * W, epi);
}

/// C = A·B with A at `a` (addressed through the shape's strides).
template <class S, SimdBackend Be, class Epi>
inline void gemm(Be be, const float* a, const float* b, Epi& epi) noexcept {
  gemm_operand<S>(be, PlainA{a}, b, epi);
}

/// C = A·B with A picked by index from a table of samples (see `IndexedA`).
template <class S, SimdBackend Be, std::size_t Stride, bool OnRows, class Epi>
inline void gemm(Be be, IndexedA<Stride, OnRows> a, const float* b, Epi& epi) noexcept {
  gemm_operand<S>(be, a, b, epi);
}

}  // namespace kernel::simd
CTNN_END_NAMESPACE
#endif  // CTNN_SIMD
