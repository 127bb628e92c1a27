#pragma once
/**
 * @file backend_concepts.hpp
 * @brief What a backend tag is.
 */
#include <concepts>

#include "tags.hpp"

CTNN_BEGIN_NAMESPACE

/// A backend tag: an empty type that is, or falls back to, the scalar reference.
template <class B>
concept Backend = std::is_empty_v<B> && std::derived_from<B, backend::scalar>;

CTNN_END_NAMESPACE
