#pragma once
/**
 * @file mse.hpp
 * @brief `ctnn::loss::MSE`: mean squared error over every output of the batch.
 */
#include <cstddef>
#include <type_traits>

#include "loss_concepts.hpp"

CTNN_BEGIN_NAMESPACE
namespace loss {

/// L = 1/(B·N) Σ (y - t)²; dL/dy = 2 (y - t) / (B·N). Targets: N values per sample.
struct MSE {
  template <class T>
  static constexpr bool accepts_target = std::is_floating_point_v<T>;
  template <std::size_t N>
  static constexpr std::size_t targets_per_sample = N;

  /// Always true: any finite target is valid.
  template <std::size_t N, std::size_t B, class Tt>
  static constexpr bool valid_targets(const Tt*) noexcept {
    return true;
  }

  template <std::size_t N, std::size_t B, class T, class Tt>
  static T value_and_gradient(const T* y, const Tt* t, T* dy) noexcept {
    constexpr T scale = T(1) / T(B * N);
    T sum = 0;
    for (std::size_t k = 0; k < B * N; ++k) {
      const T diff = y[k] - static_cast<T>(t[k]);
      sum += diff * diff;
      if (dy != nullptr) dy[k] = T(2) * diff * scale;
    }
    return sum * scale;
  }
};

}  // namespace loss
CTNN_END_NAMESPACE
