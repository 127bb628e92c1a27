#pragma once
/**
 * @file adam.hpp
 * @brief `ctnn::optim::Adam` (L2 weight decay in the gradient) and `ctnn::optim::AdamW`
 * (decoupled weight decay).
 */
#include <cmath>
#include <cstddef>
#include <span>
#include <type_traits>

#include "optimizer_concepts.hpp"
#include "vectorized.hpp"

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
class AdamImpl {
 public:
  using Options = AdamOptions<Decoupled>;
  static constexpr std::size_t state_blocks = 2;  ///< first and second moments

  explicit AdamImpl(Options o = {}) noexcept : opt_(o) {}

  /// One step's rule, for kernels that apply it to each gradient vector as they produce it
  /// (counts the step, like `update`, which is this rule over the block):
  /// rule(p, g, m, v) on floats or SIMD vectors.
  auto step_rule() noexcept {
    ++steps_;
    const float b1 = opt_.beta1, b2 = opt_.beta2, lr = opt_.lr, eps = opt_.eps, wd = opt_.weight_decay;
    const double t = static_cast<double>(steps_);
    const float c1 = static_cast<float>(1.0 / (1.0 - std::pow(static_cast<double>(b1), t)));
    const float c2 = static_cast<float>(1.0 / (1.0 - std::pow(static_cast<double>(b2), t)));
    auto rule = [=](auto& pk, auto gk, auto& m, auto& v) {
      using std::sqrt;  // xsimd::sqrt by argument-dependent lookup
      using T = std::remove_cvref_t<decltype(gk)>;
      if constexpr (Decoupled)
        pk -= T(lr * wd) * pk;
      else
        gk += T(wd) * pk;
      m = T(b1) * m + T(1.0f - b1) * gk;
      v = T(b2) * v + T(1.0f - b2) * gk * gk;
      pk -= T(lr) * (m * T(c1)) / (sqrt(v * T(c2)) + T(eps));
    };
    return ctnn::detail::StepRule<decltype(rule)>{rule, 2};
  }

  /// One update; `state` holds m then v, each the size of p, zero at the start.
  void update(std::span<float> p, std::span<const float> g, std::span<float> state) noexcept {
    ctnn::detail::update_lanes<2>(p.size(), p.data(), g.data(), state.data(), state.data() + p.size(), step_rule().rule);
  }

  Options& options() noexcept { return opt_; }
  std::size_t steps() const noexcept { return steps_; }
  /// Sets the step count (resuming from a checkpoint).
  void restore_steps(std::size_t n) noexcept { steps_ = n; }

 private:
  Options opt_;
  std::size_t steps_ = 0;
};

}  // namespace detail

/// Adam; `weight_decay` (default 0) is an L2 term added to the gradient.
using Adam = detail::AdamImpl<false>;
/// AdamW (Loshchilov & Hutter): weight decay (default 0.01) applied to the weights directly.
using AdamW = detail::AdamImpl<true>;

}  // namespace optim
CTNN_END_NAMESPACE
