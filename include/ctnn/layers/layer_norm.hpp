#pragma once
/**
 * @file layer_norm.hpp
 * @brief `ctnn::LayerNorm`: normalisation over the features of each step, with a trainable
 * scale and shift (PyTorch's `nn.LayerNorm(F)`, eps 1e-5).
 */
#include <cmath>
#include <cstddef>
#include <span>

#include "../init/initializers.hpp"
#include "layer_concepts.hpp"

CTNN_BEGIN_NAMESPACE

/**
 * @brief `y = (x - mean) / sqrt(var + 1e-5) · γ + β` over the last dimension: the whole
 * vector of a flat `Shape<F>`, each step of a sequence `Shape<T, F>`. var is the biased
 * variance. Parameters: γ `[F]` (initially 1), then β `[F]` (initially 0).
 */
struct LayerNorm {
  template <std::size_t Index, class In, bool Last>
  struct check {
    static_assert(detail::at_layer<Index>::template holds<(In::rank <= 2)>,
                  "ctnn::LayerNorm: expects a flat Shape<F> or a sequence Shape<T, F>");
  };

  template <std::size_t Rows, std::size_t F>
  struct bound {
    using tag = LayerNorm;
    using input_shape = std::conditional_t<Rows == 1, Shape<F>, Shape<Rows, F>>;
    using output_shape = input_shape;
    using default_init = init::HeUniform;  ///< unused: γ starts at 1 and β at 0 whatever is asked
    static constexpr std::size_t steps = Rows;
    static constexpr std::size_t features = F;
    static constexpr std::size_t param_count = 2 * F;
    static constexpr std::size_t flops = Rows * 8 * F;
    static constexpr bool trainable = true;
    static constexpr double eps = 1e-5;

    /// Mean and 1/sqrt(var + eps) of one row.
    template <class T>
    static void moments(const T* x, T& mean, T& rstd) noexcept {
      T s = T(0);
      for (std::size_t j = 0; j < F; ++j) s += x[j];
      mean = s / T(F);
      T v = T(0);
      for (std::size_t j = 0; j < F; ++j) v += (x[j] - mean) * (x[j] - mean);
      rstd = T(1) / std::sqrt(v / T(F) + T(eps));
    }
    template <std::size_t B, class Be, class T>
    static void forward(Be, const T* p, const T* x, T* y) noexcept {
      for (std::size_t r = 0; r < B * Rows; ++r) {
        const T* xr = x + r * F;
        T mean, rstd;
        moments(xr, mean, rstd);
        for (std::size_t j = 0; j < F; ++j) y[r * F + j] = (xr[j] - mean) * rstd * p[j] + p[F + j];
      }
    }
    /// Accumulates into dp; dx may be null (no input gradient wanted).
    template <std::size_t B, class Be, class T>
    static void backward(Be, const T* p, const T* x, const T*, const T* dy, T* dx, T* dp) noexcept {
      for (std::size_t r = 0; r < B * Rows; ++r) {
        const T *xr = x + r * F, *dyr = dy + r * F;
        T mean, rstd;
        moments(xr, mean, rstd);
        T sum_d = T(0), sum_dx = T(0);  // Σ dx̂ and Σ dx̂·x̂, with dx̂ = dy·γ
        for (std::size_t j = 0; j < F; ++j) {
          const T xh = (xr[j] - mean) * rstd;
          dp[j] += dyr[j] * xh;
          dp[F + j] += dyr[j];
          sum_d += dyr[j] * p[j];
          sum_dx += dyr[j] * p[j] * xh;
        }
        if (dx == nullptr) continue;
        for (std::size_t j = 0; j < F; ++j) {
          const T xh = (xr[j] - mean) * rstd;
          dx[r * F + j] = rstd * (dyr[j] * p[j] - (sum_d + xh * sum_dx) / T(F));
        }
      }
    }
    template <Initializer I>
    static void init(I, std::span<float> p, Rng&) noexcept {
      for (std::size_t j = 0; j < F; ++j) p[j] = 1.0f, p[F + j] = 0.0f;
    }
  };

  template <class In>
  struct bind;
  template <std::size_t F>
  struct bind<Shape<F>> : bound<1, F> {};
  template <std::size_t T, std::size_t F>
  struct bind<Shape<T, F>> : bound<T, F> {};
};

CTNN_END_NAMESPACE
