#pragma once
/**
 * @file cross_entropy.hpp
 * @brief `ctnn::loss::SoftmaxCrossEntropy`: softmax and cross-entropy fused, on logits.
 */
#include <cmath>
#include <concepts>
#include <cstddef>

#include "loss_concepts.hpp"

CTNN_BEGIN_NAMESPACE
namespace loss {

/**
 * @brief L = 1/B Σ_s (logsumexp(z_s) - z_s[label_s]), evaluated with the max subtracted,
 * so no logit overflows; dL/dz = (softmax(z) - onehot(label)) / B in the same pass.
 * Targets: one class index per sample, any integer type. The network must end at the
 * logits (no Softmax layer).
 */
struct SoftmaxCrossEntropy {
  template <class T>
  static constexpr bool accepts_target = std::integral<T>;
  template <std::size_t N>
  static constexpr std::size_t targets_per_sample = 1;

  /// True when every label is a class index in [0, N).
  template <std::size_t N, std::size_t B, class L>
  static constexpr bool valid_targets(const L* labels) noexcept {
    for (std::size_t s = 0; s < B; ++s)
      if (labels[s] < L{0} || static_cast<std::size_t>(labels[s]) >= N) return false;
    return true;
  }

  template <std::size_t N, std::size_t B, class T, std::integral L>
  static T value_and_gradient(const T* z, const L* labels, T* dz) noexcept {
    T total = 0;
    for (std::size_t s = 0; s < B; ++s) {
      const T* zs = z + s * N;
      T m = zs[0];
      for (std::size_t i = 1; i < N; ++i) m = zs[i] > m ? zs[i] : m;
      T* ds = dz != nullptr ? dz + s * N : nullptr;
      T sum = 0;
      for (std::size_t i = 0; i < N; ++i) {  // one exp per logit: softmax = e / Σe
        const T e = std::exp(zs[i] - m);
        sum += e;
        if (ds != nullptr) ds[i] = e;
      }
      const T lse = m + std::log(sum);
      const auto label = static_cast<std::size_t>(labels[s]);
      total += lse - zs[label];
      if (ds != nullptr) {
        const T scale = T(1) / (sum * T(B));
        for (std::size_t i = 0; i < N; ++i) ds[i] *= scale;
        ds[label] -= T(1) / T(B);
      }
    }
    return total / T(B);
  }
};

}  // namespace loss
CTNN_END_NAMESPACE
