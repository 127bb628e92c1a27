#pragma once
/**
 * @file raise.hpp
 * @brief Reports a run-time error: throws ctnn::Error, or prints and aborts where
 * exceptions are disabled (training and IO code still compile with -fno-exceptions).
 */
#include <cstdio>
#include <cstdlib>
#include <string>

#include "../core/error.hpp"

CTNN_BEGIN_NAMESPACE
namespace detail {

[[noreturn]] inline void raise(const std::string& message) {
#if CTNN_HAS_EXCEPTIONS
  throw Error(message);
#else
  std::fprintf(stderr, "ctnn error: %s\n", message.c_str());
  std::abort();
#endif
}

}  // namespace detail
CTNN_END_NAMESPACE
