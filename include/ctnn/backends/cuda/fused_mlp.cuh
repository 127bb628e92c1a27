#pragma once
/**
 * @file fused_mlp.cuh
 * @brief Fully fused MLP kernels (FP32, SIMT) specialised on a `cuda::MlpSpec`.
 *
 * Forward: one kernel runs every layer for a tile of 64 samples. The tile's activations
 * stay in shared memory (two buffers, ping-pong); each layer's weights stream through a
 * shared 16-row tile; bias and activation are applied in registers. The first layer's
 * input is read from global memory 16 columns at a time, so it may be wider than 256.
 * With `Save`, every layer's output is also stored to global memory for the backward pass.
 *
 * Backward: one persistent kernel; each block walks its tiles and, per layer from the
 * last, forms dz = dy ⊙ act'(y) in shared memory, adds xᵀ·dz and Σdz into its own slice
 * of a per-block partial-gradient array (no atomics: the sum over blocks is done in a
 * fixed order by the reduce kernel, so results are deterministic), and computes
 * dx = dz·Wᵀ into the other buffer.
 *
 * Thread mapping (256 threads, 16 × 16): thread (tx, ty) owns rows ty + 16r (r < 4) and
 * columns tx + 16c (c < width/16) of a tile; shared-memory rows are padded by one float
 * so the two rows a warp reads fall in different banks.
 */
#include <cstddef>
#include <cstdint>

#include "mlp_spec.hpp"
#include "portability.hpp"

