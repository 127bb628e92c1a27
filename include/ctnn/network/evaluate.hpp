#pragma once
/**
 * @file evaluate.hpp
 * @brief Accuracy of a classifier over a data set.
 */
#include <algorithm>
#include <cstddef>
#include <memory>
#include <span>

#include "../detail/raise.hpp"
#include "net.hpp"

CTNN_BEGIN_NAMESPACE

/// Index of the largest of n values (the first on ties).
inline std::size_t argmax(const float* v, std::size_t n) noexcept {
  return static_cast<std::size_t>(std::max_element(v, v + n) - v);
}

/**
 * @brief Fraction of samples whose largest output is the label. `inputs` holds
 * `labels.size()` samples; evaluated in batches of `B` with a batch-1 tail.
 * @throws ctnn::Error if the sizes disagree.
 */
template <std::size_t B = 256, Backend Be = default_backend, class NetT, class Label>
double accuracy(const NetT& net, std::span<const float> inputs, std::span<const Label> labels) {
  constexpr std::size_t in = NetT::input_size, out = NetT::output_size;
  const std::size_t n = labels.size();
  if (inputs.size() != n * in)
    detail::raise("ctnn::accuracy: " + std::to_string(n) + " labels need " + std::to_string(n * in) +
                  " input values, got " + std::to_string(inputs.size()));
  auto ws = std::make_unique<Workspace<NetT, Batch<B>>>();
  auto y = std::make_unique<std::array<float, B * out>>();
  std::size_t correct = 0, s = 0;
  for (; s + B <= n; s += B) {
    net.template forward<B, Be>(*ws, std::span<const float, B * in>(inputs.data() + s * in, B * in),
                                std::span<float, B * out>(*y));
    for (std::size_t k = 0; k < B; ++k)
      correct += argmax(y->data() + k * out, out) == static_cast<std::size_t>(labels[s + k]);
  }
  for (; s < n; ++s) {
    const auto y1 = net.template forward<Be>(std::span<const float, in>(inputs.data() + s * in, in));
    correct += argmax(y1.data(), out) == static_cast<std::size_t>(labels[s]);
  }
  return n ? static_cast<double>(correct) / static_cast<double>(n) : 0.0;
}

CTNN_END_NAMESPACE
