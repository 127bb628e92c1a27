#pragma once
/**
 * @file dispatch.hpp
 * @brief The loss of one batch on a backend: softmax cross-entropy vectorised on a SIMD
 * backend, every other loss (and every loss on the scalar backend, the reference) as the
 * loss itself defines it.
 */
#include <concepts>
#include <cstddef>

#include "../backends/simd/loss.hpp"
#include "cross_entropy.hpp"

CTNN_BEGIN_NAMESPACE
namespace detail {

/// `L::value_and_gradient<N, B>(out, targets, dout)`, or its SIMD kernel where there is one.
template <class L, class Be, std::size_t N, std::size_t B, class Tt>
float loss_value_and_gradient(const float* out, const Tt* targets, float* dout) {
#if CTNN_SIMD
  if constexpr (SimdBackend<Be> && std::same_as<L, loss::SoftmaxCrossEntropy> && std::integral<Tt>)
    return kernel::simd::softmax_cross_entropy<N, B>(Be{}, out, targets, dout);
#endif
  return L::template value_and_gradient<N, B>(out, targets, dout);
}

}  // namespace detail
CTNN_END_NAMESPACE
