#pragma once
/**
 * @file batch.hpp
 * @brief `ctnn::Batch<B>`: a compile-time batch size.
 */
#include <cstddef>

#include "../config.hpp"

CTNN_BEGIN_NAMESPACE

/// A batch of B samples, known at compile time; sizes workspaces and trainers.
template <std::size_t B>
struct Batch {
  static_assert(B >= 1, "ctnn::Batch<0>: a batch holds at least one sample; write Batch<1> or more");
  static constexpr std::size_t size = B;
};

namespace detail {
template <class T>
inline constexpr bool is_batch_v = false;
template <std::size_t B>
inline constexpr bool is_batch_v<Batch<B>> = true;
}  // namespace detail

/// Satisfied by `ctnn::Batch<B>` only.
template <class T>
concept BatchType = detail::is_batch_v<T>;

CTNN_END_NAMESPACE
