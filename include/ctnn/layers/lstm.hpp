#pragma once
/**
 * @file lstm.hpp
 * @brief `ctnn::LSTM<H, Returns>`: a long short-term memory layer, PyTorch's `nn.LSTM` (one
 * layer, batch-first, no projection) with its gate order and biases.
 */
#include <cstddef>

#include "recurrent.hpp"

CTNN_BEGIN_NAMESPACE

namespace detail {
/// i, f, o = σ(·), g = tanh(·); c' = f ⊙ c + i ⊙ g; h' = o ⊙ tanh(c'). State: h, then c.
template <std::size_t H>
struct lstm_cell {
  static constexpr std::size_t gates = 4, state = 2 * H, aux = 4 * H;  // aux: i, f, g, o
  static constexpr std::size_t flops_per_step = 14 * H;

  template <class U, class M, class T>
  static void step(std::size_t j, const T* gx, const T* gh, const T* prev, T* next, T* aux) noexcept {
    const U i = M::sigma(lane_load<U>(gx + j) + lane_load<U>(gh + j));
    const U f = M::sigma(lane_load<U>(gx + H + j) + lane_load<U>(gh + H + j));
    const U g = M::tanh(lane_load<U>(gx + 2 * H + j) + lane_load<U>(gh + 2 * H + j));
    const U o = M::sigma(lane_load<U>(gx + 3 * H + j) + lane_load<U>(gh + 3 * H + j));
    const U c = f * lane_load<U>(prev + H + j) + i * g;
    lane_store(aux + j, i);
    lane_store(aux + H + j, f);
    lane_store(aux + 2 * H + j, g);
    lane_store(aux + 3 * H + j, o);
    lane_store(next + H + j, c);
    lane_store(next + j, o * M::tanh(c));
  }

  template <class T>
  static void back(const T* aux, const T* prev, const T* next, T* dstate, T* dgx, T* dgh) noexcept {
    const T *i = aux, *f = aux + H, *g = aux + 2 * H, *o = aux + 3 * H;
    for (std::size_t j = 0; j < H; ++j) {
      const T tc = std::tanh(next[H + j]);
      const T dh = dstate[j];
      const T dc = dstate[H + j] + dh * o[j] * (T(1) - tc * tc);
      const T dai = dc * g[j] * i[j] * (T(1) - i[j]);
      const T daf = dc * prev[H + j] * f[j] * (T(1) - f[j]);
      const T dag = dc * i[j] * (T(1) - g[j] * g[j]);
      const T dao = dh * tc * o[j] * (T(1) - o[j]);
      dgx[j] = dgh[j] = dai;
      dgx[H + j] = dgh[H + j] = daf;
      dgx[2 * H + j] = dgh[2 * H + j] = dag;
      dgx[3 * H + j] = dgh[3 * H + j] = dao;
      dstate[j] = T(0);  // h reaches the previous step only through Wh (added by the caller)
      dstate[H + j] = dc * f[j];
    }
  }
};
}  // namespace detail

/**
 * @brief Long short-term memory with H units over a sequence `Shape<T, F>`; returns
 * `Shape<T, H>` (`Returns::sequence`, the default) or `Shape<H>` (`Returns::last`).
 * Parameters and initialisation: see `recurrent.hpp`.
 */
template <std::size_t H, Returns R = Returns::sequence>
struct LSTM : detail::recurrent_tag<LSTM<H, R>, detail::lstm_cell, H, R> {};

CTNN_END_NAMESPACE
