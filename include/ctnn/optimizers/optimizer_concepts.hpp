#pragma once
/**
 * @file optimizer_concepts.hpp
 * @brief The optimizer protocol, and `optim::RuleOptimizer`, which turns one update rule
 * written once into an optimizer every executor runs: `Trainer`, `DataParallel`, the
 * pipeline and MPI apply it on SIMD registers, and `cuda::Trainer` in device code.
 */
#include <concepts>
#include <cstddef>
#include <span>

#include "../config.hpp"

CTNN_BEGIN_NAMESPACE
namespace detail {

/// An optimizer's rule for one step and how many state arrays it uses (0, 1 or 2):
/// `rule(p, g, s0, s1)` on a float, a SIMD register or in CUDA device code updates the
/// parameter p and the first `states` state values in place.
template <class Rule>
struct StepRule {
  Rule rule;
  unsigned states;
};

template <class R>
inline constexpr bool is_step_rule_v = false;
template <class Rule>
inline constexpr bool is_step_rule_v<StepRule<Rule>> = true;

}  // namespace detail

/**
 * @brief An optimizer is built from its `Options`, keeps `state_blocks` blocks of
 * per-parameter state (owned by the executor, same layout as the parameters), and gives
 * each step's rule (`step_rule()`, which counts the step) for the executor to apply to the
 * parameters it owns: on the whole block (`update`), on slices as gradients are produced,
 * or on the GPU. `options()` is what learning-rate schedules change; `steps()` and
 * `restore_steps(n)` carry the step count through checkpoints.
 */
template <class O>
concept Optimizer = requires(O o, const O& co, std::size_t n, std::span<float> p, std::span<const float> g,
                             std::span<float> st) {
  typename O::Options;
  { O::state_blocks } -> std::convertible_to<std::size_t>;
  requires detail::is_step_rule_v<decltype(o.step_rule())>;
  { o.options() } -> std::same_as<typename O::Options&>;
  { co.steps() } -> std::convertible_to<std::size_t>;
  o.restore_steps(n);
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
                "names the optimizer; its Options struct lists its options in order, e.g. optim::SGDOptions {.lr, "
                ".momentum, .nesterov, .weight_decay}, Adam's {.lr, .beta1, .beta2, .eps, .weight_decay}");
}
}  // namespace detail

CTNN_END_NAMESPACE
