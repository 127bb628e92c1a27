#pragma once
/**
 * @file evaluate.hpp
 * @brief Inference and evaluation over a run-time number of samples: `predict`, `evaluate`,
 * `accuracy`. Batches of B go through the batched kernels; the tail goes sample by sample.
 */
#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "../detail/raise.hpp"
#include "../losses/loss_concepts.hpp"
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

/**
 * @brief Outputs for `inputs.size() / input_size` samples (any number, 0 included) into
 * `outputs`, through the caller's workspace: batches of B, then the tail one by one.
 * Allocates nothing.
 * @throws ctnn::Error if the sizes are not whole samples or disagree.
 */
template <std::size_t B, Backend Be = default_backend, class NetT>
void predict(const NetT& net, Workspace<NetT, Batch<B>>& ws, std::span<const float> inputs, std::span<float> outputs) {
  constexpr std::size_t in = NetT::input_size, out = NetT::output_size;
  if (inputs.size() % in != 0)
    detail::raise("ctnn::predict: " + std::to_string(inputs.size()) + " input values are not a whole number of samples of " +
                  std::to_string(in));
  const std::size_t n = inputs.size() / in;
  if (outputs.size() != n * out)
    detail::raise("ctnn::predict: " + std::to_string(n) + " samples need " + std::to_string(n * out) +
                  " output values, got " + std::to_string(outputs.size()));
  std::size_t s = 0;
  for (; s + B <= n; s += B)
    net.template forward<B, Be>(ws, std::span<const float, B * in>(inputs.data() + s * in, B * in),
                                std::span<float, B * out>(outputs.data() + s * out, B * out));
  for (; s < n; ++s)
    net.template forward<Be>(std::span<const float, in>(inputs.data() + s * in, in),
                             std::span<float, out>(outputs.data() + s * out, out));
}

/// `predict` with a workspace of its own for batches of B (one allocation per call).
template <std::size_t B = 64, Backend Be = default_backend, class NetT>
void predict(const NetT& net, std::span<const float> inputs, std::span<float> outputs) {
  auto ws = std::make_unique<Workspace<NetT, Batch<B>>>();
  predict<B, Be>(net, *ws, inputs, outputs);
}

/// What `evaluate` measures.
struct Evaluation {
  double loss = 0;  ///< the loss's mean over the samples
  double accuracy = std::numeric_limits<double>::quiet_NaN();  ///< classification only (labels as targets)
  std::size_t count = 0;                                        ///< samples evaluated
};

/**
 * @brief The mean loss of `net` over a data set and, when the targets are labels, the
 * accuracy. `targets` holds what the loss takes per sample (a label, or output_size values).
 * @throws ctnn::Error if the sizes disagree or a label is out of range.
 */
template <std::size_t B = 64, Backend Be = default_backend, class NetT, Loss L, class Target>
Evaluation evaluate(const NetT& net, L, std::span<const float> inputs, std::span<const Target> targets) {
  static_assert(L::template accepts_target<Target>, "ctnn::evaluate: this loss does not take these targets");
  constexpr std::size_t in = NetT::input_size, out = NetT::output_size;
  constexpr std::size_t per = L::template targets_per_sample<out>;
  const std::size_t n = targets.size() / per;
  if (targets.size() % per != 0 || inputs.size() != n * in)
    detail::raise("ctnn::evaluate: " + std::to_string(targets.size()) + " targets (" + std::to_string(per) +
                  " a sample) and " + std::to_string(inputs.size()) + " input values (" + std::to_string(in) +
                  " a sample) disagree");
  Evaluation e;
  e.count = n;
  if (n == 0) return e;
  std::vector<float> y(n * out);
  predict<B, Be>(net, inputs, y);
  double total = 0;
  std::size_t correct = 0;
  for (std::size_t s = 0; s < n; ++s) {
    if constexpr (std::is_integral_v<Target>)
      if (!L::template valid_targets<out, 1>(targets.data() + s))
        detail::raise("ctnn::evaluate: label " + std::to_string(s) + " (" + std::to_string(targets[s]) +
                      ") is outside [0, " + std::to_string(out) + ")");
    total += L::template value_and_gradient<out, 1>(y.data() + s * out, targets.data() + s * per, static_cast<float*>(nullptr));
    if constexpr (std::is_integral_v<Target>)
      correct += argmax(y.data() + s * out, out) == static_cast<std::size_t>(targets[s]);
  }
  e.loss = total / static_cast<double>(n);
  if constexpr (std::is_integral_v<Target>) e.accuracy = static_cast<double>(correct) / static_cast<double>(n);
  return e;
}

CTNN_END_NAMESPACE