CTNN_BEGIN_NAMESPACE
namespace cuda {
namespace kernels {

inline constexpr int threads = 256;  ///< per block, 16 × 16
inline constexpr int tile_rows = 64;  ///< samples per tile
inline constexpr int k_tile = 16;     ///< weight rows staged at a time
inline constexpr int rows_per_thread = tile_rows / 16;

/// Layer L's activation in the forward epilogue.
template <class S, std::size_t L>
CTNN_DEVICE float activate(float z) {
  return S::template activation<L>::value(z);
}

/// act'(z) for layer L, from the output y = act(z) and, where the activation needs it, the
/// pre-activation z (saved only for such activations).
template <class S, std::size_t L>
CTNN_DEVICE float derivative(float z, float y) {
  return S::template activation<L>::derivative(z, y);
}

/// Compile-time facts about layer L of spec S, as plain constants for device code.
template <class S, std::size_t L>
struct Dims {
  static constexpr int in = int(S::padded[L]), out = int(S::padded[L + 1]);
  static constexpr int in_real = int(S::width[L]), out_real = int(S::width[L + 1]);
  static constexpr bool needs_input = S::needs_input[L];
  static constexpr std::size_t w = S::w_offset[L], b = S::b_offset[L];
  static constexpr int nc = out / 16;  ///< output columns per thread
  /// Where layer L's saved outputs start, in units of n (floats per sample before it); its
  /// saved pre-activations (when `needs_input`) follow at `saved_z`.
  static constexpr std::size_t saved = S::saved_offset[L], saved_z = saved + std::size_t(out);
  static constexpr bool last = L + 1 == S::layers;
};

/// Shared-memory layout (floats) of both kernels for spec S.
template <class S>
struct Smem {
  static constexpr int ld = int(S::max_width) + 1;         ///< activation row stride
  static constexpr int act = tile_rows * ld;                ///< one activation buffer
  static constexpr int wt = k_tile * (int(S::max_width) + 1);  ///< one weight tile
  static constexpr int xs = tile_rows * (64 + 1);           ///< input tile / 64-column slice
  static constexpr std::size_t bytes = sizeof(float) * std::size_t(2 * act + wt + xs);
};

// ---------------------------------------------------------------------------------------------
// Forward
// ---------------------------------------------------------------------------------------------

template <class S, std::size_t L, bool Save>
CTNN_DEVICE void forward_layer(const float* __restrict__ params, const float* __restrict__ x, int n,
                                              int row0, const float* in, float* out, float* wtile, float* xtile,
                                              float* __restrict__ y, float* __restrict__ saved) {
  using D = Dims<S, L>;
  constexpr int ld = Smem<S>::ld;
  const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
  float acc[rows_per_thread][D::nc];
#pragma unroll
  for (int r = 0; r < rows_per_thread; ++r)
#pragma unroll
    for (int c = 0; c < D::nc; ++c) acc[r][c] = 0.0f;

  const float* W = params + D::w;
  for (int k0 = 0; k0 < D::in; k0 += k_tile) {
    // Rows k0..k0+15 of W are contiguous in the [in][out] layout.
    for (int i = tid; i < k_tile * D::out; i += threads) wtile[(i / D::out) * (D::out + 1) + i % D::out] = W[k0 * D::out + i];
    if constexpr (L == 0) {
      for (int i = tid; i < tile_rows * k_tile; i += threads) {
        const int r = i / k_tile, kk = i % k_tile, row = row0 + r, col = k0 + kk;
        xtile[r * (k_tile + 1) + kk] = (row < n && col < D::in_real) ? x[std::size_t(row) * D::in_real + col] : 0.0f;
      }
    }
    CTNN_SYNC();
#pragma unroll
    for (int kk = 0; kk < k_tile; ++kk) {
      float a[rows_per_thread], b[D::nc];
#pragma unroll
      for (int r = 0; r < rows_per_thread; ++r)
        a[r] = L == 0 ? xtile[(ty + 16 * r) * (k_tile + 1) + kk] : in[(ty + 16 * r) * ld + k0 + kk];
#pragma unroll
      for (int c = 0; c < D::nc; ++c) b[c] = wtile[kk * (D::out + 1) + tx + 16 * c];
#pragma unroll
      for (int r = 0; r < rows_per_thread; ++r)
#pragma unroll
        for (int c = 0; c < D::nc; ++c) acc[r][c] = fmaf(a[r], b[c], acc[r][c]);
    }
    CTNN_SYNC();
  }

  const float* bias = params + D::b;
#pragma unroll
  for (int r = 0; r < rows_per_thread; ++r) {
    const int lr = ty + 16 * r, row = row0 + lr;
#pragma unroll
    for (int c = 0; c < D::nc; ++c) {
      const int j = tx + 16 * c;
      // Padded units stay exactly 0, so no gradient ever reaches their (zero) weights.
      const float z = acc[r][c] + bias[j];
      const float v = j < D::out_real ? activate<S, L>(z) : 0.0f;
      if constexpr (!D::last) out[lr * ld + j] = v;
      if (row < n) {
        if constexpr (Save) saved[std::size_t(n) * D::saved + std::size_t(row) * D::out + j] = v;
        if constexpr (Save && D::needs_input)
          saved[std::size_t(n) * D::saved_z + std::size_t(row) * D::out + j] = j < D::out_real ? z : 0.0f;
        if constexpr (D::last)
          if (j < D::out_real) y[std::size_t(row) * D::out_real + j] = v;
      }
    }
  }
  if constexpr (!D::last) CTNN_SYNC();
}

template <class S, std::size_t L, bool Save>
CTNN_DEVICE void forward_layers(const float* params, const float* x, int n, int row0, float* a0, float* a1,
                                               float* wtile, float* xtile, float* y, float* saved) {
  if constexpr (L < S::layers) {
    // Layer 0 reads the input tile and writes a0; then a0 → a1 → a0 ...
    float* in = L % 2 == 1 ? a0 : a1;
    float* out = L % 2 == 0 ? a0 : a1;
    forward_layer<S, L, Save>(params, x, n, row0, in, out, wtile, xtile, y, saved);
    forward_layers<S, L + 1, Save>(params, x, n, row0, a0, a1, wtile, xtile, y, saved);
  }
}

/**
 * @brief y[n][out] = net(x[n][in]); with `Save`, also every layer's padded output into
 * `saved` (layer l at `saved + n · Dims<S, l>::saved`, row-major `[n][padded]`).
 * Grid: ceil(n / 64) blocks of 256 threads, `Smem<S>::bytes` of dynamic shared memory.
 */
template <class S, bool Save>
CTNN_GLOBAL void CTNN_LAUNCH_BOUNDS(threads) forward_kernel(const float* __restrict__ params, const float* __restrict__ x,
                                                          int n, float* __restrict__ y, float* __restrict__ saved) {
  float* smem = dynamic_smem();
  float* a0 = smem;
  float* a1 = a0 + Smem<S>::act;
  float* wtile = a1 + Smem<S>::act;
  float* xtile = wtile + Smem<S>::wt;
  forward_layers<S, 0, Save>(params, x, n, int(blockIdx.x) * tile_rows, a0, a1, wtile, xtile, y, saved);
}

// ---------------------------------------------------------------------------------------------
// Backward
// ---------------------------------------------------------------------------------------------

template <class S, std::size_t L>
CTNN_DEVICE void backward_layer(const float* __restrict__ params, const float* __restrict__ x, int n,
                                               int row0, const float* __restrict__ saved, float* d, float* dnext,
                                               float* wtile, float* xs, float* __restrict__ part) {
  using D = Dims<S, L>;
  constexpr int ld = Smem<S>::ld;
  const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;

  // 1. dz = dy ⊙ act'(z), in place; rows past n are zero.
  const float* Y = saved + std::size_t(n) * D::saved;
  const float* Z = saved + std::size_t(n) * D::saved_z;  // read only when D::needs_input
  for (int i = tid; i < tile_rows * D::out; i += threads) {
    const int r = i / D::out, j = i % D::out, row = row0 + r;
    const std::size_t at = std::size_t(row) * D::out + j;
    float dz = 0.0f;
    if (row < n) dz = d[r * ld + j] * derivative<S, L>(D::needs_input ? Z[at] : 0.0f, Y[at]);
    d[r * ld + j] = dz;
  }
  CTNN_SYNC();

  // 2. db += Σ_rows dz (thread j owns column j in every tile: no race).
  for (int j = tid; j < D::out; j += threads) {
    float s = 0.0f;
    for (int r = 0; r < tile_rows; ++r) s += d[r * ld + j];
    part[D::b + j] += s;
  }

  // 3. dW += xᵀ dz, 64 input rows at a time.
  const float* X = L == 0 ? x : saved + std::size_t(n) * Dims<S, (L == 0 ? 0 : L - 1)>::saved;
  constexpr int x_cols = L == 0 ? D::in_real : D::in;
  for (int i0 = 0; i0 < D::in; i0 += 64) {
    for (int i = tid; i < tile_rows * 64; i += threads) {
      const int s = i / 64, ii = i % 64, row = row0 + s, col = i0 + ii;
      xs[s * 65 + ii] = (row < n && col < x_cols) ? X[std::size_t(row) * x_cols + col] : 0.0f;
    }
    CTNN_SYNC();
    float acc[4][D::nc];
#pragma unroll
    for (int r = 0; r < 4; ++r)
#pragma unroll
      for (int c = 0; c < D::nc; ++c) acc[r][c] = 0.0f;
    for (int s = 0; s < tile_rows; ++s) {
      float a[4], b[D::nc];
#pragma unroll
      for (int r = 0; r < 4; ++r) a[r] = xs[s * 65 + ty + 16 * r];
#pragma unroll
      for (int c = 0; c < D::nc; ++c) b[c] = d[s * ld + tx + 16 * c];
#pragma unroll
      for (int r = 0; r < 4; ++r)
#pragma unroll
        for (int c = 0; c < D::nc; ++c) acc[r][c] = fmaf(a[r], b[c], acc[r][c]);
    }
#pragma unroll
    for (int r = 0; r < 4; ++r) {
      const int i = i0 + ty + 16 * r;
      if (i < D::in)
#pragma unroll
        for (int c = 0; c < D::nc; ++c) part[D::w + std::size_t(i) * D::out + tx + 16 * c] += acc[r][c];
    }
    CTNN_SYNC();
  }

  // 4. dx = dz Wᵀ into the other buffer (not for the first layer).
  if constexpr (L > 0) {
    constexpr int ncx = D::in / 16;
    const float* W = params + D::w;
    float acc[rows_per_thread][ncx];
#pragma unroll
    for (int r = 0; r < rows_per_thread; ++r)
#pragma unroll
      for (int c = 0; c < ncx; ++c) acc[r][c] = 0.0f;
    for (int j0 = 0; j0 < D::out; j0 += k_tile) {
      // wtile[jj][k] = W[k][j0 + jj]: 16 consecutive floats of each W row.
      for (int i = tid; i < k_tile * D::in; i += threads) {
        const int k = i / k_tile, jj = i % k_tile;
        wtile[jj * (D::in + 1) + k] = W[std::size_t(k) * D::out + j0 + jj];
      }
      CTNN_SYNC();
#pragma unroll
      for (int jj = 0; jj < k_tile; ++jj) {
        float a[rows_per_thread], b[ncx];
#pragma unroll
        for (int r = 0; r < rows_per_thread; ++r) a[r] = d[(ty + 16 * r) * ld + j0 + jj];
#pragma unroll
        for (int c = 0; c < ncx; ++c) b[c] = wtile[jj * (D::in + 1) + tx + 16 * c];
#pragma unroll
        for (int r = 0; r < rows_per_thread; ++r)
#pragma unroll
          for (int c = 0; c < ncx; ++c) acc[r][c] = fmaf(a[r], b[c], acc[r][c]);
      }
      CTNN_SYNC();
    }
#pragma unroll
    for (int r = 0; r < rows_per_thread; ++r)
#pragma unroll
      for (int c = 0; c < ncx; ++c) dnext[(ty + 16 * r) * ld + tx + 16 * c] = acc[r][c];
    CTNN_SYNC();
  }
}

template <class S, std::size_t L>
CTNN_DEVICE void backward_layers(const float* params, const float* x, int n, int row0, const float* saved,
                                                float* a0, float* a1, float* wtile, float* xs, float* part) {
  // The last layer's dy is in a0; layer L reads the buffer of its parity and writes the other.
  constexpr std::size_t k = S::layers - 1 - L;
  float* d = k % 2 == 0 ? a0 : a1;
  float* dnext = k % 2 == 0 ? a1 : a0;
  backward_layer<S, L>(params, x, n, row0, saved, d, dnext, wtile, xs, part);
  if constexpr (L > 0) backward_layers<S, L - 1>(params, x, n, row0, saved, a0, a1, wtile, xs, part);
}

/**
 * @brief Per-block partial gradients: block b adds the gradient of its tiles (b, b + grid,
 * ...) into `partials + b · S::param_count`, which it zeroes first. `dy` is the loss
 * gradient `[n][padded out]` (padded columns zero), `saved` what the forward kernel stored.
 */
template <class S>
CTNN_GLOBAL void CTNN_LAUNCH_BOUNDS(threads) backward_kernel(const float* __restrict__ params, const float* __restrict__ x,
                                                           int n, const float* __restrict__ saved,
                                                           const float* __restrict__ dy, float* __restrict__ partials) {
  float* smem = dynamic_smem();
  float* a0 = smem;
  float* a1 = a0 + Smem<S>::act;
  float* wtile = a1 + Smem<S>::act;
  float* xs = wtile + Smem<S>::wt;
  float* part = partials + std::size_t(blockIdx.x) * S::param_count;
  for (std::size_t i = threadIdx.x; i < S::param_count; i += threads) part[i] = 0.0f;
  CTNN_SYNC();
  constexpr int ld = Smem<S>::ld, out = int(S::padded[S::layers]);
  const int tiles = (n + tile_rows - 1) / tile_rows;
  for (int t = int(blockIdx.x); t < tiles; t += int(gridDim.x)) {
    const int row0 = t * tile_rows;
    for (int i = threadIdx.x; i < tile_rows * out; i += threads) {
      const int r = i / out, j = i % out, row = row0 + r;
      a0[r * ld + j] = row < n ? dy[std::size_t(row) * out + j] : 0.0f;
    }
    CTNN_SYNC();
    backward_layers<S, S::layers - 1>(params, x, n, row0, saved, a0, a1, wtile, xs, part);
    CTNN_SYNC();
  }
}

// ---------------------------------------------------------------------------------------------
// Losses, reduction, optimizers (flat parameter block)
// ---------------------------------------------------------------------------------------------

/// Bits of the step's status word.
inline constexpr unsigned bad_gradient = 1u, bad_loss = 2u, bad_label = 4u;

/// Softmax cross-entropy on logits `out[n][classes]`: per-row loss, and dy `[n][padded]`
/// = (softmax − onehot) / n with the padded columns zero. One thread per row.
template <int Classes, int Padded>
CTNN_GLOBAL void softmax_xent_kernel(const float* __restrict__ logits, const std::int32_t* __restrict__ labels, int n,
                                    float* __restrict__ row_loss, float* __restrict__ dy, unsigned* status) {
  const int row = int(blockIdx.x) * blockDim.x + threadIdx.x;
  if (row >= n) return;
  const float* z = logits + std::size_t(row) * Classes;
  float* d = dy + std::size_t(row) * Padded;
  const int t = labels[row];
  if (t < 0 || t >= Classes) {
    atomicOr(status, bad_label);
    row_loss[row] = 0.0f;
    for (int j = 0; j < Padded; ++j) d[j] = 0.0f;
    return;
  }
  float m = z[0];
  for (int j = 1; j < Classes; ++j) m = fmaxf(m, z[j]);
  float sum = 0.0f;
  for (int j = 0; j < Classes; ++j) sum += expf(z[j] - m);
  const float inv = 1.0f / float(n);
  for (int j = 0; j < Classes; ++j) d[j] = (expf(z[j] - m) / sum - (j == t ? 1.0f : 0.0f)) * inv;
  for (int j = Classes; j < Padded; ++j) d[j] = 0.0f;
  row_loss[row] = logf(sum) - (z[t] - m);
}

/// Mean squared error over n × Outputs values: per-row sum of squares (the mean is taken by
/// `sum_kernel`), dy = 2(y − t)/(n·Outputs).
template <int Outputs, int Padded>
CTNN_GLOBAL void mse_kernel(const float* __restrict__ y, const float* __restrict__ target, int n,
                           float* __restrict__ row_loss, float* __restrict__ dy, unsigned*) {
  const int row = int(blockIdx.x) * blockDim.x + threadIdx.x;
  if (row >= n) return;
  const float scale = 1.0f / (float(n) * float(Outputs));
  float s = 0.0f;
  for (int j = 0; j < Outputs; ++j) {
    const float diff = y[std::size_t(row) * Outputs + j] - target[std::size_t(row) * Outputs + j];
    s += diff * diff;
    dy[std::size_t(row) * Padded + j] = 2.0f * diff * scale;
  }
  for (int j = Outputs; j < Padded; ++j) dy[std::size_t(row) * Padded + j] = 0.0f;
  row_loss[row] = s;
}

/// One block: out[0] = Σ in[0..n) · scale in a fixed order (deterministic); flags non-finite.
CTNN_GLOBAL void sum_kernel(const float* __restrict__ in, int n, float scale, float* __restrict__ out, unsigned* status) {
  CTNN_SHARED float part[threads];
  float s = 0.0f;
  for (int i = threadIdx.x; i < n; i += threads) s += in[i];
  part[threadIdx.x] = s;
  CTNN_SYNC();
  for (int w = threads / 2; w > 0; w /= 2) {
    if (int(threadIdx.x) < w) part[threadIdx.x] += part[threadIdx.x + w];
    CTNN_SYNC();
  }
  if (threadIdx.x == 0) {
    out[0] = part[0] * scale;
    if (!finite(out[0])) atomicOr(status, bad_loss);
  }
}

/// g[p] = scale · Σ_b partials[b][p] in block order; flags NaN/Inf.
CTNN_GLOBAL void reduce_kernel(const float* __restrict__ partials, int blocks, std::size_t count, float* __restrict__ g,
                              unsigned* status, float scale = 1.0f) {
  const std::size_t p = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (p >= count) return;
  float s = 0.0f;
  for (int b = 0; b < blocks; ++b) s += partials[std::size_t(b) * count + p];
  s *= scale;
  g[p] = s;
  if (!finite(s)) atomicOr(status, bad_gradient);
}

/**
 * @brief One optimizer step, p[k] and its states updated by the optimizer's own rule
 * (`Optimizer::step_rule()`, the same definition the CPU executors run) for the first
 * `states` state arrays; does nothing when the step is bad.
 */
template <class Rule>
CTNN_GLOBAL void update_kernel(Rule rule, unsigned states, float* __restrict__ p, const float* __restrict__ g,
                               float* __restrict__ s0, float* __restrict__ s1, std::size_t count, const unsigned* status) {
  if (*status != 0) return;
  const std::size_t k = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (k >= count) return;
  float pk = p[k], a = states >= 1 ? s0[k] : 0.0f, b = states >= 2 ? s1[k] : 0.0f;
  rule(pk, g[k], a, b);
  p[k] = pk;
  if (states >= 1) s0[k] = a;
  if (states >= 2) s1[k] = b;
}

}  // namespace kernels
}  // namespace cuda
CTNN_END_NAMESPACE
