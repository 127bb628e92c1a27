#pragma once
/**
 * @file local_trainer.hpp
 * @brief `ctnn::LocalTrainer`: what a trainer on one process offers to a wrapper that
 * trains across processes (`mpi::Distributed`): a step split in two around the exchange of
 * gradients. `Trainer`, `DataParallel` and `PipelineTrainer` satisfy it, so MPI runs over
 * any of them (MPI × threads, MPI × pipeline).
 */
#include <concepts>
#include <cstddef>
#include <span>
#include <type_traits>

#include "../config.hpp"

CTNN_BEGIN_NAMESPACE
namespace detail {
/// The element type of one target of loss L: an integer label where it takes one, else float.
template <class L>
using probe_target_t = std::conditional_t<L::template accepts_target<int>, int, float>;
}  // namespace detail

/**
 * @brief A trainer whose step is `compute_gradients(inputs, targets)` (forward, loss and
 * backward, nothing updated and no NaN check: the loss is returned), then the caller's work
 * on `gradient_block()` (the gradients in the parameters' layout, writable: reduce them
 * across processes), then `apply_gradients(loss)` (the NaN/Inf check and the optimizer
 * update, which leaves everything unchanged when the loss or a gradient is not finite).
 * It names its network, loss and optimizer (`net_type`, `loss_type`, `optimizer_type`)
 * and its `batch` (samples per step).
 */
template <class T>
concept LocalTrainer =
    requires(T t, std::span<const float> x, std::span<const detail::probe_target_t<typename T::loss_type>> y, float loss) {
      typename T::net_type;
      typename T::optimizer_type;
      { T::batch } -> std::convertible_to<std::size_t>;
      { t.compute_gradients(x, y) } -> std::same_as<float>;
      { t.gradient_block() } -> std::same_as<std::span<float>>;
      t.apply_gradients(loss);
    };

CTNN_END_NAMESPACE
