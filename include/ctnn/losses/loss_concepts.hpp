#pragma once
/**
 * @file loss_concepts.hpp
 * @brief The loss protocol.
 */
#include <concepts>
#include <cstddef>
#include <span>
#include <string>
#include <type_traits>

#include "../config.hpp"
#include "../detail/raise.hpp"

CTNN_BEGIN_NAMESPACE

/**
 * @brief A loss: `value_and_gradient<N, B>(out, targets, dout)` returns the batch-mean loss
 * and, when dout is not null, writes its gradient with respect to the outputs.
 * `accepts_target<T>` says which target element type it takes (labels or values), and
 * `targets_per_sample<N>` how many per sample.
 */
template <class L>
concept Loss = requires {
  { L::template accepts_target<float> } -> std::convertible_to<bool>;
  { L::template targets_per_sample<1> } -> std::convertible_to<std::size_t>;
};

namespace detail {
/// Whether loss L takes targets of type Target; a failed check's note names both, e.g.
/// "`ctnn::detail::target_type_check<ctnn::loss::MSE, int>::ok` evaluates to false".
template <class L, class Target>
struct target_type_check {
  static constexpr bool ok = L::template accepts_target<Target>;
};
/// One readable error for targets of the wrong type, whoever takes them.
template <class L, class Target>
constexpr void check_target_type() noexcept {
  static_assert(target_type_check<L, Target>::ok,
                "ctnn: the targets' element type is not one this loss takes (the note names both): "
                "loss::SoftmaxCrossEntropy takes integer class labels, one per sample; loss::MSE takes float "
                "values, output_size per sample");
}

/// Raises `ctnn::Error` ("<who>: ...") unless a batch holds B samples of In inputs and
/// their targets for loss L, with every label in [0, Out).
template <class L, std::size_t In, std::size_t Out, std::size_t B, class Tt>
void check_batch(const char* who, std::size_t inputs, std::span<const Tt> targets, std::size_t step) {
  constexpr std::size_t targets_per_batch = B * L::template targets_per_sample<Out>;
  if (inputs != B * In)
    raise(std::string(who) + ": expected " + std::to_string(B * In) + " input values, got " + std::to_string(inputs));
  if (targets.size() != targets_per_batch)
    raise(std::string(who) + ": expected " + std::to_string(targets_per_batch) + " targets, got " +
          std::to_string(targets.size()));
  if constexpr (std::is_integral_v<Tt>)
    if (!L::template valid_targets<Out, B>(targets.data()))
      raise(std::string(who) + ": a label at step " + std::to_string(step) + " is outside [0, " + std::to_string(Out) +
            ")");
}
}  // namespace detail

CTNN_END_NAMESPACE
