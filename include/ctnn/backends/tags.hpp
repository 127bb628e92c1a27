#pragma once
/**
 * @file tags.hpp
 * @brief Backend tags. A backend is a template argument; kernels overload on the tag and
 * a more specialised backend inherits from the one it falls back to.
 */
#include "../config.hpp"

CTNN_BEGIN_NAMESPACE
namespace backend {

/// Plain loops: the reference every fast path is tested against. Always available.
struct scalar {};

}  // namespace backend

/// The backend a network uses when none is named.
using default_backend = backend::scalar;

CTNN_END_NAMESPACE
