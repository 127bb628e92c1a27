#pragma once
/**
 * @file sgd.hpp
 * @brief `ctnn::optim::SGD` with optional momentum, Nesterov momentum and weight decay.
 */
#include <cstddef>
#include <span>

#include "optimizer_concepts.hpp"

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

  /// One update; `state` is the velocity block, zero at the start.
  void update(std::span<float> p, std::span<const float> g, std::span<float> state) noexcept {
    const float lr = opt_.lr, mu = opt_.momentum, wd = opt_.weight_decay;
    float* v = state.data();
    for (std::size_t k = 0; k < p.size(); ++k) {
      const float gk = g[k] + wd * p[k];
      if (mu == 0.0f) {
        p[k] -= lr * gk;
        continue;
      }
      v[k] = mu * v[k] + gk;
      p[k] -= lr * (opt_.nesterov ? gk + mu * v[k] : v[k]);
    }
    ++steps_;
  }

  Options& options() noexcept { return opt_; }
  std::size_t steps() const noexcept { return steps_; }

 private:
  Options opt_;
  std::size_t steps_ = 0;
};

}  // namespace optim
CTNN_END_NAMESPACE
