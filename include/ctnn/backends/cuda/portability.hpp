#pragma once
/**
 * @file portability.hpp
 * @brief Lets the kernels of fused_mlp.cuh compile two ways: as CUDA (nvcc), and as plain
 * C++ for `tests/cuda_emulator.hpp`, which runs each thread block on 256 std::threads with a
 * barrier for `__syncthreads` — so the kernels' indexing, tiling, padding and reductions
 * are checked against the CPU reference on machines without a GPU.
 *
 * For the tensor-core kernels (fused_mlp_tc.cuh) it also gives both builds the 16-bit
 * element types `half_t` and `bf16_t` with `to_float` / `from_float<T>` (round to nearest
 * even), `warp_sync()`, and the namespace `wm`: `nvcuda::wmma` under nvcc, and on the host a
 * stand-in with the same names whose fragments hold whole 16 × 16 tiles per thread (only
 * the fragment-layout-free calls exist: fill, load, store, mma).
 */
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "../../config.hpp"
#include "../../detail/finite.hpp"

#if defined(__CUDACC__)
#define CTNN_GLOBAL __global__
#define CTNN_DEVICE __device__ __forceinline__
#define CTNN_LAUNCH_BOUNDS(n) __launch_bounds__(n)
#define CTNN_SYNC() __syncthreads()
#define CTNN_SHARED __shared__
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <mma.h>

