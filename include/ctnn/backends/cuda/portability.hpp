#pragma once
/**
 * @file portability.hpp
 * @brief Lets the kernels of fused_mlp.cuh compile two ways: as CUDA (nvcc), and as plain
 * C++ for `tests/cuda_emulator.hpp`, which runs each thread block on 256 std::threads with a
 * barrier for `__syncthreads` — so the kernels' indexing, tiling, padding and reductions
 * are checked against the CPU reference on machines without a GPU.
 */
#include <cmath>

#include "../../config.hpp"

#if defined(__CUDACC__)
#define CTNN_GLOBAL __global__
#define CTNN_DEVICE __device__ __forceinline__
#define CTNN_LAUNCH_BOUNDS(n) __launch_bounds__(n)
#define CTNN_SYNC() __syncthreads()
#define CTNN_SHARED __shared__

CTNN_BEGIN_NAMESPACE
namespace cuda::kernels {
/// The block's dynamic shared memory.
__device__ __forceinline__ float* dynamic_smem() {
  extern __shared__ float ctnn_dynamic_smem[];
  return ctnn_dynamic_smem;
}
__device__ __forceinline__ bool finite(float v) { return isfinite(v); }
}  // namespace cuda::kernels
CTNN_END_NAMESPACE

#else  // host emulation: see tests/cuda_emulator.hpp
#include <atomic>
#include <barrier>

#define CTNN_GLOBAL inline
#define CTNN_DEVICE inline
#define CTNN_LAUNCH_BOUNDS(n)
#define CTNN_SYNC() ::ctnn::cuda::kernels::emu_sync()
#define CTNN_SHARED static  // blocks run one at a time, so one static array is the block's

CTNN_BEGIN_NAMESPACE
namespace cuda::kernels {
struct EmuIndex {
  unsigned x = 0, y = 0, z = 0;
};
inline thread_local EmuIndex threadIdx, blockIdx, blockDim, gridDim;
inline thread_local float* emu_smem = nullptr;
inline thread_local std::barrier<>* emu_barrier = nullptr;
inline float* dynamic_smem() { return emu_smem; }
inline void emu_sync() { emu_barrier->arrive_and_wait(); }
inline bool finite(float v) { return std::isfinite(v); }
inline unsigned atomicOr(unsigned* p, unsigned v) { return std::atomic_ref<unsigned>(*p).fetch_or(v); }
inline float expf(float v) { return std::exp(v); }
inline float logf(float v) { return std::log(v); }
inline float sqrtf(float v) { return std::sqrt(v); }
inline float tanhf(float v) { return std::tanh(v); }
inline float fmaf(float a, float b, float c) { return std::fma(a, b, c); }
inline float fmaxf(float a, float b) { return std::fmax(a, b); }
}  // namespace cuda::kernels
CTNN_END_NAMESPACE
#endif
