#pragma once
/**
 * @file rule_optimizer.hpp
 * @brief `optim::RuleOptimizer`: an optimizer from its options and one update rule.
 *
 * ```cpp
 * struct MyOptions { float lr = 0.01f; };
 * struct My : optim::RuleOptimizer<My, MyOptions, 1> {
 *   using RuleOptimizer::RuleOptimizer;
 *   struct Rule {
 *     float lr;
 *     template <class T>  // float, a SIMD register, CUDA device code
 *     CTNN_HOST_DEVICE void operator()(T& p, T g, T& s0, T& s1) const noexcept { ... }
 *   };
 *   static Rule rule(const MyOptions& o, std::size_t step) noexcept { return {o.lr}; }
 * };
 * ```
 * The derived class states its `Options`, its number of state blocks and `rule(options,
 * t)` for step t (1-based); the base keeps the options and the step count and provides
 * the rest of `Optimizer`. The rule is written in `ctnn::math`, so the SIMD update loop,
 * the executors that apply it slice by slice, and the CUDA update kernel all run this
 * one definition. A rule whose state is used only for some options (SGD without
 * momentum) declares `static unsigned active_states(const Options&)`.
 */
#include <cstddef>
#include <span>

#include "optimizer_concepts.hpp"
#include "vectorized.hpp"

CTNN_BEGIN_NAMESPACE
namespace optim {

template <class Derived, class OptionsT, std::size_t StateBlocks>
class RuleOptimizer {
 public:
  static_assert(StateBlocks <= 2, "ctnn::optim::RuleOptimizer: at most two state blocks");
  using Options = OptionsT;
  static constexpr std::size_t state_blocks = StateBlocks;

  explicit RuleOptimizer(Options o = {}) noexcept : opt_(o) {}

  /// Counts a step and returns its rule, for executors that apply it themselves.
  auto step_rule() noexcept {
    ++steps_;
    unsigned states = StateBlocks;
    if constexpr (requires { Derived::active_states(opt_); }) states = Derived::active_states(opt_);
    return ctnn::detail::StepRule<decltype(Derived::rule(opt_, steps_))>{Derived::rule(opt_, steps_), states};
  }

  /// One step over the whole block: `state` holds the state blocks one after the other,
  /// each the size of p, zero at the start.
  void update(std::span<float> p, std::span<const float> g, std::span<float> state) noexcept {
    const auto step = step_rule();
    using ctnn::detail::update_lanes;
    if (step.states == 0) return update_lanes<0>(p.size(), p.data(), g.data(), nullptr, nullptr, step.rule);
    if constexpr (StateBlocks == 1) update_lanes<1>(p.size(), p.data(), g.data(), state.data(), nullptr, step.rule);
    if constexpr (StateBlocks == 2)
      update_lanes<2>(p.size(), p.data(), g.data(), state.data(), state.data() + p.size(), step.rule);
  }

  Options& options() noexcept { return opt_; }
  const Options& options() const noexcept { return opt_; }
  std::size_t steps() const noexcept { return steps_; }
  /// Sets the step count (resuming from a checkpoint).
  void restore_steps(std::size_t n) noexcept { steps_ = n; }

 private:
  Options opt_;
  std::size_t steps_ = 0;
};

}  // namespace optim
CTNN_END_NAMESPACE
