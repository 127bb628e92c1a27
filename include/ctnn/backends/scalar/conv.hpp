#pragma once
/**
 * @file conv.hpp
 * @brief Reference convolution and pooling kernels (channels-last): plain loops with
 * bounds checks instead of padding, the oracle for the SIMD kernels.
 *
 * Convolution weights are `[KH][KW][C][Cout]` (output channels contiguous: a Dense
 * weight matrix over the flattened patch), then the bias `[Cout]`.
 */
#include <cstddef>
#include <limits>

#include "../geometry.hpp"
#include "../tags.hpp"

CTNN_BEGIN_NAMESPACE
namespace kernel {

namespace detail {
/// Calls f(kh, kw, ih, iw) for every window position of output pixel (oh, ow) inside the input.
template <class G, class F>
inline void for_window(std::size_t oh, std::size_t ow, F&& f) {
  for (std::size_t kh = 0; kh < G::KH; ++kh) {
    const std::size_t ihp = oh * G::SH + kh;  // row in the padded input
    if (ihp < G::PH || ihp >= G::PH + G::H) continue;
    for (std::size_t kw = 0; kw < G::KW; ++kw) {
      const std::size_t iwp = ow * G::SW + kw;
      if (iwp < G::PW || iwp >= G::PW + G::W) continue;
      f(kh, kw, ihp - G::PH, iwp - G::PW);
    }
  }
}
}  // namespace detail

/// y = conv(x, W) + b for a batch of B; x `[B][H][W][C]`, y `[B][OH][OW][Cout]`.
template <class G, std::size_t Cout, std::size_t B, class T>
void conv_forward(backend::scalar, const T* Wt, const T* bias, const T* x, T* y, float* /*scratch*/) noexcept {
  for (std::size_t s = 0; s < B; ++s)
    for (std::size_t oh = 0; oh < G::OH; ++oh)
      for (std::size_t ow = 0; ow < G::OW; ++ow) {
        T* yp = y + ((s * G::OH + oh) * G::OW + ow) * Cout;
        for (std::size_t o = 0; o < Cout; ++o) yp[o] = bias[o];
        detail::for_window<G>(oh, ow, [&](std::size_t kh, std::size_t kw, std::size_t ih, std::size_t iw) {
          const T* xp = x + ((s * G::H + ih) * G::W + iw) * G::C;
          const T* wp = Wt + (kh * G::KW + kw) * G::C * Cout;
          for (std::size_t c = 0; c < G::C; ++c)
            for (std::size_t o = 0; o < Cout; ++o) yp[o] += xp[c] * wp[c * Cout + o];
        });
      }
}

/// dW += Σ patchᵀ dy, db += Σ dy, and (when dx is not null) dx = the input gradient.
template <class G, std::size_t Cout, std::size_t B, class T>
void conv_backward(backend::scalar, const T* Wt, const T* x, const T* dy, T* dx, T* dW, T* dbias,
                   float* /*scratch*/) noexcept {
  if (dx != nullptr)
    for (std::size_t i = 0; i < B * G::in_size; ++i) dx[i] = T(0);
  for (std::size_t s = 0; s < B; ++s)
    for (std::size_t oh = 0; oh < G::OH; ++oh)
      for (std::size_t ow = 0; ow < G::OW; ++ow) {
        const T* dyp = dy + ((s * G::OH + oh) * G::OW + ow) * Cout;
        for (std::size_t o = 0; o < Cout; ++o) dbias[o] += dyp[o];
        detail::for_window<G>(oh, ow, [&](std::size_t kh, std::size_t kw, std::size_t ih, std::size_t iw) {
          const std::size_t xo = ((s * G::H + ih) * G::W + iw) * G::C;
          const std::size_t wo = (kh * G::KW + kw) * G::C * Cout;
          for (std::size_t c = 0; c < G::C; ++c) {
            T acc = 0;
            for (std::size_t o = 0; o < Cout; ++o) {
              dW[wo + c * Cout + o] += x[xo + c] * dyp[o];
              acc += Wt[wo + c * Cout + o] * dyp[o];
            }
            if (dx != nullptr) dx[xo + c] += acc;
          }
        });
      }
}

/// Max pooling: y = the largest input under each window (per channel); NaN propagates.
template <class G, std::size_t B, class T>
void max_pool_forward(backend::scalar, const T* x, T* y) noexcept {
  for (std::size_t s = 0; s < B; ++s)
    for (std::size_t oh = 0; oh < G::OH; ++oh)
      for (std::size_t ow = 0; ow < G::OW; ++ow) {
        T* yp = y + ((s * G::OH + oh) * G::OW + ow) * G::C;
        for (std::size_t c = 0; c < G::C; ++c) yp[c] = -std::numeric_limits<T>::infinity();
        detail::for_window<G>(oh, ow, [&](std::size_t, std::size_t, std::size_t ih, std::size_t iw) {
          const T* xp = x + ((s * G::H + ih) * G::W + iw) * G::C;
          for (std::size_t c = 0; c < G::C; ++c)
            if (xp[c] > yp[c] || xp[c] != xp[c]) yp[c] = xp[c];  // a NaN, once taken, stays
        });
      }
}

/// Max pooling backward: each dy goes to the first window position holding the maximum.
template <class G, std::size_t B, class T>
void max_pool_backward(backend::scalar, const T* x, const T* y, const T* dy, T* dx) noexcept {
  for (std::size_t i = 0; i < B * G::in_size; ++i) dx[i] = T(0);
  for (std::size_t s = 0; s < B; ++s)
    for (std::size_t oh = 0; oh < G::OH; ++oh)
      for (std::size_t ow = 0; ow < G::OW; ++ow) {
        const std::size_t yo = ((s * G::OH + oh) * G::OW + ow) * G::C;
        for (std::size_t c = 0; c < G::C; ++c) {
          bool done = false;
          detail::for_window<G>(oh, ow, [&](std::size_t, std::size_t, std::size_t ih, std::size_t iw) {
            const std::size_t xo = ((s * G::H + ih) * G::W + iw) * G::C + c;
            if (!done && (x[xo] == y[yo + c] || x[xo] != x[xo])) {
              dx[xo] += dy[yo + c];
              done = true;
            }
          });
        }
      }
}

/// Average pooling over the full window (padding counts as zeros in the divisor).
template <class G, std::size_t B, class T>
void avg_pool_forward(backend::scalar, const T* x, T* y) noexcept {
  constexpr T inv = T(1) / T(G::KH * G::KW);
  for (std::size_t s = 0; s < B; ++s)
    for (std::size_t oh = 0; oh < G::OH; ++oh)
      for (std::size_t ow = 0; ow < G::OW; ++ow) {
        T* yp = y + ((s * G::OH + oh) * G::OW + ow) * G::C;
        for (std::size_t c = 0; c < G::C; ++c) yp[c] = T(0);
        detail::for_window<G>(oh, ow, [&](std::size_t, std::size_t, std::size_t ih, std::size_t iw) {
          const T* xp = x + ((s * G::H + ih) * G::W + iw) * G::C;
          for (std::size_t c = 0; c < G::C; ++c) yp[c] += xp[c];
        });
        for (std::size_t c = 0; c < G::C; ++c) yp[c] *= inv;
      }
}

/// Average pooling backward: dy / (KH·KW) to every input under the window.
template <class G, std::size_t B, class T>
void avg_pool_backward(backend::scalar, const T* dy, T* dx) noexcept {
  constexpr T inv = T(1) / T(G::KH * G::KW);
  for (std::size_t i = 0; i < B * G::in_size; ++i) dx[i] = T(0);
  for (std::size_t s = 0; s < B; ++s)
    for (std::size_t oh = 0; oh < G::OH; ++oh)
      for (std::size_t ow = 0; ow < G::OW; ++ow) {
        const T* dyp = dy + ((s * G::OH + oh) * G::OW + ow) * G::C;
        detail::for_window<G>(oh, ow, [&](std::size_t, std::size_t, std::size_t ih, std::size_t iw) {
          T* dxp = dx + ((s * G::H + ih) * G::W + iw) * G::C;
          for (std::size_t c = 0; c < G::C; ++c) dxp[c] += dyp[c] * inv;
        });
      }
}

}  // namespace kernel
CTNN_END_NAMESPACE
