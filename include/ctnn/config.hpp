#pragma once
/**
 * @file config.hpp
 * @brief Version, the versioned inline namespace and the feature macros of ctnn.
 */

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
