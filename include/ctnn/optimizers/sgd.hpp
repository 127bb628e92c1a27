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

  /// One update; `state` is the velocity block, zero at the start.
  void update(std::span<float> p, std::span<const float> g, std::span<float> state) noexcept {
    const float lr = opt_.lr, mu = opt_.momentum, wd = opt_.weight_decay;
    const bool nesterov = opt_.nesterov;
    if (mu == 0.0f) {
      ctnn::detail::update_lanes<0>(p.size(), p.data(), g.data(), nullptr, nullptr, [=](auto& pk, auto gk, auto&, auto&) {
        using T = std::remove_cvref_t<decltype(gk)>;
        pk -= T(lr) * (gk + T(wd) * pk);
      });
    } else {
      ctnn::detail::update_lanes<1>(p.size(), p.data(), g.data(), state.data(), nullptr,
                                 [=](auto& pk, auto gk, auto& v, auto&) {
                                   using T = std::remove_cvref_t<decltype(gk)>;
                                   gk += T(wd) * pk;
                                   v = T(mu) * v + gk;
                                   pk -= T(lr) * (nesterov ? gk + T(mu) * v : v);
                                 });
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
