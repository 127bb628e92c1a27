#pragma once
/**
 * @file dense.hpp
 * @brief Fused dense kernels for the SIMD backends.
 *
 * Forward: y = act(x W + b), bias and activation applied in registers in the GEMM
 * epilogue (z = x W + b is stored only when the activation's derivative needs it).
 * Backward: one pass over dy computes dz = dy ⊙ act' and db += Σ dz together; then
 * dW += xᵀ dz and, when wanted, dx = dz Wᵀ run on the same micro-kernel.
 */
#include <cstddef>

#include "activations.hpp"
#include "gemm.hpp"

#if CTNN_SIMD
CTNN_BEGIN_NAMESPACE
namespace kernel {
namespace simd {

template <SimdBackend Be, class Act, std::size_t Ld>
struct BiasActivationEpilogue {
  Be be;
  const float* bias;
  float* y;
  float* z;  ///< pre-activation, or null
  template <std::size_t L>
  void store(vec<Be> acc, std::size_t m, std::size_t j) const noexcept {
    const vec<Be> zv = acc + load_n<L>(be, bias + j);
    if (z != nullptr) store_n<L>(be, z + m * Ld + j, zv);
    store_n<L>(be, y + m * Ld + j, vector_activation<Act>::value(zv));
  }
};

template <SimdBackend Be, std::size_t Ld>
struct AccumulateEpilogue {
  Be be;
  float* c;
  template <std::size_t L>
  void store(vec<Be> acc, std::size_t m, std::size_t j) const noexcept {
    float* p = c + m * Ld + j;
    store_n<L>(be, p, load_n<L>(be, p) + acc);
  }
};

template <SimdBackend Be, std::size_t Ld>
struct StoreEpilogue {
  Be be;
  float* c;
  template <std::size_t L>
  void store(vec<Be> acc, std::size_t m, std::size_t j) const noexcept {
    store_n<L>(be, c + m * Ld + j, acc);
  }
};

/// dz = dy ⊙ act'(z, y) and db += Σ_rows dz, one pass over the columns in registers.
template <std::size_t Out, std::size_t B, class Act, SimdBackend Be>
inline void activation_gradient(Be be, const float* z, const float* y, const float* dy, float* dz, float* db) noexcept {
  using V = vec<Be>;
  constexpr std::size_t W = V::size;
  auto column = [&]<std::size_t L>(std::size_t j) {
    V dbias(0.0f);
    for (std::size_t s = 0; s < B; ++s) {
      const std::size_t o = s * Out + j;
      const V zv = vector_activation<Act>::needs_input ? load_n<L>(be, z + o) : V(0.0f);
      const V yv = vector_activation<Act>::needs_input ? V(0.0f) : load_n<L>(be, y + o);
      const V d = load_n<L>(be, dy + o) * vector_activation<Act>::derivative(zv, yv);
      store_n<L>(be, dz + o, d);
      dbias += d;
    }
    store_n<L>(be, db + j, load_n<L>(be, db + j) + dbias);
  };
  std::size_t j = 0;
  for (; j + W <= Out; j += W) column.template operator()<W>(j);
  if constexpr (Out % W != 0) column.template operator()<Out % W>(j);
}

/// Wt[Out][In] = W[In][Out]ᵀ, in tiles that stay in L1; rows [row_begin, row_end) of W
/// only, when several threads share the work.
template <std::size_t In, std::size_t Out>
inline void transpose(const float* w, float* wt, std::size_t row_begin = 0, std::size_t row_end = In) noexcept {
  constexpr std::size_t T = 16;
  for (std::size_t i0 = row_begin; i0 < row_end; i0 += T)
    for (std::size_t j0 = 0; j0 < Out; j0 += T)
      for (std::size_t i = i0; i < std::min(row_end, i0 + T); ++i)
        for (std::size_t j = j0; j < std::min(Out, j0 + T); ++j) wt[j * In + i] = w[i * Out + j];
}

/// Scratch floats `dense_backward_act` needs: dz, and Wᵀ when the input gradient is wanted.
template <std::size_t In, std::size_t Out, std::size_t B>
inline constexpr std::size_t dense_backward_scratch = B * Out + In * Out;

}  // namespace simd

/// y = act(x W + b) for a batch of B; z (may be null) receives x W + b.
template <std::size_t In, std::size_t Out, std::size_t B, class Act, SimdBackend Be>
inline void dense_act_forward(Be be, const float* W, const float* bias, const float* x, float* y, float* z) noexcept {
  simd::BiasActivationEpilogue<Be, Act, Out> epi{be, bias, y, z};
  simd::gemm<simd::GemmShape<B, Out, In, In, 1, Out>>(be, x, W, epi);
}

/**
 * @brief Backward of y = act(x W + b): dW += xᵀ dz (skipped when dW is null), db += Σ dz,
 * dx = dz Wᵀ (skipped when dx is null), with dz = dy ⊙ act'. `scratch` holds
 * `dense_backward_scratch` floats;
 * `wt_ready`, when not null, is Wᵀ already transposed (reused across micro-batches).
 */
template <std::size_t In, std::size_t Out, std::size_t B, class Act, SimdBackend Be>
inline void dense_act_backward(Be be, const float* W, const float* x, const float* z, const float* y, const float* dy,
                               float* dx, float* dW, float* db, float* scratch, const float* wt_ready = nullptr) noexcept {
  float* dz = scratch;
  simd::activation_gradient<Out, B, Act>(be, z, y, dy, dz, db);
  if (dW != nullptr) {
    simd::AccumulateEpilogue<Be, Out> wepi{be, dW};
    simd::gemm<simd::GemmShape<In, Out, B, 1, In, Out>>(be, x, dz, wepi);
  }
  if (dx == nullptr) return;
  const float* wt = wt_ready;
  if (wt == nullptr) {
    simd::transpose<In, Out>(W, scratch + B * Out);
    wt = scratch + B * Out;
  }
  simd::StoreEpilogue<Be, In> xepi{be, dx};
  simd::gemm<simd::GemmShape<B, In, Out, Out, 1, In>>(be, dz, wt, xepi);
}

/// The per-layer dense forward on a SIMD backend (no activation fused).
template <std::size_t In, std::size_t Out, std::size_t B, SimdBackend Be>
inline void dense_forward(Be be, const float* W, const float* bias, const float* x, float* y) noexcept {
  dense_act_forward<In, Out, B, Identity>(be, W, bias, x, y, nullptr);
}

}  // namespace kernel
CTNN_END_NAMESPACE
#endif  // CTNN_SIMD
