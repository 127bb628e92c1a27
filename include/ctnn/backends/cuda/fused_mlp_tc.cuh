#pragma once
/**
 * @file fused_mlp_tc.cuh
 * @brief The whole training step of an MLP — forward, loss, backward — in one tensor-core
 * kernel (FP16 or BF16 operands, FP32 accumulation, FP32 master weights), and the same
 * kernel's forward alone for inference. Specialised on a `cuda::MlpSpec`.
 *
 * Each block is persistent: it copies every layer's weights (in T, converted from the FP32
 * master block by `to_low_kernel` after each update) into shared memory once, then walks its
 * 64-sample tiles. Per tile, every layer's activations stay in shared memory; warp w owns
 * rows 16w..16w+15 of the tile through the forward pass (no block barrier between layers),
 * the loss is taken in the last layer's epilogue, and the backward pass overwrites each
 * layer's activations with its dz. Products are 16 × 16 × 16 WMMA tiles.
 *
 * Per layer l of the backward pass: dW_l += act_lᵀ·dz_l (the 16 × 16 output tiles dealt to
 * the warps; each warp adds into its block's slice of a per-block partial-gradient array in
 * global memory, as the FP32 kernels do: no atomics, summed in block order by
 * `reduce_kernel`), db_l += Σ dz_l, then dz_{l-1} = (dz_l·W_lᵀ) ⊙ act'(act_l).
 *
 * The loss gradient is per sample (not divided by n) so that FP16's range holds it at any
 * batch; `reduce_kernel` applies 1/n. Rows past n and padded units carry exactly zero.
 *
 * Limits: the weights of every layer plus one tile of every layer's activations must fit
 * in a block's shared memory (`tc::Layout<S, T>::fits`, 227 KiB on sm_90; sm_80 offers
 * 163 KiB and the host API raises when a GPU offers less than the layout needs): e.g.
 * 64-wide nets of up to 11 Dense layers, 128-wide of up to 3. Larger nets use the FP32
 * kernels.
 */
#include <array>
#include <cstddef>
#include <cstdint>

#include "fused_mlp.cuh"

