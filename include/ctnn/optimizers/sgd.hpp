#pragma once
/**
 * @file sgd.hpp
 * @brief `ctnn::optim::SGD` with optional momentum, Nesterov momentum and weight decay.
 */
#include <cstddef>

#include "rule_optimizer.hpp"

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
 * v ← μ v + g'; p ← p - lr · (nesterov ? g' + μ v : v). With μ = 0 it is plain SGD and
 * the velocity is neither read nor written.
 */
class SGD : public RuleOptimizer<SGD, SGDOptions, 1> {
 public:
  using RuleOptimizer::RuleOptimizer;

  struct Rule {
    float lr, mu, wd;
    bool nesterov;
    template <class T>
    CTNN_HOST_DEVICE void operator()(T& p, T g, T& v, T&) const noexcept {
      if (mu == 0.0f) {
        p -= T(lr) * (g + T(wd) * p);
        return;
      }
      g += T(wd) * p;
      v = T(mu) * v + g;
      p -= T(lr) * (nesterov ? g + T(mu) * v : v);
    }
  };
  static Rule rule(const Options& o, std::size_t) noexcept { return {o.lr, o.momentum, o.weight_decay, o.nesterov}; }
  static unsigned active_states(const Options& o) noexcept { return o.momentum == 0.0f ? 0u : 1u; }
};

}  // namespace optim
CTNN_END_NAMESPACE
