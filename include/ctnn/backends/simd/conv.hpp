#pragma once
/**
 * @file conv.hpp
 * @brief Convolution and pooling on the SIMD backends (channels-last).
 *
 * Convolution is an implicit GEMM on the dense micro-kernel: output pixels are rows,
 * output channels are columns, and the K dimension walks the window (kh, then kw·C + c,
 * which is contiguous in channels-last memory). Row r of A starts at its pixel's window
 * corner in the zero-padded input, so no im2col matrix is built; only the padding is
 * copied (and not even that when the padding is 0). Bias and activation are applied in
 * the epilogue, as for Dense.
 *
 * Backward: dz = dy ⊙ act' and db in one pass (shared with Dense); dW += patchesᵀ·dz is
 * the same implicit GEMM with the roles of rows and K swapped; dx is dz·Wᵀ scattered
 * back, one kernel row at a time, by an accumulating epilogue into a zeroed padded
 * buffer whose interior is then copied out.
 */
#include <cstddef>

#include "../geometry.hpp"
#include "dense.hpp"

CTNN_BEGIN_NAMESPACE
namespace kernel {

/// Scratch floats the SIMD convolution of geometry G with Cout channels needs at batch B
/// for training (padded input and input gradient, dz, Wᵀ) or for inference (padded input).
template <class G, std::size_t Cout, std::size_t B, bool Training = true>
inline constexpr std::size_t conv_scratch_floats =
    (G::PH + G::PW > 0 ? (Training ? 2 : 1) * B * G::padded_size : 0) +
    (Training ? B * G::pixels * Cout + G::patch * Cout : 0);

#if CTNN_SIMD
namespace simd {

/// Offset of output pixel m's window corner in the padded input, batch included.
template <class G>
constexpr std::size_t window_corner(std::size_t m) noexcept {
  const std::size_t s = m / G::pixels, pix = m % G::pixels;
  const std::size_t oh = pix / G::OW, ow = pix % G::OW;
  return s * G::padded_size + (oh * G::SH * G::Wp + ow * G::SW) * G::C;
}
/// Offset of window element k = (kh, kw, c) from the window corner.
template <class G>
constexpr std::size_t window_element(std::size_t k) noexcept {
  return (k / (G::KW * G::C)) * G::Wp * G::C + k % (G::KW * G::C);
}

/// Forward: rows are output pixels, K walks the window.
template <class G, std::size_t Cout, std::size_t B>
struct ConvForwardShape {
  static constexpr std::size_t M = B * G::pixels, N = Cout, K = G::patch, ldb = Cout;
  static constexpr std::size_t row_offset(std::size_t m) noexcept { return window_corner<G>(m); }
  static constexpr std::size_t k_offset(std::size_t k) noexcept { return window_element<G>(k); }
};

/// Weight gradient: rows are window elements, K walks every output pixel of the batch.
template <class G, std::size_t Cout, std::size_t B>
struct ConvWeightGradShape {
  static constexpr std::size_t M = G::patch, N = Cout, K = B * G::pixels, ldb = Cout;
  static constexpr std::size_t row_offset(std::size_t m) noexcept { return window_element<G>(m); }
  static constexpr std::size_t k_offset(std::size_t k) noexcept { return window_corner<G>(k); }
};

/// Input gradient of kernel row kh: rows are output pixels, columns the KW·C elements of the row.
template <class G, std::size_t Cout, std::size_t B>
using ConvInputGradShape = GemmShape<B * G::pixels, G::KW * G::C, Cout, Cout, 1, G::patch>;

/// Adds each block into the padded input gradient at its pixel's window row `row_base`.
template <SimdBackend Be, class G>
struct ScatterAddEpilogue {
  Be be;
  float* dxp;
  std::size_t row_base;
  template <std::size_t L>
  void store(vec<Be> acc, std::size_t m, std::size_t j) const noexcept {
    float* p = dxp + window_corner<G>(m) + row_base + j;
    store_n<L>(be, p, load_n<L>(be, p) + acc);
  }
};

/// Copies x `[B][H][W][C]` into the interior of a zeroed `[B][Hp][Wp][C]` buffer.
template <class G, std::size_t B>
inline void pad_input(const float* x, float* xp) noexcept {
  for (std::size_t i = 0; i < B * G::padded_size; ++i) xp[i] = 0.0f;
  for (std::size_t s = 0; s < B; ++s)
    for (std::size_t h = 0; h < G::H; ++h) {
      const float* src = x + (s * G::H + h) * G::W * G::C;
      float* dst = xp + s * G::padded_size + ((h + G::PH) * G::Wp + G::PW) * G::C;
      for (std::size_t i = 0; i < G::W * G::C; ++i) dst[i] = src[i];
    }
}

/// The interior of a padded buffer back into `[B][H][W][C]`.
template <class G, std::size_t B>
inline void crop_input(const float* xp, float* x) noexcept {
  for (std::size_t s = 0; s < B; ++s)
    for (std::size_t h = 0; h < G::H; ++h) {
      const float* src = xp + s * G::padded_size + ((h + G::PH) * G::Wp + G::PW) * G::C;
      float* dst = x + (s * G::H + h) * G::W * G::C;
      for (std::size_t i = 0; i < G::W * G::C; ++i) dst[i] = src[i];
    }
}

template <class G>
inline constexpr bool padded = G::PH + G::PW > 0;

}  // namespace simd

/// y = act(conv(x, W) + b) for a batch of B; z (may be null) receives the pre-activation.
template <class G, std::size_t Cout, std::size_t B, class Act, SimdBackend Be>
inline void conv_act_forward(Be be, const float* W, const float* bias, const float* x, float* y, float* z,
                             float* scratch) noexcept {
  const float* src = x;
  if constexpr (simd::padded<G>) {
    simd::pad_input<G, B>(x, scratch);
    src = scratch;
  }
  simd::BiasActivationEpilogue<Be, Act, Cout> epi{be, bias, y, z};
  simd::gemm<simd::ConvForwardShape<G, Cout, B>>(be, src, W, epi);
}

/**
 * @brief Backward of y = act(conv(x, W) + b): dW += patchesᵀ dz, db += Σ dz and, when
 * dx is not null, dx = the input gradient. `scratch` holds `conv_scratch_floats` floats.
 */
template <class G, std::size_t Cout, std::size_t B, class Act, SimdBackend Be>
inline void conv_act_backward(Be be, const float* W, const float* x, const float* z, const float* y,
                              const float* dy, float* dx, float* dW, float* db, float* scratch) noexcept {
  constexpr std::size_t pad = simd::padded<G> ? B * G::padded_size : 0;
  float* xp = scratch;
  float* dxp = scratch + pad;
  float* dz = scratch + 2 * pad;
  float* wt = dz + B * G::pixels * Cout;
  simd::activation_gradient<Cout, B * G::pixels, Act>(be, z, y, dy, dz, db);

  const float* src = x;
  if constexpr (simd::padded<G>) {
    simd::pad_input<G, B>(x, xp);
    src = xp;
  }
  simd::AccumulateEpilogue<Be, Cout> wepi{be, dW};
  simd::gemm<simd::ConvWeightGradShape<G, Cout, B>>(be, src, dz, wepi);

  if (dx == nullptr) return;
  float* target = simd::padded<G> ? dxp : dx;
  for (std::size_t i = 0; i < B * G::padded_size; ++i) target[i] = 0.0f;
  simd::transpose<G::patch, Cout>(W, wt);
  for (std::size_t kh = 0; kh < G::KH; ++kh) {
    simd::ScatterAddEpilogue<Be, G> xepi{be, target, kh * G::Wp * G::C};
    simd::gemm<simd::ConvInputGradShape<G, Cout, B>>(be, dz, wt + kh * G::KW * G::C, xepi);
  }
  if constexpr (simd::padded<G>) simd::crop_input<G, B>(dxp, dx);
}

/// Convolution without an activation (the layer's own kernel when nothing is fused).
template <class G, std::size_t Cout, std::size_t B, SimdBackend Be>
inline void conv_forward(Be be, const float* W, const float* bias, const float* x, float* y, float* scratch) noexcept {
  conv_act_forward<G, Cout, B, Identity>(be, W, bias, x, y, nullptr, scratch);
}

template <class G, std::size_t Cout, std::size_t B, SimdBackend Be>
inline void conv_backward(Be be, const float* W, const float* x, const float* dy, float* dx, float* dW, float* db,
                          float* scratch) noexcept {
  conv_act_backward<G, Cout, B, Identity>(be, W, x, nullptr, dy, dy, dx, dW, db, scratch);
}

/// Max pooling, one vector of channels at a time; NaN propagates.
template <class G, std::size_t B, SimdBackend Be>
inline void max_pool_forward(Be be, const float* x, float* y) noexcept {
  using V = simd::vec<Be>;
  constexpr std::size_t Wd = V::size;
  auto channels = [&]<std::size_t L>(std::size_t s, std::size_t oh, std::size_t ow, std::size_t c) {
    const float* base = x + ((s * G::H + oh * G::SH) * G::W + ow * G::SW) * G::C + c;
    V m = simd::load_n<L>(be, base);
    for (std::size_t kh = 0; kh < G::KH; ++kh)
      for (std::size_t kw = (kh == 0 ? 1 : 0); kw < G::KW; ++kw) {
        const V v = simd::load_n<L>(be, base + (kh * G::W + kw) * G::C);
        m = xsimd::select(v > m || xsimd::isnan(v), v, m);
      }
    simd::store_n<L>(be, y + ((s * G::OH + oh) * G::OW + ow) * G::C + c, m);
  };
  for (std::size_t s = 0; s < B; ++s)
    for (std::size_t oh = 0; oh < G::OH; ++oh)
      for (std::size_t ow = 0; ow < G::OW; ++ow) {
        std::size_t c = 0;
        for (; c + Wd <= G::C; c += Wd) channels.template operator()<Wd>(s, oh, ow, c);
        if constexpr (G::C % Wd != 0) channels.template operator()<G::C % Wd>(s, oh, ow, c);
      }
}

/// Max pooling backward: dy to the first window position equal to the maximum (or NaN).
template <class G, std::size_t B, SimdBackend Be>
inline void max_pool_backward(Be be, const float* x, const float* y, const float* dy, float* dx) noexcept {
  using V = simd::vec<Be>;
  using M = typename V::batch_bool_type;
  constexpr std::size_t Wd = V::size;
  for (std::size_t i = 0; i < B * G::in_size; ++i) dx[i] = 0.0f;
  auto channels = [&]<std::size_t L>(std::size_t s, std::size_t oh, std::size_t ow, std::size_t c) {
    const std::size_t yo = ((s * G::OH + oh) * G::OW + ow) * G::C + c;
    const std::size_t xo = ((s * G::H + oh * G::SH) * G::W + ow * G::SW) * G::C + c;
    const V ym = simd::load_n<L>(be, y + yo), g = simd::load_n<L>(be, dy + yo);
    M done(false);
    for (std::size_t kh = 0; kh < G::KH; ++kh)
      for (std::size_t kw = 0; kw < G::KW; ++kw) {
        float* p = dx + xo + (kh * G::W + kw) * G::C;
        const V v = simd::load_n<L>(be, x + xo + (kh * G::W + kw) * G::C);
        const M hit = (v == ym || xsimd::isnan(v)) && !done;
        done = done || hit;
        simd::store_n<L>(be, p, simd::load_n<L>(be, p) + xsimd::select(hit, g, V(0.0f)));
      }
  };
  for (std::size_t s = 0; s < B; ++s)
    for (std::size_t oh = 0; oh < G::OH; ++oh)
      for (std::size_t ow = 0; ow < G::OW; ++ow) {
        std::size_t c = 0;
        for (; c + Wd <= G::C; c += Wd) channels.template operator()<Wd>(s, oh, ow, c);
        if constexpr (G::C % Wd != 0) channels.template operator()<G::C % Wd>(s, oh, ow, c);
      }
}

#endif  // CTNN_SIMD
}  // namespace kernel
CTNN_END_NAMESPACE
