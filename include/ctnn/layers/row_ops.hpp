#pragma once
/**
 * @file row_ops.hpp
 * @brief Row-times-matrix products of one sample at a time, for the sequence layers (a
 * recurrent step, a causal convolution tap, a streaming step). W is `[M][N]` with rows
 * contiguous, as `Dense` stores its weights; the inner loops run over N and vectorise.
 */
#include <cstddef>

#include "../config.hpp"

CTNN_BEGIN_NAMESPACE
namespace detail {

/// y[0..N) += x[0..M) W, with W `[M][N]` (rows contiguous).
template <std::size_t M, std::size_t N, class T>
inline void add_row_times(const T* x, const T* W, T* y) noexcept {
  for (std::size_t k = 0; k < M; ++k) {
    const T xk = x[k];
    const T* w = W + k * N;
    for (std::size_t j = 0; j < N; ++j) y[j] += xk * w[j];
  }
}

/// dW += x ⊗ d (W `[M][N]`), and when dx is not null dx[k] += Σ_j W[k][j] d[j].
template <std::size_t M, std::size_t N, class T>
inline void back_row_times(const T* W, const T* x, const T* d, T* dW, T* dx) noexcept {
  for (std::size_t k = 0; k < M; ++k) {
    const T xk = x[k];
    T* g = dW + k * N;
    for (std::size_t j = 0; j < N; ++j) g[j] += xk * d[j];
    if (dx != nullptr) {
      const T* w = W + k * N;
      T s = T(0);
      for (std::size_t j = 0; j < N; ++j) s += w[j] * d[j];
      dx[k] += s;
    }
  }
}

}  // namespace detail
CTNN_END_NAMESPACE