CTNN_BEGIN_NAMESPACE
namespace cuda::kernels {
/// The block's dynamic shared memory (128-byte aligned: tensor-core loads need 32).
__device__ __forceinline__ float* dynamic_smem() {
  extern __shared__ __align__(128) float ctnn_dynamic_smem[];
  return ctnn_dynamic_smem;
}
__device__ __forceinline__ bool finite(float v) { return ctnn::detail::is_finite(v); }

namespace wm = nvcuda::wmma;
using half_t = __half;
using bf16_t = __nv_bfloat16;
__host__ __device__ __forceinline__ float to_float(half_t v) { return __half2float(v); }
__host__ __device__ __forceinline__ float to_float(bf16_t v) { return __bfloat162float(v); }
template <class T>
__host__ __device__ __forceinline__ T from_float(float v) {
  if constexpr (std::is_same_v<T, half_t>)
    return __float2half_rn(v);
  else
    return __float2bfloat16_rn(v);
}
__device__ __forceinline__ void warp_sync() { __syncwarp(); }
/// v of the lane whose index is this lane's xor m (all 32 lanes take part).
__device__ __forceinline__ float shfl_xor(float v, int m) { return __shfl_xor_sync(0xffffffffu, v, m); }
using float4_t = float4;
/// Barrier of the 128 threads of group g of a block (named barrier 1 + g; 0 is __syncthreads).
__device__ __forceinline__ void group_sync(int g) { asm volatile("bar.sync %0, 128;" ::"r"(1 + g) : "memory"); }
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
inline bool finite(float v) { return ctnn::detail::is_finite(v); }
inline unsigned atomicOr(unsigned* p, unsigned v) { return std::atomic_ref<unsigned>(*p).fetch_or(v); }
inline float expf(float v) { return std::exp(v); }
inline float logf(float v) { return std::log(v); }
inline float sqrtf(float v) { return std::sqrt(v); }
inline float tanhf(float v) { return std::tanh(v); }
inline float fmaf(float a, float b, float c) { return std::fma(a, b, c); }
inline float fmaxf(float a, float b) { return std::fmax(a, b); }

// 16-bit floating-point element types, stored as their bits; converted with round to
// nearest even, as the CUDA intrinsics do.
struct half_t {
  std::uint16_t bits;
};
struct bf16_t {
  std::uint16_t bits;
};
inline float bits_to_float(std::uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
inline float to_float(bf16_t v) { return bits_to_float(std::uint32_t(v.bits) << 16); }
inline float to_float(half_t v) {
  const std::uint32_t sign = std::uint32_t(v.bits & 0x8000u) << 16, e = (v.bits >> 10) & 0x1fu, m = v.bits & 0x3ffu;
  if (e == 0) return std::copysign(std::ldexp(float(m), -24), bits_to_float(sign | 0x3f800000u));
  if (e == 31) return bits_to_float(sign | 0x7f800000u | (m << 13));
  return bits_to_float(sign | ((e + 112u) << 23) | (m << 13));
}
template <class T>
inline T from_float(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, 4);
  if constexpr (std::is_same_v<T, bf16_t>) {
    if ((u & 0x7fffffffu) > 0x7f800000u) return {std::uint16_t((u >> 16) | 0x40u)};  // NaN stays NaN
    u += 0x7fffu + ((u >> 16) & 1u);
    return {std::uint16_t(u >> 16)};
  } else {
    const std::uint32_t sign = (u >> 16) & 0x8000u, mag = u & 0x7fffffffu;
    if (mag >= 0x7f800000u) return {std::uint16_t(sign | (mag > 0x7f800000u ? 0x7e00u : 0x7c00u))};
    if (mag >= 0x477ff000u) return {std::uint16_t(sign | 0x7c00u)};  // rounds past 65504
    if (mag < 0x38800000u)  // below 2^-14: a subnormal half, in units of 2^-24
      return {std::uint16_t(sign | std::uint32_t(std::nearbyint(std::ldexp(std::fabs(f), 24))))};
    std::uint32_t h = ((((mag >> 23) - 112u) << 10) | ((mag & 0x7fffffu) >> 13));
    const std::uint32_t rest = mag & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;
    return {std::uint16_t(sign | h)};
  }
}

/// One barrier per warp (set by the emulator), for `__syncwarp` and the fragment stores.
inline thread_local std::barrier<>* emu_warp_barrier = nullptr;
inline void warp_sync() { emu_warp_barrier->arrive_and_wait(); }
/// Per-warp exchange slots for shfl_xor (set by the emulator).
inline thread_local float* emu_warp_slots = nullptr;
inline float shfl_xor(float v, int m) {
  const unsigned lane = threadIdx.x % 32;
  warp_sync();  // the slots' last readers are done
  emu_warp_slots[lane] = v;
  warp_sync();
  return emu_warp_slots[lane ^ unsigned(m)];
}
struct alignas(16) float4_t {
  float x, y, z, w;
};
/// One barrier per group of 128 threads (set by the emulator).
inline thread_local std::barrier<>* emu_group_barrier = nullptr;
inline void group_sync(int) { emu_group_barrier->arrive_and_wait(); }

/// A host stand-in for `nvcuda::wmma`: each thread holds whole 16 × 16 tiles (as float)
/// and does the whole product; stores are made by lane 0 between two warp barriers.
namespace wm {
struct matrix_a {};
struct matrix_b {};
struct accumulator {};
struct row_major {};
struct col_major {};
enum layout_t { mem_row_major, mem_col_major };
template <class Use, int M, int N, int K, class T, class Layout = void>
struct fragment {
  float v[16 * 16];
};
template <class Use, class T, class Layout>
inline void load_matrix_sync(fragment<Use, 16, 16, 16, T, Layout>& f, const T* p, unsigned ldm) {
  for (unsigned r = 0; r < 16; ++r)
    for (unsigned c = 0; c < 16; ++c)
      f.v[r * 16 + c] = to_float(std::is_same_v<Layout, row_major> ? p[r * ldm + c] : p[c * ldm + r]);
}
using acc_fragment = fragment<accumulator, 16, 16, 16, float>;
inline void load_matrix_sync(acc_fragment& f, const float* p, unsigned ldm, layout_t lay) {
  for (unsigned r = 0; r < 16; ++r)
    for (unsigned c = 0; c < 16; ++c) f.v[r * 16 + c] = lay == mem_row_major ? p[r * ldm + c] : p[c * ldm + r];
}
inline void store_matrix_sync(float* p, const acc_fragment& f, unsigned ldm, layout_t lay) {
  warp_sync();  // every lane has read what lane 0 is about to overwrite
  if (threadIdx.x % 32 == 0)
    for (unsigned r = 0; r < 16; ++r)
      for (unsigned c = 0; c < 16; ++c) (lay == mem_row_major ? p[r * ldm + c] : p[c * ldm + r]) = f.v[r * 16 + c];
  warp_sync();
}
inline void fill_fragment(acc_fragment& f, float v) {
  for (float& x : f.v) x = v;
}
template <class T, class LA, class LB>
inline void mma_sync(acc_fragment& d, const fragment<matrix_a, 16, 16, 16, T, LA>& a,
                     const fragment<matrix_b, 16, 16, 16, T, LB>& b, const acc_fragment& c) {
  acc_fragment out;
  for (int r = 0; r < 16; ++r)
    for (int n = 0; n < 16; ++n) {
      float s = c.v[r * 16 + n];
      for (int k = 0; k < 16; ++k) s = std::fma(a.v[r * 16 + k], b.v[k * 16 + n], s);
      out.v[r * 16 + n] = s;
    }
  d = out;
}
}  // namespace wm
}  // namespace cuda::kernels
CTNN_END_NAMESPACE
#endif
