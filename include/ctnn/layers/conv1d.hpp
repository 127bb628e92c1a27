#pragma once
/**
 * @file conv1d.hpp
 * @brief `ctnn::Conv1D<Out, K, Dilation>`: a causal, dilated 1-D convolution over a
 * sequence, the building block of WaveNet- and TCN-style stacks.
 */
#include <algorithm>
#include <array>
#include <cstddef>
#include <type_traits>
#include <span>

#include "../init/initializers.hpp"
#include "context.hpp"
#include "layer_concepts.hpp"
#include "row_ops.hpp"

CTNN_BEGIN_NAMESPACE

/**
 * @brief Causal convolution with a bias over `Shape<T, C>`, giving `Shape<T, Out>`:
 * `y[t][o] = b[o] + Σ_k Σ_c W[k][c][o] · x[t - (K-1-k)·Dilation][c]`, with x = 0 before the
 * first step (stride 1; the output at step t sees no input after t). Parameters: W
 * `[K][C][Out]`, then b `[Out]`. PyTorch's `nn.Conv1d(C, Out, K, dilation=D,
 * padding=(K-1)*D)` followed by keeping the first T outputs computes the same, with its
 * weight `[Out, C, K]`.
 */
template <std::size_t Out, std::size_t K, std::size_t Dilation = 1>
struct Conv1D {
  static constexpr std::size_t outputs = Out;

  template <std::size_t Index, class In, bool Last>
  struct check {
    static_assert(detail::at_layer<Index>::template holds<(Out > 0 && K > 0 && Dilation > 0)>,
                  "ctnn::Conv1D<Out, K, Dilation>: every argument must be at least 1");
    static_assert(detail::at_layer<Index>::template holds<(In::rank == 2)>,
                  "ctnn::Conv1D: expects a sequence Shape<T, C> (T steps of C channels); declare the input as "
                  "Input<T, C>");
  };

  template <class In>
  struct bind;

  template <std::size_t T, std::size_t C>
  struct bind<Shape<T, C>> {
    using tag = Conv1D;
    using input_shape = Shape<T, C>;
    using output_shape = Shape<T, Out>;
    using default_init = init::HeUniform;
    static constexpr std::size_t steps = T;
    static constexpr std::size_t in_channels = C;
    static constexpr std::size_t out_channels = Out;
    static constexpr std::size_t kernel = K;
    static constexpr std::size_t dilation = Dilation;
    static constexpr std::size_t weight_count = K * C * Out;
    static constexpr std::size_t param_count = weight_count + Out;
    static constexpr std::size_t flops = T * (2 * K * C * Out + Out);  ///< as if no step were before the first
    static constexpr bool trainable = true;
    /// Offset in steps of kernel tap k behind the current step.
    static constexpr std::size_t lag(std::size_t k) noexcept { return (K - 1 - k) * Dilation; }

    /// Rows of input before a window that its first steps reach: (K-1)·Dilation.
    static constexpr std::size_t past = (K - 1) * Dilation;
    /// Past inputs a streaming runner keeps: those rows and the current one (a ring), and the ring position.
    static constexpr std::size_t history = past + 1;
    static constexpr std::size_t stream_state_floats = history * C + 1;
    /// Truncated BPTT carries those rows from one window to the next (per sample)...
    static constexpr std::size_t carry_floats = past * C;
    /// ... and a training forward keeps the ones it started from, for the weight gradient.
    static constexpr std::size_t saved_floats = past * C;

    /// Input row u of sample b, u counted from the window's first step (negative: before it,
    /// from `hist`, the `past` rows before the window; null without them, i.e. zeros).
    template <class Tv>
    static const Tv* row(const Tv* x, const Tv* hist, std::size_t b, long u) noexcept {
      if (u >= 0) return x + (b * T + static_cast<std::size_t>(u)) * C;
      if (hist == nullptr) return nullptr;
      return hist + (b * past + static_cast<std::size_t>(static_cast<long>(past) + u)) * C;
    }

