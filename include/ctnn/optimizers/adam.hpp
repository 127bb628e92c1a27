#pragma once
/**
 * @file adam.hpp
 * @brief `ctnn::optim::Adam` (L2 weight decay in the gradient) and `ctnn::optim::AdamW`
 * (decoupled weight decay).
 */
#include <cmath>
#include <cstddef>

#include "../core/math.hpp"
#include "rule_optimizer.hpp"

CTNN_BEGIN_NAMESPACE
namespace optim {
namespace detail {

/// Options of Adam / AdamW (outside the class so `{}` works as a default argument).
template <bool Decoupled>
struct AdamOptions {
  float lr = 1e-3f;                                ///< learning rate
  float beta1 = 0.9f;                              ///< first-moment decay
  float beta2 = 0.999f;                            ///< second-moment decay
  float eps = 1e-8f;                               ///< denominator guard
  float weight_decay = Decoupled ? 1e-2f : 0.0f;  ///< decoupled (AdamW) or L2 (Adam)
};

/**
 * @brief Kingma & Ba with bias correction. At step t:
 * m ← β1 m + (1-β1) g; v ← β2 v + (1-β2) g²; p ← p - lr · m̂ / (√v̂ + ε),
 * m̂ = m / (1-β1ᵗ), v̂ = v / (1-β2ᵗ). Decoupled: p ← p (1 - lr·wd) first, else g += wd·p.
 */
template <bool Decoupled>
class AdamImpl : public RuleOptimizer<AdamImpl<Decoupled>, AdamOptions<Decoupled>, 2> {
 public:
  using Options = AdamOptions<Decoupled>;
  using RuleOptimizer<AdamImpl<Decoupled>, AdamOptions<Decoupled>, 2>::RuleOptimizer;

  struct Rule {
    float lr, b1, b2, eps, wd, c1, c2;  ///< c1, c2: the bias corrections 1/(1 − βᵗ)
    template <class T>
    CTNN_HOST_DEVICE void operator()(T& p, T g, T& m, T& v) const noexcept {
      if constexpr (Decoupled)
        p -= T(lr * wd) * p;
      else
        g += T(wd) * p;
      m = T(b1) * m + T(1.0f - b1) * g;
      v = T(b2) * v + T(1.0f - b2) * g * g;
      p -= T(lr) * (m * T(c1)) / (math::sqrt(v * T(c2)) + T(eps));
    }
  };
  static Rule rule(const Options& o, std::size_t step) noexcept {
    const double t = static_cast<double>(step);
    return {o.lr,
            o.beta1,
            o.beta2,
            o.eps,
            o.weight_decay,
            static_cast<float>(1.0 / (1.0 - std::pow(static_cast<double>(o.beta1), t))),
            static_cast<float>(1.0 / (1.0 - std::pow(static_cast<double>(o.beta2), t)))};
  }
};

}  // namespace detail

/// Adam; `weight_decay` (default 0) is an L2 term added to the gradient.
using Adam = detail::AdamImpl<false>;
/// AdamW (Loshchilov & Hutter): weight decay (default 0.01) applied to the weights directly.
using AdamW = detail::AdamImpl<true>;

}  // namespace optim
CTNN_END_NAMESPACE
