#pragma once
/**
 * @file gru.hpp
 * @brief `ctnn::GRU<H, Returns>`: a gated recurrent unit layer, PyTorch's `nn.GRU` (one
 * layer, batch-first) with its gate order and biases.
 */
#include <cstddef>

#include "recurrent.hpp"

CTNN_BEGIN_NAMESPACE

namespace detail {
/// r = σ(xr + hr), z = σ(xz + hz), n = tanh(xn + r ⊙ hn), h' = (1 - z) ⊙ n + z ⊙ h.
template <std::size_t H>
struct gru_cell {
  static constexpr std::size_t gates = 3, state = H, aux = 4 * H;  // aux: r, z, n, hn
  static constexpr std::size_t flops_per_step = 12 * H;

  template <class U, class M, class T>
  static void step(std::size_t j, const T* gx, const T* gh, const T* prev, T* next, T* aux) noexcept {
    const U r = M::sigma(lane_load<U>(gx + j) + lane_load<U>(gh + j));
    const U z = M::sigma(lane_load<U>(gx + H + j) + lane_load<U>(gh + H + j));
    const U hn = lane_load<U>(gh + 2 * H + j);
    const U n = M::tanh(lane_load<U>(gx + 2 * H + j) + r * hn);
    lane_store(aux + j, r);
    lane_store(aux + H + j, z);
    lane_store(aux + 2 * H + j, n);
    lane_store(aux + 3 * H + j, hn);
    lane_store(next + j, (U(1) - z) * n + z * lane_load<U>(prev + j));
  }

  template <class T>
  static void back(const T* aux, const T* prev, const T*, T* dstate, T* dgx, T* dgh) noexcept {
    const T *r = aux, *z = aux + H, *n = aux + 2 * H, *hn = aux + 3 * H;
    for (std::size_t j = 0; j < H; ++j) {
      const T dh = dstate[j];
      const T dan = dh * (T(1) - z[j]) * (T(1) - n[j] * n[j]);
      const T daz = dh * (prev[j] - n[j]) * z[j] * (T(1) - z[j]);
      const T dar = dan * hn[j] * r[j] * (T(1) - r[j]);
      dgx[j] = dar, dgx[H + j] = daz, dgx[2 * H + j] = dan;
      dgh[j] = dar, dgh[H + j] = daz, dgh[2 * H + j] = dan * r[j];
      dstate[j] = dh * z[j];
    }
  }
};
}  // namespace detail

/**
 * @brief Gated recurrent unit with H units over a sequence `Shape<T, F>`; returns
 * `Shape<T, H>` (`Returns::sequence`, the default) or `Shape<H>` (`Returns::last`).
 * Parameters and initialisation: see `recurrent.hpp`.
 */
template <std::size_t H, Returns R = Returns::sequence>
struct GRU : detail::recurrent_tag<GRU<H, R>, detail::gru_cell, H, R> {};

CTNN_END_NAMESPACE
