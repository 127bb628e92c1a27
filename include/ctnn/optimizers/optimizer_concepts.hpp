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
/// Sets an optimizer's own step count (Adam's bias correction), where it keeps one.
template <class O>
void restore_optimizer_steps(O& o, std::size_t n) noexcept {
  if constexpr (requires { o.restore_steps(n); }) o.restore_steps(n);
}
}  // namespace detail

CTNN_END_NAMESPACE
