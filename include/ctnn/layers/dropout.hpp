#pragma once
/**
 * @file dropout.hpp
 * @brief `ctnn::Dropout<Permille>`: zeroes a random Permille/1000 of its inputs while
 * training and scales the rest by 1000/(1000 − Permille); the identity in inference.
 *
 * The mask is not stored: element i of layer l at step t is kept iff a counter-based
 * hash of (seed, t, l, i) clears a threshold, so backward recomputes the same mask,
 * the same seed gives the same training run, and every step draws a new mask.
 */
#include <cstddef>
#include <cstdint>

#include "context.hpp"
#include "layer_concepts.hpp"

CTNN_BEGIN_NAMESPACE

namespace detail {
inline constexpr std::uint64_t mix64(std::uint64_t z) noexcept {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
/// Key of one layer's mask at one step.
inline constexpr std::uint64_t dropout_key(const PassContext& ctx) noexcept {
  return mix64(mix64(ctx.seed ^ 0x6a09e667f3bcc909ULL) + mix64(ctx.step * 0x9e3779b97f4a7c15ULL + ctx.layer));
}
}  // namespace detail

/// Dropout with rate Permille/1000 (0 ≤ Permille < 1000), seeded by the trainer.
template <std::size_t Permille>
struct Dropout {
  static constexpr std::size_t permille = Permille;

  template <std::size_t Index, class In, bool Last>
  struct check {
    static_assert(detail::at_layer<Index>::template holds<(Permille < 1000)>,
                  "ctnn::Dropout<Permille>: the rate is Permille/1000 and must be below 1000 (Dropout<500> "
                  "drops half)");
  };

  template <class In>
  struct bind {
    using tag = Dropout;
    using input_shape = In;
    using output_shape = In;
    static constexpr std::size_t param_count = 0;
    static constexpr std::size_t flops = In::size;
    static constexpr bool trainable = false;
    /// Hash values below this are dropped (a 32-bit fraction Permille/1000).
    static constexpr std::uint64_t threshold = (std::uint64_t{Permille} << 32) / 1000;

    /// Whether element i is kept under `key`.
    static constexpr bool kept(std::uint64_t key, std::size_t i) noexcept {
      return (detail::mix64(key + i * 0xd1b54a32d192ed03ULL) >> 32) >= threshold;
    }

    template <std::size_t B, class Be, class T>
    static void forward(Be, const T*, const T* x, T* y) noexcept {
      for (std::size_t i = 0; i < B * In::size; ++i) y[i] = x[i];
    }
    template <std::size_t B, class Be, class T>
    static void forward(Be be, const T* p, const T* x, T* y, const PassContext& ctx) noexcept {
      if (!ctx.training) return forward<B>(be, p, x, y);
      apply<B>(x, y, ctx);
    }
    /// Without a context there was no mask: the gradient passes unchanged.
    template <std::size_t B, class Be, class T>
    static void backward(Be, const T*, const T*, const T*, const T* dy, T* dx, T*) noexcept {
      if (dx != nullptr)
        for (std::size_t i = 0; i < B * In::size; ++i) dx[i] = dy[i];
    }
    template <std::size_t B, class Be, class T>
    static void backward(Be be, const T* p, const T* x, const T* y, const T* dy, T* dx, T* dp,
                         const PassContext& ctx) noexcept {
      if (dx == nullptr) return;
      if (!ctx.training) return backward<B>(be, p, x, y, dy, dx, dp);
      apply<B>(dy, dx, ctx);
    }

   private:
    template <std::size_t B, class T>
    static void apply(const T* in, T* out, const PassContext& ctx) noexcept {
      constexpr T scale = T(1000) / T(1000 - Permille);
      const std::uint64_t key = detail::dropout_key(ctx);
      for (std::size_t i = 0; i < B * In::size; ++i) out[i] = kept(key, i) ? in[i] * scale : T(0);
    }
  };
};

CTNN_END_NAMESPACE
