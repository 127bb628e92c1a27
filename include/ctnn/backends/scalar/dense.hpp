#pragma once
/**
 * @file dense.hpp
 * @brief Reference dense kernels: plain loops, the oracle for every fast path.
 *
 * Layout: x `[B][In]`, W `[In][Out]` (outputs contiguous), b `[Out]`, y `[B][Out]`.
 */
#include <cstddef>

#include "../tags.hpp"

CTNN_BEGIN_NAMESPACE
namespace kernel {

/// y = x W + b.
template <std::size_t In, std::size_t Out, std::size_t B, class T>
void dense_forward(backend::scalar, const T* W, const T* bias, const T* x, T* y) noexcept {
  for (std::size_t s = 0; s < B; ++s) {
    T* ys = y + s * Out;
    for (std::size_t j = 0; j < Out; ++j) ys[j] = bias[j];
    for (std::size_t i = 0; i < In; ++i) {
      const T xi = x[s * In + i];
      const T* wi = W + i * Out;
      for (std::size_t j = 0; j < Out; ++j) ys[j] += xi * wi[j];
    }
  }
}

/// dW += xᵀ dy, db += Σ dy, and (when dx is not null) dx = dy Wᵀ.
template <std::size_t In, std::size_t Out, std::size_t B, class T>
void dense_backward(backend::scalar, const T* W, const T* x, const T* dy, T* dx, T* dW, T* dbias) noexcept {
  for (std::size_t s = 0; s < B; ++s) {
    const T* dys = dy + s * Out;
    for (std::size_t j = 0; j < Out; ++j) dbias[j] += dys[j];
    for (std::size_t i = 0; i < In; ++i) {
      const T xi = x[s * In + i];
      T* dwi = dW + i * Out;
      for (std::size_t j = 0; j < Out; ++j) dwi[j] += xi * dys[j];
    }
  }
  if (dx == nullptr) return;
  for (std::size_t s = 0; s < B; ++s) {
    const T* dys = dy + s * Out;
    for (std::size_t i = 0; i < In; ++i) {
      const T* wi = W + i * Out;
      T acc = 0;
      for (std::size_t j = 0; j < Out; ++j) acc += dys[j] * wi[j];
      dx[s * In + i] = acc;
    }
  }
}

/// y = f(x) element by element.
template <class Act, std::size_t N, class T>
void activation_forward(backend::scalar, const T* x, T* y) noexcept {
  for (std::size_t i = 0; i < N; ++i) y[i] = Act::value(x[i]);
}

/// dx = dy ⊙ f'(x) (the derivative may use the saved output y).
template <class Act, std::size_t N, class T>
void activation_backward(backend::scalar, const T* x, const T* y, const T* dy, T* dx) noexcept {
  for (std::size_t i = 0; i < N; ++i) dx[i] = dy[i] * Act::derivative(x[i], y[i]);
}

}  // namespace kernel
CTNN_END_NAMESPACE
