#pragma once
/**
 * @file sgd.hpp
 * @brief `ctnn::optim::SGD` with optional momentum, Nesterov momentum and weight decay.
 */
#include <cstddef>
#include <span>
#include <type_traits>

#include "optimizer_concepts.hpp"
#include "vectorized.hpp"

CTNN_BEGIN_NAMESPACE
namespace optim {

/// Options of optim::SGD (outside the class so `{}` works as a default argument).
struct SGDOptions {
  float lr = 0.01f;           ///< learning rate
  float momentum = 0.0f;      ///< μ in [0, 1)
  bool nesterov = false;      ///< Nesterov momentum (needs momentum > 0)
  float weight_decay = 0.0f;  ///< L2 penalty added to the gradient
};

/**
 * @brief Stochastic gradient descent. With g' = g + wd·p and velocity v:
 * v ← μ v + g'; p ← p - lr · (nesterov ? g' + μ v : v). With μ = 0 it is plain SGD.
 */
class SGD {
 public:
  using Options = SGDOptions;
  static constexpr std::size_t state_blocks = 1;  ///< the velocity

  explicit SGD(Options o = {}) noexcept : opt_(o) {}

  /// One step's rule, for kernels that apply it to each gradient vector as they produce it
  /// (counts the step, like `update`, which is this rule over the block):
  /// rule(p, g, s0, s1) on floats or SIMD vectors updates p and the velocity s0, which is
  /// read and written only when `states` is 1 (momentum > 0).
  auto step_rule() noexcept {
    const float lr = opt_.lr, mu = opt_.momentum, wd = opt_.weight_decay;
    const bool nesterov = opt_.nesterov;
    ++steps_;
    auto rule = [=](auto& pk, auto gk, auto& v, auto&) {
      using T = std::remove_cvref_t<decltype(gk)>;
      if (mu == 0.0f) {
        pk -= T(lr) * (gk + T(wd) * pk);
        return;
      }
      gk += T(wd) * pk;
      v = T(mu) * v + gk;
      pk -= T(lr) * (nesterov ? gk + T(mu) * v : v);
    };
    return ctnn::detail::StepRule<decltype(rule)>{rule, mu == 0.0f ? 0u : 1u};
  }

  /// One update; `state` is the velocity block, zero at the start.
  void update(std::span<float> p, std::span<const float> g, std::span<float> state) noexcept {
    const auto step = step_rule();
    if (step.states == 0)
      ctnn::detail::update_lanes<0>(p.size(), p.data(), g.data(), nullptr, nullptr, step.rule);
    else
      ctnn::detail::update_lanes<1>(p.size(), p.data(), g.data(), state.data(), nullptr, step.rule);
  }

  Options& options() noexcept { return opt_; }
  std::size_t steps() const noexcept { return steps_; }
  /// Sets the step count (resuming from a checkpoint).
  void restore_steps(std::size_t n) noexcept { steps_ = n; }

 private:
  Options opt_;
  std::size_t steps_ = 0;
};

}  // namespace optim
CTNN_END_NAMESPACE
