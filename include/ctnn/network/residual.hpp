#pragma once
/**
 * @file residual.hpp
 * @brief `ctnn::Residual<Layers...>`: y = x + f(x), where f is the chain of layers inside.
 *
 * The layers inside are bound to the Residual's input shape as a network of their own
 * (`bind::inner`, a `Net` type whose parameters are a slice of the outer block), and run by
 * the same passes as any network: fused on SIMD backends. A training forward keeps the inner
 * network's activation store, and two gradient buffers for backward, among the Residual's
 * saved values; inference uses the layer scratch the executors provide. Streams run the
 * inner layers step by step; truncated BPTT carries the states of recurrent layers inside.
 */
#include <algorithm>
#include <array>
#include <cstddef>
#include <span>
#include <type_traits>

#include "../layers/input.hpp"
#include "fusion.hpp"
#include "net.hpp"
#include "passes.hpp"
#include "stream.hpp"

CTNN_BEGIN_NAMESPACE

namespace detail {
template <class S>
struct input_of;
template <std::size_t... D>
struct input_of<Shape<D...>> {
  using type = Input<D...>;
};

/// The initialiser a `Residual` receives from `Net::init(seed)`: each layer inside then uses its own default.
struct LayerDefaults {
  static float draw(Rng&, std::size_t, std::size_t) noexcept { return 0.0f; }
};
}  // namespace detail

/**
 * @brief y = x + f(x), f the layers `Tags...` in order; they must return the shape they take.
 * Parameters: those of the layers inside, in order. Works on any shape (flat, sequences,
 * images), in training, inference and streams.
 */
template <class... Tags>
struct Residual {
  template <std::size_t Index, class In, bool Last>
  struct check {
    static_assert(detail::at_layer<Index>::template holds<(sizeof...(Tags) > 0)>,
                  "ctnn::Residual<>: name the layers of the residual branch, e.g. Residual<Dense<64>, ReLU, Dense<64>>");
    static_assert(detail::at_layer<Index>::template holds<
                      std::is_same_v<typename bind_layers_t<In, Tags...>::shape, In>>,
                  "ctnn::Residual: the layers inside must return the shape they take (y = x + f(x)); make the "
                  "last layer inside give the Residual's input shape");
  };

  template <class In>
  struct bind {
    using inner = Net<typename detail::input_of<In>::type, Tags...>;  ///< the branch, as a network type
    using tag = Residual;
    using input_shape = In;
    using output_shape = In;
    using default_init = detail::LayerDefaults;
    static constexpr std::size_t param_count = inner::param_count;
    static constexpr std::size_t flops = inner::flops_forward + In::size;
    static constexpr bool trainable = param_count > 0;
    /// Training: the branch's activation store, then two gradient buffers, per sample.
    static constexpr std::size_t saved_floats = inner::activation_count + 2 * inner::max_width;
    static constexpr std::size_t carry_floats = inner::carry_count;
    static constexpr std::size_t stream_state_floats = detail::stream_plan<inner, backend::scalar>::state_floats;

    /// Scratch of the layers inside in training (and of the fused backward on SIMD backends).
    template <std::size_t B>
    static constexpr std::size_t scratch_floats = FusionPlan<inner>::template backward_scratch<B>;
    /// Inference: two buffers for the branch's tensors, then the scratch of the layers inside.
    template <std::size_t B>
    static constexpr std::size_t inference_scratch_floats = 2 * inner::max_width * B + inner::template inference_scratch<B>;

    static PassContext inner_context(const PassContext& ctx) noexcept {
      PassContext c = ctx;
      c.transposed = nullptr;  // laid out for the outer block
      c.ready = {};            // the outer pass reports the Residual as one layer
      return c;
    }

    template <std::size_t B, class Be, class T>
    static void forward(Be be, const T* p, const T* x, T* y, const PassContext& ctx) noexcept {
      PassContext c = inner_context(ctx);
      if (ctx.saving) {
        T* store = y + B * In::size;
        if constexpr (SimdBackend<Be> && std::is_same_v<T, float>)
          fused_forward_pass_saving<inner, B>(be, p, x, store, c);
        else
          forward_pass_saving<inner, B>(be, p, x, store, c);
        const T* f = store + inner::activation_offsets[inner::layer_count - 1] * B;
        for (std::size_t i = 0; i < B * In::size; ++i) y[i] = x[i] + f[i];
      } else if constexpr (std::is_same_v<T, float>) {  // inference runs in float (its scratch is float)
        float* s0 = ctx.scratch;
        float* s1 = s0 + inner::max_width * B;
        c.scratch = s1 + inner::max_width * B;
        if constexpr (SimdBackend<Be>)
          fused_forward_pass<inner, B>(be, p, x, y, s0, s1, c);
        else
          forward_pass<inner, B>(be, p, x, y, s0, s1, c);
        for (std::size_t i = 0; i < B * In::size; ++i) y[i] += x[i];
      }
    }

    /// The passes always give a context; without one there is no scratch for the branch.
    template <std::size_t B, class Be, class T>
    static void forward(Be, const T*, const T*, T*) noexcept {
      static_assert(B == 0, "ctnn::Residual: runs only in passes that give a PassContext (its scratch)");
    }
    template <std::size_t B, class Be, class T>
    static void backward(Be be, const T* p, const T* x, const T* y, const T* dy, T* dx, T* dp) noexcept {
      backward<B>(be, p, x, y, dy, dx, dp, PassContext{});
    }

    /// dx = dy + the branch's input gradient; the branch's parameter gradients into dp. Uses
    /// the saved values of a saving forward (the two gradient buffers among them).
    template <std::size_t B, class Be, class T>
    static void backward(Be be, const T* p, const T* x, const T* y, const T* dy, T* dx, T* dp,
                         const PassContext& ctx) noexcept {
      // The saved values are this layer's own part of the pass's activation store.
      T* store = const_cast<T*>(y) + B * In::size;
      T* g0 = store + inner::activation_count * B;
      T* g1 = g0 + inner::max_width * B;
      const PassContext c = inner_context(ctx);
      if constexpr (SimdBackend<Be> && std::is_same_v<T, float>)
        fused_backward_pass<inner, B>(be, p, x, store, dy, dp, g0, g1, ctx.scratch, c, dx);
      else
        backward_pass<inner, B>(be, p, x, store, dy, dp, g0, g1, c, dx);
      if (dx != nullptr)
        for (std::size_t i = 0; i < B * In::size; ++i) dx[i] += dy[i];
    }

    /// One streaming step: the branch's layers step by step, plus x.
    template <class Be>
    static void stream_step(Be, const float* p, float* state, const float* x, float* y) noexcept {
      using plan = detail::stream_plan<inner, Be>;
      std::array<float, 2 * plan::width> buf;
      plan::step(p, state, buf.data(), x, y);
      for (std::size_t i = 0; i < plan::output_width; ++i) y[i] += x[i];
    }

    template <Initializer I>
    static void init(I ini, std::span<float> p, Rng& rng) noexcept {
      [&]<std::size_t... J>(std::index_sequence<J...>) {
        (
            [&] {
              using Lay = typename inner::template layer<J>;
              if constexpr (Lay::trainable) {
                auto slice = p.subspan(inner::param_offsets[J], inner::param_sizes[J]);
                if constexpr (std::is_same_v<I, detail::LayerDefaults>)
                  Lay::init(typename Lay::default_init{}, slice, rng);
                else
                  Lay::init(ini, slice, rng);
              }
            }(),
            ...);
      }(std::make_index_sequence<inner::layer_count>{});
    }
  };
};

CTNN_END_NAMESPACE
