#pragma once
/**
 * @file config.hpp
 * @brief Version, the versioned inline namespace and the feature macros of ctnn.
 */

#if defined(__cplusplus) && __cplusplus < 202002L && !defined(_MSC_VER)
#error "ctnn needs C++20: compile with -std=c++20 (CMake: link ctnn::ctnn, which asks for cxx_std_20)"
#include <ctnn/stop_here_c++20_is_required>  // a missing header is fatal: no cascade of errors below
#endif

#include <version>  // the standard library's feature macros (_GLIBCXX_HAS_GTHREADS)

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

/// 1 when this target has a SIMD instruction set ctnn's vector backend (xsimd) can use: SSE2
/// or later on x86, NEON on ARM. 0 elsewhere (e.g. a Cortex-M microcontroller): then xsimd is
/// not included, every network runs the scalar backend, and the vector kernels are left out.
/// Define it to 0 to build without xsimd on any target. It is 0 in nvcc's device pass
/// (`__CUDA_ARCH__`), which compiles device code only: host vector types cannot appear in
/// the device instances of the `CTNN_HOST_DEVICE` templates (activations, optimizer rules).
#ifndef CTNN_SIMD
#if defined(__CUDA_ARCH__)
#define CTNN_SIMD 0
#elif defined(__SSE2__) || defined(_M_X64) || defined(__ARM_NEON)
#define CTNN_SIMD 1
#else
#define CTNN_SIMD 0
#endif
#endif

/// 1 when the standard library has threads (std::thread, std::mutex): everything but the
/// threaded data loader and the parallel executors works without them.
#ifndef CTNN_HAS_THREADS
#if defined(__GLIBCXX__) && !defined(_GLIBCXX_HAS_GTHREADS)
#define CTNN_HAS_THREADS 0
#else
#define CTNN_HAS_THREADS 1
#endif
#endif
