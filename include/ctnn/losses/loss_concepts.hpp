#pragma once
/**
 * @file loss_concepts.hpp
 * @brief The loss protocol.
 */
#include <concepts>
#include <cstddef>

#include "../config.hpp"

CTNN_BEGIN_NAMESPACE

/**
 * @brief A loss: `value_and_gradient<N, B>(out, targets, dout)` returns the batch-mean loss
 * and, when dout is not null, writes its gradient with respect to the outputs.
 * `accepts_target<T>` says which target element type it takes (labels or values), and
 * `targets_per_sample<N>` how many per sample.
 */
template <class L>
concept Loss = requires {
  { L::template accepts_target<float> } -> std::convertible_to<bool>;
  { L::template targets_per_sample<1> } -> std::convertible_to<std::size_t>;
};

CTNN_END_NAMESPACE