CTNN_BEGIN_NAMESPACE
namespace cuda {
namespace kernels {
namespace tc {

inline constexpr int warps = 4;               ///< per group
inline constexpr int threads = 32 * warps;    ///< per group
inline constexpr int tile_rows = 16 * warps;  ///< samples per tile (one group's)
inline constexpr int pad = 8;                 ///< 16-bit elements added to each shared row
inline constexpr int chunk = 4;               ///< 16-column accumulator tiles a warp holds at once
inline constexpr std::size_t smem_limit = 227 * 1024;

/// What the kernel does after the forward pass.
enum class Mode : int { infer = 0, mse = 1, xent = 2 };

/**
 * @brief Shared-memory layout for spec S with 16-bit type T. A block runs `groups` groups
 * of 4 warps; each group walks its own tiles and synchronises on its own barrier, and all
 * share one copy of the weights. In T elements: per layer l the weights
 * `[in_p][out_p + pad]` at `w_off[l]` (also the layout of the converted weights in global
 * memory, copied in whole); then, in floats, every bias at `b_off[l]`; then per group, in
 * T elements, per layer l = 0..L one tile of activations `[64][width_p + pad]` at
 * `a_off[l]`, and in floats, per warp, a scratch tile `[16][sc_ld]` for the epilogues.
 * `groups` is chosen to put the most warps on a multiprocessor, counting 228 KiB of shared
 * memory and registers for 4 groups (≤ 128 a thread). The kernels use more (ptxas, sm_90:
 * 100–195), so the register file may hold fewer blocks than this count assumes; the host
 * API sizes the grid from the occupancy the runtime reports, not from this count.
 */
template <class S, class T>
struct Layout {
  static constexpr std::size_t L = S::layers;
  static constexpr auto w_ld = [] {
    std::array<std::size_t, L> a{};
    for (std::size_t l = 0; l < L; ++l) a[l] = S::padded[l + 1] + pad;
    return a;
  }();
  static constexpr auto w_off = [] {
    std::array<std::size_t, L + 1> a{};
    for (std::size_t l = 0; l < L; ++l) a[l + 1] = a[l] + S::padded[l] * w_ld[l];
    return a;
  }();
  static constexpr std::size_t w_elems = w_off[L];
  static constexpr auto a_ld = [] {
    std::array<std::size_t, L + 1> a{};
    for (std::size_t l = 0; l <= L; ++l) a[l] = S::padded[l] + pad;
    return a;
  }();
  static constexpr auto a_off = [] {
    std::array<std::size_t, L + 2> a{};
    for (std::size_t l = 0; l <= L; ++l) a[l + 1] = a[l] + tile_rows * a_ld[l];
    return a;
  }();
  static constexpr auto b_off = [] {
    std::array<std::size_t, L + 1> a{};
    for (std::size_t l = 0; l < L; ++l) a[l + 1] = a[l] + S::padded[l + 1];
    return a;
  }();
  /// Scratch row stride: the last layer's whole output, or one chunk of columns.
  static constexpr std::size_t sc_ld = (S::padded[L] > 16 * chunk ? S::padded[L] : 16 * chunk) + 4;
  static constexpr std::size_t round128(std::size_t b) { return (b + 127) / 128 * 128; }
  static constexpr std::size_t bias_at = round128(w_elems * 2);              ///< bytes
  static constexpr std::size_t group_at = round128(bias_at + 4 * b_off[L]);  ///< bytes
  static constexpr std::size_t sc_at = round128(a_off[L + 1] * 2);           ///< bytes into a group
  static constexpr std::size_t group_bytes = sc_at + sizeof(float) * warps * 16 * sc_ld;
  static constexpr std::size_t bytes_for(std::size_t g) { return group_at + g * group_bytes; }
  static constexpr bool fits = bytes_for(1) <= smem_limit;
  static constexpr int groups = [] {
    int best = 1, best_warps = 0;
    for (int g = 1; g <= 4; ++g) {
      if (bytes_for(std::size_t(g)) > smem_limit) break;
      const int by_smem = int((228 * 1024) / (bytes_for(std::size_t(g)) + 1024)), by_regs = 4 / g;
      const int w = 4 * g * (by_smem < by_regs ? by_smem : by_regs);
      if (w > best_warps) best = g, best_warps = w;
    }
    return best;
  }();
  static constexpr int block_threads = threads * groups;
  static constexpr std::size_t bytes = bytes_for(std::size_t(groups));
};

template <class T, class Lay>
using FragA = wm::fragment<wm::matrix_a, 16, 16, 16, T, Lay>;
template <class T, class Lay>
using FragB = wm::fragment<wm::matrix_b, 16, 16, 16, T, Lay>;
using FragC = wm::fragment<wm::accumulator, 16, 16, 16, float>;

/// The barrier of one group of warps: a named barrier per group, or the block's own
/// barrier when the block holds a single group.
template <int Groups>
CTNN_DEVICE void sync_group(int g) {
  if constexpr (Groups == 1)
    CTNN_SYNC();
  else
    group_sync(g);
}

/// Eight consecutive 16-bit values: one 16-byte load or store of an activation row's run.
template <class T>
struct alignas(16) Pack8 {
  T v[8];
};
/// Eight consecutive floats (16-byte aligned), as two vector loads.
CTNN_DEVICE void load8(const float* p, float (&out)[8]) {
  const float4_t a = reinterpret_cast<const float4_t*>(p)[0], b = reinterpret_cast<const float4_t*>(p)[1];
  out[0] = a.x, out[1] = a.y, out[2] = a.z, out[3] = a.w, out[4] = b.x, out[5] = b.y, out[6] = b.z, out[7] = b.w;
}
/**
 * @brief f(r, c) for each run of 8 columns of a 16-row chunk `cols` wide (at most CW, both
 * multiples of 16): lane l takes runs l, l + 32, ... — every lane the same count.
 */
template <int CW, class F>
CTNN_DEVICE void for_each_run(int lane, int cols, F&& f) {
  constexpr int per_row = CW / 8;
  for (int e = lane; e < 16 * per_row; e += 32) {
    const int r = e / per_row, c = (e % per_row) * 8;
    if (c < cols) f(r, c);
  }
}

/**
 * @brief For one warp: C[16][N] = A[16][K] · B[K][N] (A row-major, ld `lda`; B row-major
 * `[K][N]` or, with `LB` = col_major, stored as `[N][K]`), handed over `chunk` tiles of 16
 * columns at a time: each chunk is stored to the warp's scratch `sc` (row stride ScLd; at
 * column n0 + c when `Whole`, else at c) and then `epi(n0, cols)` runs on it.
 */
template <class T, class LB, int K, int N, int ScLd, bool Whole, class Epi>
CTNN_DEVICE void warp_gemm(const T* A, unsigned lda, const T* B, unsigned ldb, float* sc, Epi&& epi) {
  for (int n0 = 0; n0 < N; n0 += 16 * chunk) {
    FragC acc[chunk];
#pragma unroll
    for (int c = 0; c < chunk; ++c) wm::fill_fragment(acc[c], 0.0f);
    for (int k0 = 0; k0 < K; k0 += 16) {
      FragA<T, wm::row_major> a;
      wm::load_matrix_sync(a, A + k0, lda);
#pragma unroll
      for (int c = 0; c < chunk; ++c)
        if (n0 + 16 * c < N) {
          FragB<T, LB> b;
          const int n = n0 + 16 * c;
          if constexpr (std::is_same_v<LB, wm::row_major>)
            wm::load_matrix_sync(b, B + std::size_t(k0) * ldb + n, ldb);
          else
            wm::load_matrix_sync(b, B + std::size_t(n) * ldb + k0, ldb);
          wm::mma_sync(acc[c], a, b, acc[c]);
        }
    }
#pragma unroll
    for (int c = 0; c < chunk; ++c)
      if (n0 + 16 * c < N) wm::store_matrix_sync(sc + (Whole ? n0 : 0) + 16 * c, acc[c], ScLd, wm::mem_row_major);
    warp_sync();
    epi(n0, N - n0 < 16 * chunk ? N - n0 : 16 * chunk);
    warp_sync();
  }
}

/// The smem pointers of one block.
template <class S, class T>
struct Smem {
  using Lay = Layout<S, T>;
  T* w;
  T* a;        ///< this group's activation tiles
  float* bias;
  float* sc;   ///< this warp's scratch
  int group;   ///< this thread's group in the block
  template <std::size_t l>
  CTNN_DEVICE T* weights() const {
    return w + Lay::w_off[l];
  }
  template <std::size_t l>
  CTNN_DEVICE T* act() const {
    return a + Lay::a_off[l];
  }
};

/// Forward through layer Lyr for this warp's 16 rows (m0..m0+15 of the tile); the last
/// layer leaves its pre-activation outputs in the scratch, whole.
template <class S, class T, std::size_t Lyr>
CTNN_DEVICE void tc_forward(const Smem<S, T>& sm, int m0, int lane) {
  using Lay = Layout<S, T>;
  constexpr int in = int(S::padded[Lyr]), out = int(S::padded[Lyr + 1]), out_real = int(S::width[Lyr + 1]);
  constexpr unsigned lda = unsigned(Lay::a_ld[Lyr]), ldo = unsigned(Lay::a_ld[Lyr + 1]);
  constexpr int sc_ld = int(Lay::sc_ld);
  constexpr bool last = Lyr + 1 == S::layers;
  const T* A = sm.template act<Lyr>() + std::size_t(m0) * lda;
  T* O = sm.template act<Lyr + 1>() + std::size_t(m0) * ldo;
  const float* bias = sm.bias + Lay::b_off[Lyr];
  warp_gemm<T, wm::row_major, in, out, sc_ld, last>(
      A, lda, sm.template weights<Lyr>(), unsigned(Lay::w_ld[Lyr]), sm.sc, [&](int n0, int cols) {
        if constexpr (!last) {
          for_each_run<(out < 16 * chunk ? out : 16 * chunk)>(lane, cols, [&](int r, int c) {
            float z[8];
            load8(sm.sc + r * sc_ld + c, z);
            Pack8<T> p;
#pragma unroll
            for (int q = 0; q < 8; ++q) {
              const int j = n0 + c + q;
              // Padded units stay exactly 0, whatever the activation makes of 0.
              p.v[q] = from_float<T>(j < out_real ? activate<S, Lyr>(z[q] + bias[j]) : 0.0f);
            }
            *reinterpret_cast<Pack8<T>*>(O + std::size_t(r) * ldo + n0 + c) = p;
          });
        }
      });
  if constexpr (!last) tc_forward<S, T, Lyr + 1>(sm, m0, lane);
}

/**
 * @brief The last layer's epilogue for this warp's 16 rows, two lanes per row (lane 2r + h
 * takes the runs of 8 columns h, h + 2, ...): outputs y = act(z + b) to `y_out` (when
 * given), and for training the per-sample loss to `row_loss` and dz = ∂loss/∂y ⊙ act'(y)
 * (not divided by n) as T into the last activation tile. Rows past n get dz = 0, no loss.
 */
template <class S, class T, Mode M>
CTNN_DEVICE void tc_loss(const Smem<S, T>& sm, int m0, int lane, int row0, int n, const float* targets,
                         const std::int32_t* labels, float* y_out, float* row_loss, unsigned* status) {
  using Lay = Layout<S, T>;
  constexpr std::size_t L = S::layers;
  constexpr int out = int(S::padded[L]), out_real = int(S::width[L]), runs = out / 8;
  constexpr int sc_ld = int(Lay::sc_ld);
  constexpr unsigned ldo = unsigned(Lay::a_ld[L]);
  const int r = lane / 2, h = lane % 2, row = row0 + m0 + r;
  const bool valid = row < n;
  float* z = sm.sc + r * sc_ld;
  const float* bias = sm.bias + Lay::b_off[L - 1];
  for (int v = h; v < runs; v += 2)
#pragma unroll
    for (int q = 0; q < 8; ++q) {
      const int j = 8 * v + q;
      if (j < out_real) {
        z[j] = activate<S, L - 1>(z[j] + bias[j]);
        if (valid && y_out) y_out[std::size_t(row) * out_real + j] = z[j];
      }
    }
  if constexpr (M != Mode::infer) {
    warp_sync();  // the row's y, written by both its lanes
    T* dz = sm.template act<L>() + std::size_t(m0 + r) * ldo;
    float loss = 0.0f, m = 0.0f, sum = 1.0f;
    int t = 0;
    bool ok = valid;
    if constexpr (M == Mode::xent) {
      t = valid ? labels[row] : 0;
      if (valid && (t < 0 || t >= out_real)) {
        if (h == 0) atomicOr(status, bad_label);
        ok = false;
      }
      m = z[0];
      for (int j = 1; j < out_real; ++j) m = fmaxf(m, z[j]);
      float part = 0.0f;
      for (int v = h; v < runs; v += 2)
#pragma unroll
        for (int q = 0; q < 8; ++q)
          if (8 * v + q < out_real) part += expf(z[8 * v + q] - m);
      sum = part + shfl_xor(part, 1);
      loss = ok ? logf(sum) - (z[t] - m) : 0.0f;
    }
    float sq = 0.0f;
    for (int v = h; v < runs; v += 2) {
      Pack8<T> p;
#pragma unroll
      for (int q = 0; q < 8; ++q) {
        const int j = 8 * v + q;
        float g = 0.0f;
        if (ok && j < out_real) {
          if constexpr (M == Mode::mse) {
            const float d = z[j] - targets[std::size_t(row) * out_real + j];
            sq += d * d;
            g = 2.0f * d / float(out_real);
          } else {
            g = expf(z[j] - m) / sum - (j == t ? 1.0f : 0.0f);
          }
          g *= derivative<S, L - 1>(0.0f, z[j]);  // z[j] holds y here
        }
        p.v[q] = from_float<T>(g);
      }
      *reinterpret_cast<Pack8<T>*>(dz + 8 * v) = p;
    }
    if constexpr (M == Mode::mse) loss = sq + shfl_xor(sq, 1);
    if (valid && h == 0) row_loss[row] = loss;
  }
}

/// Backward through layer Lyr and below, for the whole tile (all warps; dz of layer Lyr is
/// in activation tile Lyr + 1, every warp's rows written before the call).
template <class S, class T, std::size_t Lyr>
CTNN_DEVICE void tc_backward(const Smem<S, T>& sm, int warp, int lane, float* __restrict__ part) {
  using Lay = Layout<S, T>;
  constexpr int in = int(S::padded[Lyr]), out = int(S::padded[Lyr + 1]);
  constexpr unsigned ldx = unsigned(Lay::a_ld[Lyr]), ldz = unsigned(Lay::a_ld[Lyr + 1]);
  T* X = sm.template act<Lyr>();
  const T* Z = sm.template act<Lyr + 1>();
  // dW += Xᵀ·dz: output tiles dealt round-robin to the warps, K = the tile's 64 rows.
  // A warp's tiles are taken `chunk` at a time, their partial sums all loaded before the
  // products so the global-memory latency is paid once per batch.
  constexpr int nt = out / 16, tiles = (in / 16) * nt, per_warp = (tiles + warps - 1) / warps;
  for (int base = 0; base < per_warp; base += chunk) {
    FragC acc[chunk];
#pragma unroll
    for (int c = 0; c < chunk; ++c) {
      const int b = warp + warps * (base + c);
      if (base + c < per_warp && b < tiles)
        wm::load_matrix_sync(acc[c], part + S::w_offset[Lyr] + std::size_t(b / nt) * 16 * out + (b % nt) * 16,
                             unsigned(out), wm::mem_row_major);
    }
#pragma unroll
    for (int c = 0; c < chunk; ++c) {
      const int b = warp + warps * (base + c), mi = b / nt, nj = b % nt;
      if (base + c < per_warp && b < tiles) {
#pragma unroll
        for (int k0 = 0; k0 < tile_rows; k0 += 16) {
          FragA<T, wm::col_major> xa;
          FragB<T, wm::row_major> zb;
          wm::load_matrix_sync(xa, X + std::size_t(k0) * ldx + mi * 16, ldx);
          wm::load_matrix_sync(zb, Z + std::size_t(k0) * ldz + nj * 16, ldz);
          wm::mma_sync(acc[c], xa, zb, acc[c]);
        }
        wm::store_matrix_sync(part + S::w_offset[Lyr] + std::size_t(mi) * 16 * out + nj * 16, acc[c], unsigned(out),
                              wm::mem_row_major);
      }
    }
  }
  // db += Σ_rows dz (thread j owns column j: no race, fixed order).
  for (int j = warp * 32 + lane; j < out; j += threads) {  // the group's threads
    float s[4] = {0.0f, 0.0f, 0.0f, 0.0f};  // four chains, summed in a fixed order
#pragma unroll 4
    for (int r = 0; r < tile_rows; ++r) s[r % 4] += to_float(Z[std::size_t(r) * ldz + j]);
    part[S::b_offset[Lyr] + j] += (s[0] + s[1]) + (s[2] + s[3]);
  }
  if constexpr (Lyr > 0) {
    sync_group<Lay::groups>(sm.group);  // every warp has read X for dW before X is overwritten with dz below
    constexpr int sc_ld = int(Lay::sc_ld), in_real = int(S::width[Lyr]);
    const int m0 = 16 * warp;
    T* Xr = X + std::size_t(m0) * ldx;
    // dz_{l-1} = (dz·Wᵀ) ⊙ act'(act_l): W stored [in][out + pad] is Wᵀ read column-major.
    warp_gemm<T, wm::col_major, out, in, sc_ld, false>(
        Z + std::size_t(m0) * ldz, ldz, sm.template weights<Lyr>(), unsigned(Lay::w_ld[Lyr]), sm.sc, [&](int n0, int cols) {
          for_each_run<(in < 16 * chunk ? in : 16 * chunk)>(lane, cols, [&](int r, int c) {
            float g[8];
            load8(sm.sc + r * sc_ld + c, g);
            auto& x = *reinterpret_cast<Pack8<T>*>(Xr + std::size_t(r) * ldx + n0 + c);
            Pack8<T> p = x;
#pragma unroll
            for (int q = 0; q < 8; ++q) {
              const int j = n0 + c + q;
              p.v[q] = from_float<T>(j < in_real ? g[q] * derivative<S, Lyr - 1>(0.0f, to_float(p.v[q])) : 0.0f);
            }
            x = p;
          });
        });
    sync_group<Lay::groups>(sm.group);  // every warp's rows of dz_{l-1} are written
    tc_backward<S, T, Lyr - 1>(sm, warp, lane, part);
  }
}

template <class S, class T, std::size_t Lyr>
CTNN_DEVICE void load_biases(const Smem<S, T>& sm, const float* params, int tid) {
  using Lay = Layout<S, T>;
  for (std::size_t j = std::size_t(tid); j < S::padded[Lyr + 1]; j += threads)
    sm.bias[Lay::b_off[Lyr] + j] = params[S::b_offset[Lyr] + j];
  if constexpr (Lyr + 1 < S::layers) load_biases<S, T, Lyr + 1>(sm, params, tid);
}

/**
 * @brief The fused step (or, with Mode::infer, inference) over n samples `x[n][in]`.
 * Grid: persistent blocks of `Layout::block_threads` threads and `Layout::bytes` of dynamic
 * shared memory; group g of block b takes tiles b·groups + g, then every
 * gridDim.x·groups-th. `w_low`: the weights converted by
 * `to_low_kernel`; `params`: the FP32 master block (biases are read from it). Training
 * writes group g of block b's gradient (not divided by n) to slice b·groups + g of
 * `partials` (S::param_count floats each) and
 * each sample's loss to `row_loss`; `y_out` (may be null when training) gets the outputs.
 */
template <class S, class T, Mode M>
CTNN_GLOBAL void CTNN_LAUNCH_BOUNDS((Layout<S, T>::block_threads))
    step_kernel(const T* __restrict__ w_low, const float* __restrict__ params, const float* __restrict__ x, int n,
                const float* __restrict__ targets, const std::int32_t* __restrict__ labels, float* __restrict__ y_out,
                float* __restrict__ row_loss, float* __restrict__ partials, unsigned* status) {
  using Lay = Layout<S, T>;
  constexpr std::size_t L = S::layers;
  static_assert(M == Mode::infer || S::outputs_suffice,
                "ctnn::cuda: the FP16/BF16 training kernel keeps only each layer's output, and an activation here needs "
                "its input for the derivative (needs_input: GELU, SiLU, a Custom expression); train with cuda::FP32");
  unsigned char* base = reinterpret_cast<unsigned char*>(dynamic_smem());
  const int all = int(threadIdx.x), group = all / threads, tid = all % threads, warp = tid / 32, lane = tid % 32;
  Smem<S, T> sm;
  sm.w = reinterpret_cast<T*>(base);
  sm.bias = reinterpret_cast<float*>(base + Lay::bias_at);
  unsigned char* mine = base + Lay::group_at + std::size_t(group) * Lay::group_bytes;
  sm.a = reinterpret_cast<T*>(mine);
  sm.sc = reinterpret_cast<float*>(mine + Lay::sc_at) + std::size_t(warp) * 16 * Lay::sc_ld;
  sm.group = group;

  // The weights, once per block (as 32-bit words: the layout is a whole number of them).
  {
    const auto* src = reinterpret_cast<const std::uint32_t*>(w_low);
    auto* dst = reinterpret_cast<std::uint32_t*>(sm.w);
    for (std::size_t i = std::size_t(all); i < Lay::w_elems / 2; i += Lay::block_threads) dst[i] = src[i];
  }
  if (group == 0) load_biases<S, T, 0>(sm, params, tid);
  const int slice = int(blockIdx.x) * Lay::groups + group, slices = int(gridDim.x) * Lay::groups;
  float* part = nullptr;
  if constexpr (M != Mode::infer) {
    part = partials + std::size_t(slice) * S::param_count;
    for (std::size_t i = std::size_t(tid); i < S::param_count; i += threads) part[i] = 0.0f;
  }
  CTNN_SYNC();

  constexpr int in = int(S::padded[0]), in_real = int(S::width[0]);
  constexpr std::size_t ld0 = Lay::a_ld[0];
  const int tiles = (n + tile_rows - 1) / tile_rows;
  for (int t = slice; t < tiles; t += slices) {
    const int row0 = t * tile_rows;
    T* a0 = sm.template act<0>();
    // Rows of whole 16-byte runs (and x itself 16-byte aligned): 8 values per load and store.
    if (in == in_real && reinterpret_cast<std::uintptr_t>(x) % 16 == 0) {
      for (int i = tid; i < tile_rows * in / 8; i += threads) {
        const int r = i / (in / 8), c = (i % (in / 8)) * 8, row = row0 + r;
        Pack8<T> p;
        if (row < n) {
          float v[8];
          load8(x + std::size_t(row) * in + c, v);
#pragma unroll
          for (int q = 0; q < 8; ++q) p.v[q] = from_float<T>(v[q]);
        } else {
#pragma unroll
          for (int q = 0; q < 8; ++q) p.v[q] = from_float<T>(0.0f);
        }
        *reinterpret_cast<Pack8<T>*>(a0 + std::size_t(r) * ld0 + c) = p;
      }
    } else {
      for (int i = tid; i < tile_rows * in; i += threads) {
        const int r = i / in, c = i % in, row = row0 + r;
        a0[std::size_t(r) * ld0 + c] =
            from_float<T>(row < n && c < in_real ? x[std::size_t(row) * in_real + c] : 0.0f);
      }
    }
    sync_group<Lay::groups>(group);
    tc_forward<S, T, 0>(sm, 16 * warp, lane);
    tc_loss<S, T, M>(sm, 16 * warp, lane, row0, n, targets, labels, y_out, row_loss, status);
    sync_group<Lay::groups>(group);
    if constexpr (M != Mode::infer) tc_backward<S, T, L - 1>(sm, warp, lane, part);
    sync_group<Lay::groups>(group);
  }
}

template <class S, class T, std::size_t Lyr>
CTNN_DEVICE void convert_weight(const float* params, T* w_low, std::size_t i) {
  using Lay = Layout<S, T>;
  if constexpr (Lyr + 1 < S::layers)
    if (i >= Lay::w_off[Lyr + 1]) return convert_weight<S, T, Lyr + 1>(params, w_low, i);
  constexpr std::size_t ld = Lay::w_ld[Lyr], out = S::padded[Lyr + 1];
  const std::size_t k = i - Lay::w_off[Lyr], row = k / ld, col = k % ld;
  w_low[i] = from_float<T>(col < out ? params[S::w_offset[Lyr] + row * out + col] : 0.0f);
}

/// Converts the FP32 master parameters to T in the kernel's weight layout (padding zero).
template <class S, class T>
CTNN_GLOBAL void to_low_kernel(const float* __restrict__ params, T* __restrict__ w_low) {
  using Lay = Layout<S, T>;
  const std::size_t i = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < Lay::w_elems) convert_weight<S, T, 0>(params, w_low, i);
}

}  // namespace tc
}  // namespace kernels
}  // namespace cuda
CTNN_END_NAMESPACE
