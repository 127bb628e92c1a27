#pragma once
/**
 * @file context.hpp
 * @brief What a pass hands to the layers beyond pointers: scratch, and for training
 * the seed and step that make stochastic layers (Dropout) reproducible.
 *
 * Most layers ignore it: `detail::layer_forward` / `detail::layer_backward` call the
 * context-taking overload when a layer has one and the plain one otherwise, so the
 * protocol in `layer_concepts.hpp` stays the minimum a layer must provide.
 */
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "../config.hpp"

CTNN_BEGIN_NAMESPACE

/**
 * @brief Told during a backward pass that the parameter gradients from offset `begin` to the
 * end of the block are final. The pass runs from the last layer to the first, so `begin`
 * never grows from one call to the next. Data-parallel training (`mpi::Bucketed`) starts
 * reducing those gradients while the earlier layers' are still being computed. A plain
 * function pointer and its argument: no allocation, callable from `noexcept` passes.
 */
struct GradientReady {
  void (*fn)(void* arg, std::size_t begin) noexcept = nullptr;
  void* arg = nullptr;
  void operator()(std::size_t begin) const noexcept {
    if (fn != nullptr) fn(arg, begin);
  }
};

/// Per-pass information for layers that need more than their input and parameters.
struct PassContext {
  float* scratch = nullptr;  ///< `layer_scratch_v<L, B>` floats for the running layer (SIMD backends)
  std::uint64_t seed = 0;    ///< training seed (Dropout masks)
  std::uint64_t step = 0;    ///< training step: a new mask every step
  std::size_t layer = 0;     ///< index of the running layer: independent masks per layer
  bool training = false;     ///< false in inference: Dropout is the identity
  /// True in a training forward (`forward_pass_saving`): a layer with `saved_floats` may then
  /// write that many values per sample after its B outputs, for its backward to read
  /// (a recurrent layer's gates). False in inference, where there is no room after y.
  bool saving = false;
  /// Truncated backpropagation through time: when not null, a layer with `carry_floats`
  /// starts each sample from the state stored here (B·carry_floats for the running layer) and
  /// stores its final state back, so the next batch continues the sequences of this one.
  float* carry = nullptr;
  /// Optional cache of transposed Dense weights, laid out like the parameter block of the
  /// pass: a pipeline stage runs several backward passes per step on the same weights and
  /// transposes them once (`transposed_ready` false on the first, true after).
  float* transposed = nullptr;
  bool transposed_ready = false;
  GradientReady ready{};  ///< called by the backward passes after each layer (or fused node)
};

namespace detail {

/// Forward of layer L, with the context when L takes one.
template <class L, std::size_t B, class Be, class T>
inline void layer_forward(Be be, const T* p, const T* x, T* y, const PassContext& ctx) noexcept {
  if constexpr (requires { L::template forward<B>(be, p, x, y, ctx); })
    L::template forward<B>(be, p, x, y, ctx);
  else
    L::template forward<B>(be, p, x, y);
}

/// Backward of layer L, with the context when L takes one.
template <class L, std::size_t B, class Be, class T>
inline void layer_backward(Be be, const T* p, const T* x, const T* y, const T* dy, T* dx, T* dp,
                           const PassContext& ctx) noexcept {
  if constexpr (requires { L::template backward<B>(be, p, x, y, dy, dx, dp, ctx); })
    L::template backward<B>(be, p, x, y, dy, dx, dp, ctx);
  else
    L::template backward<B>(be, p, x, y, dy, dx, dp);
}

}  // namespace detail

/// Values per sample layer L keeps for its backward beyond its output (`saved_floats`, else 0).
template <class L>
inline constexpr std::size_t layer_saved_v = [] {
  if constexpr (requires { L::saved_floats; })
    return std::size_t{L::saved_floats};
  else
    return std::size_t{0};
}();

/// State per sample layer L carries from one batch to the next in truncated BPTT (`carry_floats`, else 0).
template <class L>
inline constexpr std::size_t layer_carry_v = [] {
  if constexpr (requires { L::carry_floats; })
    return std::size_t{L::carry_floats};
  else
    return std::size_t{0};
}();

namespace detail {
/// Floats of state layer L keeps between the steps of a stream (`stream_state_floats`, else 0).
template <class L>
inline constexpr std::size_t stream_state_v = [] {
  if constexpr (requires { L::stream_state_floats; })
    return std::size_t{L::stream_state_floats};
  else
    return std::size_t{0};
}();
}  // namespace detail

/// Scratch floats layer L asks of a SIMD backend at batch B in training (its `scratch_floats<B>`, else 0).
template <class L, std::size_t B>
inline constexpr std::size_t layer_scratch_v = [] {
  if constexpr (requires { L::template scratch_floats<B>; })
    return std::size_t{L::template scratch_floats<B>};
  else
    return std::size_t{0};
}();

/// Scratch floats layer L asks for in inference (its `inference_scratch_floats<B>`, else the training figure).
template <class L, std::size_t B>
inline constexpr std::size_t layer_inference_scratch_v = [] {
  if constexpr (requires { L::template inference_scratch_floats<B>; })
    return std::size_t{L::template inference_scratch_floats<B>};
  else
    return layer_scratch_v<L, B>;
}();

CTNN_END_NAMESPACE
