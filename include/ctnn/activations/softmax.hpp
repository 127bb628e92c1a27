#pragma once
/**
 * @file softmax.hpp
 * @brief `ctnn::Softmax`: turns the logits of the last layer into probabilities.
 */
#include <cmath>
#include <cstddef>

#include "../layers/layer_concepts.hpp"

CTNN_BEGIN_NAMESPACE

/**
 * @brief Softmax over the features of each sample; only as the last layer. For training
 * with `loss::SoftmaxCrossEntropy`, leave it out: that loss takes logits and fuses it.
 */
struct Softmax {
  template <std::size_t Index, class In, bool Last>
  struct check {
    static_assert(detail::at_layer<Index>::template holds<Last>,
                  "ctnn::Softmax: supported only as the last layer; for a hidden non-linearity write "
                  "ReLU, Tanh or Sigmoid instead");
  };

  template <class In>
  struct bind {
    using tag = Softmax;
    using input_shape = In;
    using output_shape = In;
    static constexpr std::size_t n = In::size;
    static constexpr std::size_t param_count = 0;
    static constexpr std::size_t flops = 4 * n;  ///< max, exp, sum, divide
    static constexpr bool trainable = false;

    template <std::size_t B, class Be, class T>
    static void forward(Be, const T*, const T* x, T* y) noexcept {
      for (std::size_t s = 0; s < B; ++s) {
        const T* xs = x + s * n;
        T* ys = y + s * n;
        T m = xs[0];
        for (std::size_t i = 1; i < n; ++i) m = xs[i] > m ? xs[i] : m;
        T sum = 0;
        for (std::size_t i = 0; i < n; ++i) sum += ys[i] = std::exp(xs[i] - m);
        for (std::size_t i = 0; i < n; ++i) ys[i] /= sum;
      }
    }
    /// dx_i = y_i (dy_i - Σ_j dy_j y_j).
    template <std::size_t B, class Be, class T>
    static void backward(Be, const T*, const T*, const T* y, const T* dy, T* dx, T*) noexcept {
      if (dx == nullptr) return;
      for (std::size_t s = 0; s < B; ++s) {
        const T* ys = y + s * n;
        const T* dys = dy + s * n;
        T dot = 0;
        for (std::size_t i = 0; i < n; ++i) dot += dys[i] * ys[i];
        for (std::size_t i = 0; i < n; ++i) dx[s * n + i] = ys[i] * (dys[i] - dot);
      }
    }
  };
};

CTNN_END_NAMESPACE
