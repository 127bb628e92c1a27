#pragma once
/**
 * @file lion.hpp
 * @brief `ctnn::optim::Lion` (Chen et al., 2023, "Symbolic Discovery of Optimization
 * Algorithms"): the sign of an interpolated momentum, one state block.
 */
#include <cstddef>

#include "../core/math.hpp"
#include "rule_optimizer.hpp"

CTNN_BEGIN_NAMESPACE
namespace optim {

/// Options of optim::Lion (outside the class so `{}` works as a default argument).
struct LionOptions {
  float lr = 1e-4f;           ///< learning rate (typically 3–10× smaller than Adam's)
  float beta1 = 0.9f;         ///< interpolation of momentum and gradient for the update
  float beta2 = 0.99f;        ///< momentum decay
  float weight_decay = 0.0f;  ///< decoupled, as AdamW's
};

/**
 * @brief Lion. With momentum m: u = sign(β1 m + (1 − β1) g); p ← p − lr·(u + wd·p);
 * m ← β2 m + (1 − β2) g. Every update has the same magnitude per parameter.
 */
class Lion : public RuleOptimizer<Lion, LionOptions, 1> {
 public:
  using RuleOptimizer::RuleOptimizer;

  struct Rule {
    float lr, b1, b2, wd;
    template <class T>
    CTNN_HOST_DEVICE void operator()(T& p, T g, T& m, T&) const noexcept {
      const T u = math::sign(T(b1) * m + T(1.0f - b1) * g);
      p -= T(lr) * (u + T(wd) * p);
      m = T(b2) * m + T(1.0f - b2) * g;
    }
  };
  static Rule rule(const Options& o, std::size_t) noexcept { return {o.lr, o.beta1, o.beta2, o.weight_decay}; }
};

}  // namespace optim
CTNN_END_NAMESPACE
