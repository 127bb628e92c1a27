#pragma once
/**
 * @file passes.hpp
 * @brief Forward and backward passes over the bound layer list, as folds, on any backend
 * and in float or double (the gradient checks run them in double).
 */
#include <cstddef>
#include <utility>

#include "../backends/tags.hpp"
#include "../layers/context.hpp"

CTNN_BEGIN_NAMESPACE

/// `ctx` as seen by layer `index` of the pass (`ctx.layer` is the index of the pass's
/// first layer in the whole network: a pipeline stage runs a slice).
inline PassContext at_layer_context(PassContext ctx, std::size_t index) noexcept {
  ctx.layer += index;
  return ctx;
}

/// `ctx` as seen by layer I of `NetT` in a forward pass at batch B: its index, and its slice of
/// the carried states.
template <class NetT, std::size_t B>
PassContext forward_context(const PassContext& ctx, std::size_t I) noexcept {
  PassContext c = at_layer_context(ctx, I);
  if (c.carry != nullptr) c.carry += NetT::carry_offsets[I] * B;
  return c;
}

/**
 * @brief Inference forward for a batch of B: layer outputs alternate between two
 * scratch buffers of `NetT::max_width * B` values; the last layer writes y.
 */
template <class NetT, std::size_t B, class Be, class T>
void forward_pass(Be be, const T* params, const T* x, T* y, T* scratch0, T* scratch1,
                  const PassContext& ctx = {}) noexcept {
  constexpr std::size_t L = NetT::layer_count;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    const T* in = x;
    (
        [&] {
          T* out = (I + 1 == L) ? y : (I % 2 == 0 ? scratch0 : scratch1);
          detail::layer_forward<typename NetT::template layer<I>, B>(be, params + NetT::param_offsets[I], in, out,
                                                                     forward_context<NetT, B>(ctx, I));
          in = out;
        }(),
        ...);
  }(std::make_index_sequence<L>{});
}

/**
 * @brief Training forward: layer I writes `outs + NetT::activation_offsets[I] * B`, so the
 * backward pass finds every layer's input and output; a layer with `saved_floats` writes
 * those after its output (`ctx.saving` is set).
 */
template <class NetT, std::size_t B, class Be, class T>
void forward_pass_saving(Be be, const T* params, const T* x, T* outs, PassContext ctx = {}) noexcept {
  constexpr std::size_t L = NetT::layer_count;
  ctx.saving = true;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    const T* in = x;
    (
        [&] {
          T* out = outs + NetT::activation_offsets[I] * B;
          detail::layer_forward<typename NetT::template layer<I>, B>(be, params + NetT::param_offsets[I], in, out,
                                                                     forward_context<NetT, B>(ctx, I));
          in = out;
        }(),
        ...);
  }(std::make_index_sequence<L>{});
}

/**
 * @brief Backward from the gradient of the last output, `dy`, through every layer in
 * reverse; parameter gradients are accumulated (+=) into `grads` (same layout as the
 * parameters). The input gradient is not computed. Scratch buffers hold
 * `NetT::max_width * B` values each. `dx_first`, when not null, receives the gradient of
 * the pass's input (a pipeline stage sends it to the stage before).
 */
template <class NetT, std::size_t B, class Be, class T>
void backward_pass(Be be, const T* params, const T* x, const T* outs, const T* dy, T* grads, T* scratch0,
                   T* scratch1, const PassContext& ctx = {}, T* dx_first = nullptr) noexcept {
  constexpr std::size_t L = NetT::layer_count;
  [&]<std::size_t... K>(std::index_sequence<K...>) {
    const T* d = dy;
    (
        [&] {
          constexpr std::size_t I = L - 1 - K;
          const T* in = I == 0 ? x : outs + NetT::activation_offsets[I == 0 ? 0 : I - 1] * B;
          const T* out = outs + NetT::activation_offsets[I] * B;
          T* dx = I == 0 ? dx_first : (K % 2 == 0 ? scratch0 : scratch1);
          detail::layer_backward<typename NetT::template layer<I>, B>(be, params + NetT::param_offsets[I], in, out, d,
                                                                      dx, grads + NetT::param_offsets[I],
                                                                      at_layer_context(ctx, I));
          ctx.ready(NetT::param_offsets[I]);
          d = dx;
        }(),
        ...);
  }(std::make_index_sequence<L>{});
}

CTNN_END_NAMESPACE
