#pragma once
/**
 * @file config.hpp
 * @brief Version, the versioned inline namespace and the feature macros of ctnn.
 */

#if defined(__cplusplus) && __cplusplus < 202002L && !defined(_MSC_VER)
#error "ctnn needs C++20: compile with -std=c++20 (CMake: link ctnn::ctnn, which asks for cxx_std_20)"
#include <ctnn/stop_here_c++20_is_required>  // a missing header is fatal: no cascade of errors below
#endif

#define CTNN_VERSION_MAJOR 0
#define CTNN_VERSION_MINOR 1
#define CTNN_VERSION_PATCH 0

/// Opens the public namespace with its ABI version: `ctnn::v0`.
#define CTNN_BEGIN_NAMESPACE \
  namespace ctnn {           \
  inline namespace v0 {
#define CTNN_END_NAMESPACE \
  }                        \
  }

#if defined(__CUDACC__)
#define CTNN_HOST_DEVICE __host__ __device__
#else
#define CTNN_HOST_DEVICE
#endif

#if defined(__cpp_exceptions) || defined(__EXCEPTIONS)
#define CTNN_HAS_EXCEPTIONS 1
#else
#define CTNN_HAS_EXCEPTIONS 0
#endif

#ifndef CTNN_HAS_CUDA
#define CTNN_HAS_CUDA 0
#endif