    /// With `ctx.carry` (float), the window continues the rows carried from the previous one
    /// and leaves its own last rows there; with `ctx.saving`, the rows it started from (zeros
    /// without a carry) go after y.
    template <std::size_t B, class Be, class Tv>
    static void forward(Be, const Tv* p, const Tv* x, Tv* y, const PassContext& ctx) noexcept {
      Tv* hist = nullptr;  // the rows before the window: the carried ones, else none
      if constexpr (std::is_same_v<Tv, float>) hist = ctx.carry;
      if constexpr (past > 0) {
        if (ctx.saving) {
          Tv* saved = y + B * T * Out;
          for (std::size_t i = 0; i < B * past * C; ++i) saved[i] = hist != nullptr ? hist[i] : Tv(0);
        }
      }
      for (std::size_t b = 0; b < B; ++b)
        for (std::size_t t = 0; t < T; ++t) {
          Tv* yt = y + (b * T + t) * Out;
          for (std::size_t o = 0; o < Out; ++o) yt[o] = p[weight_count + o];
          for (std::size_t k = 0; k < K; ++k)
            if (const Tv* r = row(x, hist, b, static_cast<long>(t) - static_cast<long>(lag(k))))
              detail::add_row_times<C, Out>(r, p + k * C * Out, yt);
        }
      if constexpr (past > 0) {
        if (hist != nullptr)  // the last `past` rows of (carried rows, this window), oldest first
          for (std::size_t b = 0; b < B; ++b) {
            std::array<Tv, past * C> next;
            for (std::size_t j = 0; j < past; ++j) {
              const Tv* r = row(x, hist, b, static_cast<long>(T + j) - static_cast<long>(past));
              std::copy_n(r, C, next.data() + j * C);
            }
            std::copy(next.begin(), next.end(), hist + b * past * C);
          }
      }
    }
    template <std::size_t B, class Be, class Tv>
    static void forward(Be be, const Tv* p, const Tv* x, Tv* y) noexcept {
      forward<B>(be, p, x, y, PassContext{});
    }
    /// Accumulates into dp; dx may be null (no input gradient wanted). Rows before the window
    /// (carried, saved by the forward) take part in the weight gradient; the gradient stops there.
    template <std::size_t B, class Be, class Tv>
    static void backward(Be, const Tv* p, const Tv* x, const Tv* y, const Tv* dy, Tv* dx, Tv* dp) noexcept {
      const Tv* hist = past > 0 ? y + B * T * Out : nullptr;  // the rows before the window, saved
      if (dx != nullptr)
        for (std::size_t i = 0; i < B * T * C; ++i) dx[i] = Tv(0);
      for (std::size_t b = 0; b < B; ++b)
        for (std::size_t t = 0; t < T; ++t) {
          const Tv* dyt = dy + (b * T + t) * Out;
          for (std::size_t o = 0; o < Out; ++o) dp[weight_count + o] += dyt[o];
          for (std::size_t k = 0; k < K; ++k) {
            const long u = static_cast<long>(t) - static_cast<long>(lag(k));
            const Tv* src = row(x, hist, b, u);
            Tv* dsrc = (u >= 0 && dx != nullptr) ? dx + (src - x) : nullptr;
            detail::back_row_times<C, Out>(p + k * C * Out, src, dyt, dp + k * C * Out, dsrc);
          }
        }
    }
    /// One streaming step: x (C floats) in, y (Out floats) out; `state` keeps the past inputs.
    template <class Be>
    static void stream_step(Be, const float* p, float* state, const float* x, float* y) noexcept {
      const auto at = static_cast<std::size_t>(state[history * C]);  // the row the current step takes
      for (std::size_t c = 0; c < C; ++c) state[at * C + c] = x[c];
      for (std::size_t o = 0; o < Out; ++o) y[o] = p[weight_count + o];
      for (std::size_t k = 0; k < K; ++k) {
        const std::size_t row = (at + history - lag(k)) % history;
        detail::add_row_times<C, Out>(state + row * C, p + k * C * Out, y);
      }
      state[history * C] = static_cast<float>((at + 1) % history);
    }
    template <Initializer I>
    static void init(I, std::span<float> p, Rng& rng) noexcept {
      for (std::size_t k = 0; k < weight_count; ++k) p[k] = I::draw(rng, K * C, K * Out);
      for (std::size_t k = weight_count; k < param_count; ++k) p[k] = 0.0f;
    }
  };
};

CTNN_END_NAMESPACE
