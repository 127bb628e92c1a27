#pragma once
/**
 * @file cost_model.hpp
 * @brief Compile-time cost of every layer per micro-batch: FLOPs forward and backward,
 * parameter and optimizer-state bytes, and the bytes crossing a cut after it.
 *
 * Every layer gets a cost from what the `Layer` protocol already states (`flops`,
 * `param_count`, `output_shape`): backward is twice the forward for a trainable layer
 * (input and weight gradients) and once otherwise. A layer — a user's own included —
 * that knows better declares `template <std::size_t b> static constexpr LayerCost cost()`
 * (concept `HasCostModel`).
 */
#include <array>
#include <cstddef>
#include <cstdint>
#include <utility>

#include "../layers/layer_concepts.hpp"

CTNN_BEGIN_NAMESPACE

/// Cost of one layer for a micro-batch.
struct LayerCost {
  std::uint64_t forward_flops = 0;   ///< forward FLOPs
  std::uint64_t backward_flops = 0;  ///< backward FLOPs (input and parameter gradients)
  std::uint64_t param_bytes = 0;     ///< parameters
  std::uint64_t output_bytes = 0;    ///< activations sent forward over a cut after this layer;
                                     ///< the same number of gradient bytes come back
  std::uint64_t stored_bytes = 0;    ///< activations kept for backward (its output)
  friend constexpr bool operator==(const LayerCost&, const LayerCost&) = default;
};

/// A layer that states its own cost.
template <class L>
concept HasCostModel = requires {
  { L::template cost<1>() } -> std::same_as<LayerCost>;
};

/// The cost of bound layer L at micro-batch b.
template <class L, std::size_t b>
constexpr LayerCost layer_cost() noexcept {
  if constexpr (HasCostModel<L>) {
    return L::template cost<b>();
  } else {
    const std::uint64_t fwd = std::uint64_t{L::flops} * b;
    const std::uint64_t out = std::uint64_t{L::output_shape::size} * b * sizeof(float);
    return LayerCost{fwd, L::trainable ? 2 * fwd : fwd, std::uint64_t{L::param_count} * sizeof(float), out, out};
  }
}

/// Per-layer costs of a network at micro-batch b. The first layer's input gradient is
/// never computed, so (with the default model) its backward costs one product, not two.
template <class NetT, std::size_t b>
constexpr std::array<LayerCost, NetT::layer_count> network_costs() noexcept {
  auto costs = [&]<std::size_t... I>(std::index_sequence<I...>) {
    return std::array<LayerCost, NetT::layer_count>{layer_cost<typename NetT::template layer<I>, b>()...};
  }(std::make_index_sequence<NetT::layer_count>{});
  using First = typename NetT::template layer<0>;
  if constexpr (!HasCostModel<First>) costs[0].backward_flops = First::trainable ? costs[0].forward_flops : 0;
  return costs;
}

/// Optimizer-state bytes for `blocks` state vectors per parameter (SGD with momentum: 1, Adam: 2).
constexpr std::uint64_t optimizer_state_bytes(const LayerCost& c, std::size_t blocks) noexcept {
  return c.param_bytes * blocks;
}

CTNN_END_NAMESPACE
