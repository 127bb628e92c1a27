#pragma once
/**
 * @file optimizer_concepts.hpp
 * @brief The optimizer protocol: one loop over the flat parameter block.
 */
#include <concepts>
#include <cstddef>
#include <span>

#include "../config.hpp"

CTNN_BEGIN_NAMESPACE

/**
 * @brief An optimizer is built from its `Options`, keeps `state_blocks` blocks of
 * per-parameter state (owned by the trainer, same layout as the parameters), and
 * updates parameters from gradients in one pass.
 */
template <class O>
concept Optimizer = requires(O o, std::span<float> p, std::span<const float> g, std::span<float> st) {
  typename O::Options;
  { O::state_blocks } -> std::convertible_to<std::size_t>;
  o.update(p, g, st);
} && std::constructible_from<O, typename O::Options>;

namespace detail {
/**
 * @brief Every option name of ctnn's optimizers, in an order consistent with each one's own.
 * A designated initializer naming an option the trainer's optimizer lacks does not fit its
 * `Options` but lands here, where one static_assert says so (`reject_options`).
 */
struct AnyOptimizerOptions {
  float lr = 0;
  float momentum = 0;
  bool nesterov = false;
  float beta1 = 0;
  float beta2 = 0;
  float eps = 0;
  float weight_decay = 0;
};
/// Always false; the note names the optimizer whose options were given wrongly.
template <class O, class Unused>
struct option_not_of {
  static constexpr bool ok = false;
};
template <class O, class Unused>
constexpr void reject_options() noexcept {
  static_assert(option_not_of<O, Unused>::ok,
                "ctnn: an option this optimizer does not have, or options out of their declared order (the note "
                "names the optimizer): optim::SGD takes {.lr, .momentum, .nesterov, .weight_decay}; optim::Adam "
                "and optim::AdamW take {.lr, .beta1, .beta2, .eps, .weight_decay}");
}

/// Sets an optimizer's own step count (Adam's bias correction), where it keeps one.
template <class O>
void restore_optimizer_steps(O& o, std::size_t n) noexcept {
  if constexpr (requires { o.restore_steps(n); }) o.restore_steps(n);
}
}  // namespace detail

CTNN_END_NAMESPACE
