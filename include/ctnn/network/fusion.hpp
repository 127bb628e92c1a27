#pragma once
/**
 * @file fusion.hpp
 * @brief The fusion plan: a compile-time rewrite of the bound layer list into nodes,
 * and the forward and backward passes over those nodes on a SIMD backend.
 *
 * Rule: a `Dense` or `Conv2D` followed by element-wise activations that have a vector
 * form (one, or a chain of several) becomes one node whose GEMM epilogue adds the bias
 * and applies them all in registers; a `Dense` or `Conv2D` alone is a node with the identity; every
 * other layer is a node of its own and runs its own kernels (falling back to the
 * scalar ones by inheritance). Backward of a dense node computes dz = dy ⊙ act' together with the
 * bias gradient in one pass, then both products.
 *
 * Activation storage keeps the per-layer slots of `Net::activation_offsets`: a fused
 * node writes the activation's output into its slot, and the pre-activation into the
 * Dense slot only when the derivative needs it.
 */
#include <algorithm>
#include <array>
#include <cstddef>
#include <type_traits>
#include <utility>

#include "../activations/activation_concepts.hpp"
#include "../backends/simd/dense.hpp"
#include "../layers/conv2d.hpp"
#include "../layers/dense.hpp"
#include "passes.hpp"

CTNN_BEGIN_NAMESPACE

namespace detail {
template <class T>
inline constexpr bool is_conv_v = false;
template <std::size_t O, std::size_t KH, std::size_t KW, std::size_t SH, std::size_t SW, std::size_t PH, std::size_t PW>
inline constexpr bool is_conv_v<Conv2DRect<O, KH, KW, SH, SW, PH, PW>> = true;
}  // namespace detail

/**
 * @brief The compile-time execution plan of `NetT`: its layers rewritten into nodes, each an
 * op (a `Dense`, a `Conv2D`, or any other layer running its own kernels), the epilogue chain
 * fused behind it, its slice of the parameter block and the activation slots it fills.
 * Every executor reads it: `Trainer` and `Net`'s passes, `Predictor`, the pipeline's
 * stages, `DataParallel`'s strategies and the CUDA MLP spec.
 *
 * - `first[n]`, `length[n]`: node n is layers [first[n], first[n] + length[n]); `count` nodes.
 * - `head<n>`: its op's bound layer; `dense_node<n>`, `conv_node<n>` say which op it is.
 * - `activation<n>`: what its epilogue applies (Identity, one activation, or a `Chain`).
 * - `param_begin[n]`, `param_size[n]`: its parameters (weights, then bias) in the block.
 * - `output_slot[n]`: where its output lies among the saved activations (per sample; × B
 *   for a batch), the slot of its last layer; `saves_pre_activation[n]`: whether its head's
 *   slot (`NetT::activation_offsets[first[n]]`) also keeps x W + b, which the derivative of
 *   the fused activation reads.
 */
template <class NetT>
struct FusionPlan {
  static constexpr std::size_t L = NetT::layer_count;

  template <std::size_t I>
  static constexpr bool dense_at = detail::is_dense_v<typename NetT::template layer<I>::tag>;
  template <std::size_t I>
  static constexpr bool conv_at = detail::is_conv_v<typename NetT::template layer<I>::tag>;
  /// Whether layer I heads a node that fuses the activations behind it.
  template <std::size_t I>
  static constexpr bool head_at = dense_at<I> || conv_at<I>;
  /// Whether layer I is an activation a node fuses: one written in `ctnn::math`
  /// (`FusableActivation`, on every build, so that host and CUDA device code see one plan),
  /// or one with a vector form of its own.
  template <std::size_t I>
  static constexpr bool fusible_activation_at = [] {
    if constexpr (I >= L)
      return false;
    else
      return FusableActivation<typename NetT::template layer<I>::tag> ||
             kernel::simd::vector_activation<typename NetT::template layer<I>::tag>::supported;
  }();

 private:
  static constexpr auto build() {
    constexpr auto dense = [&]<std::size_t... I>(std::index_sequence<I...>) {
      return std::array<bool, L>{head_at<I>...};
    }(std::make_index_sequence<L>{});
    constexpr auto act = [&]<std::size_t... I>(std::index_sequence<I...>) {
      return std::array<bool, L + 1>{fusible_activation_at<I>..., false};
    }(std::make_index_sequence<L>{});
    struct Plan {
      std::array<std::size_t, L> first{}, length{};
      std::size_t count = 0;
    } p;
    for (std::size_t i = 0; i < L;) {
      std::size_t len = 1;
      if (dense[i])
        while (act[i + len]) ++len;
      p.first[p.count] = i;
      p.length[p.count] = len;
      ++p.count;
      i += len;
    }
    return p;
  }
  static constexpr auto plan_ = build();

  template <std::size_t N>
  static constexpr auto activation_of() {
    constexpr std::size_t f = plan_.first[N], len = plan_.length[N];
    if constexpr (len == 1)
      return std::type_identity<Identity>{};
    else if constexpr (len == 2)
      return std::type_identity<typename NetT::template layer<f + 1>::tag>{};
    else
      return [&]<std::size_t... K>(std::index_sequence<K...>) {
        return std::type_identity<kernel::simd::Chain<typename NetT::template layer<f + 1 + K>::tag...>>{};
      }(std::make_index_sequence<len - 1>{});
  }

  template <class F>
  static constexpr auto per_node(F f) {
    return [&]<std::size_t... N>(std::index_sequence<N...>) {
      return std::array<decltype(f.template operator()<0>()), plan_.count>{f.template operator()<N>()...};
    }(std::make_index_sequence<plan_.count>{});
  }

 public:
  static constexpr std::size_t count = plan_.count;     ///< nodes after fusion
  static constexpr auto first = plan_.first;            ///< first layer of each node
  static constexpr auto length = plan_.length;          ///< layers in each node

  template <std::size_t N>
  using head = typename NetT::template layer<first[N]>;
  template <std::size_t N>
  static constexpr bool dense_node = dense_at<first[N]>;
  template <std::size_t N>
  static constexpr bool conv_node = conv_at<first[N]>;
  template <std::size_t N>
  using activation = typename decltype(activation_of<N>())::type;

  static constexpr auto param_begin = per_node([]<std::size_t N>() { return NetT::param_offsets[first[N]]; });
  static constexpr auto param_size = per_node([]<std::size_t N>() {
    return (first[N] + length[N] < L ? NetT::param_offsets[first[N] + length[N]] : NetT::param_count) -
           NetT::param_offsets[first[N]];
  });
  static constexpr auto output_slot =
      per_node([]<std::size_t N>() { return NetT::activation_offsets[first[N] + length[N] - 1]; });
  static constexpr auto saves_pre_activation = per_node([]<std::size_t N>() {
    using A = activation<N>;
    if constexpr (length[N] < 2)
      return false;
    else if constexpr (FusableActivation<A>)
      return bool(A::needs_input);
    else if constexpr (requires { kernel::simd::vector_activation<A>::needs_input; })
      return bool(kernel::simd::vector_activation<A>::needs_input);
    else
      return true;  // a Chain recomputes from z
  });

  /// Extra scratch floats a training pass on a SIMD backend needs for batch B (dz, Wᵀ, padding).
  template <std::size_t B>
  static constexpr std::size_t backward_scratch = [] {
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
      std::size_t m = 0;
      (
          [&] {
            using Lay = typename NetT::template layer<I>;
#if CTNN_SIMD
            if constexpr (dense_at<I>)
              m = std::max(m, kernel::simd::dense_backward_scratch<Lay::in, Lay::out, B * Lay::steps>);
#endif
            m = std::max(m, layer_scratch_v<Lay, B>);
          }(),
          ...);
      return m;
    }(std::make_index_sequence<L>{});
  }();
};

namespace detail {
/// What a dense node applies in its epilogue: Identity, one activation, or a Chain.
template <class NetT, std::size_t N>
using node_activation = typename FusionPlan<NetT>::template activation<N>;
}  // namespace detail

#if CTNN_SIMD
/// Inference forward of fused node N alone at batch B (SIMD backends).
template <class NetT, std::size_t N, std::size_t B, SimdBackend Be>
void fused_node_forward(Be be, const float* params, const float* in, float* out, const PassContext& ctx) noexcept {
  using P = FusionPlan<NetT>;
  using Lay = typename P::template head<N>;
  using Act = typename P::template activation<N>;
  const float* p = params + P::param_begin[N];
  if constexpr (P::template dense_node<N>)
    kernel::dense_act_forward<Lay::in, Lay::out, B * Lay::steps, Act>(be, p, p + Lay::weight_count, in, out, nullptr);
  else if constexpr (P::template conv_node<N>)
    kernel::conv_act_forward<typename Lay::geometry, Lay::out_channels, B, Act>(be, p, p + Lay::weight_count, in, out,
                                                                               nullptr, ctx.scratch);
  else
    detail::layer_forward<Lay, B>(be, p, in, out, forward_context<NetT, B>(ctx, P::first[N]));
}

/// Inference forward over the fused nodes (SIMD backends); scratch as in `forward_pass`.
template <class NetT, std::size_t B, SimdBackend Be>
void fused_forward_pass(Be be, const float* params, const float* x, float* y, float* scratch0, float* scratch1,
                        const PassContext& ctx = {}) noexcept {
  using P = FusionPlan<NetT>;
  [&]<std::size_t... N>(std::index_sequence<N...>) {
    const float* in = x;
    (
        [&] {
          float* out = (N + 1 == P::count) ? y : (N % 2 == 0 ? scratch0 : scratch1);
          fused_node_forward<NetT, N, B>(be, params, in, out, ctx);
          in = out;
        }(),
        ...);
  }(std::make_index_sequence<P::count>{});
}

/// Training forward over the fused nodes, filling the per-layer activation slots. With
/// `Start` > 0 the nodes before it are taken as done (their slots filled by the caller).
template <class NetT, std::size_t B, std::size_t Start = 0, SimdBackend Be>
void fused_forward_pass_saving(Be be, const float* params, const float* x, float* outs,
                               PassContext ctx = {}) noexcept {
  using P = FusionPlan<NetT>;
  ctx.saving = true;
  static_assert(Start <= P::count, "fused_forward_pass_saving: Start is past the last node");
  [&]<std::size_t... K>(std::index_sequence<K...>) {
    const float* in = x;
    if constexpr (Start > 0) in = outs + P::output_slot[Start - 1] * B;
    (
        [&] {
          constexpr std::size_t N = Start + K;
          constexpr std::size_t I = P::first[N];
          using Lay = typename P::template head<N>;
          using Act = typename P::template activation<N>;
          float* out = outs + P::output_slot[N] * B;
          const float* p = params + P::param_begin[N];
          float* z = P::saves_pre_activation[N] ? outs + NetT::activation_offsets[I] * B : nullptr;
          if constexpr (P::template dense_node<N>)
            kernel::dense_act_forward<Lay::in, Lay::out, B * Lay::steps, Act>(be, p, p + Lay::weight_count, in, out,
                                                                              z);
          else if constexpr (P::template conv_node<N>)
            kernel::conv_act_forward<typename Lay::geometry, Lay::out_channels, B, Act>(be, p, p + Lay::weight_count,
                                                                                       in, out, z, ctx.scratch);
          else
            detail::layer_forward<Lay, B>(be, p, in, out, forward_context<NetT, B>(ctx, I));
          in = out;
        }(),
        ...);
  }(std::make_index_sequence<P::count - Start>{});
}

/**
 * @brief Backward over the fused nodes in reverse. Scratch: two buffers of
 * `max_width · B` floats as in `backward_pass`, plus `FusionPlan::backward_scratch<B>`;
 * `dx_first` as in `backward_pass`. With `Stop` > 0 the nodes before `Stop` are left
 * out (a caller that splits the first node's work itself). After each node, `ctx.ready`
 * is told that the gradients from the node's first parameter on are final.
 * @return the gradient reaching the output of node `Stop` (in a scratch buffer, or `dy`).
 */
template <class NetT, std::size_t B, std::size_t Stop = 0, SimdBackend Be>
const float* fused_backward_pass(Be be, const float* params, const float* x, const float* outs, const float* dy,
                                 float* grads, float* scratch0, float* scratch1, float* extra,
                                 const PassContext& ctx = {}, float* dx_first = nullptr) noexcept {
  using P = FusionPlan<NetT>;
  constexpr std::size_t C = P::count;
  static_assert(Stop <= C, "fused_backward_pass: Stop is past the last node");
  const float* d = dy;
  [&]<std::size_t... K>(std::index_sequence<K...>) {
    (
        [&] {
          constexpr std::size_t N = C - 1 - K;
          constexpr std::size_t I = P::first[N];
          using Lay = typename P::template head<N>;
          using Act = typename P::template activation<N>;
          const float* in = I == 0 ? x : outs + NetT::activation_offsets[I == 0 ? 0 : I - 1] * B;
          const float* out = outs + P::output_slot[N] * B;
          float* dx = I == 0 ? dx_first : (K % 2 == 0 ? scratch0 : scratch1);
          const float* p = params + P::param_begin[N];
          float* g = grads + P::param_begin[N];
          const float* z = outs + NetT::activation_offsets[I] * B;
          if constexpr (P::template dense_node<N>) {
            const float* wt = nullptr;
            if (ctx.transposed != nullptr && dx != nullptr) {
              float* slot = ctx.transposed + P::param_begin[N];
              if (!ctx.transposed_ready) kernel::simd::transpose<Lay::in, Lay::out>(p, slot);
              wt = slot;
            }
            kernel::dense_act_backward<Lay::in, Lay::out, B * Lay::steps, Act>(be, p, in, z, out, d, dx, g,
                                                                               g + Lay::weight_count, extra, wt);
          } else if constexpr (P::template conv_node<N>) {
            kernel::conv_act_backward<typename Lay::geometry, Lay::out_channels, B, Act>(be, p, in, z, out, d, dx, g,
                                                                                        g + Lay::weight_count, extra);
          } else {
            PassContext c = at_layer_context(ctx, I);
            c.scratch = extra;
            detail::layer_backward<Lay, B>(be, p, in, out, d, dx, g, c);
          }
          ctx.ready(P::param_begin[N]);
          d = dx;
        }(),
        ...);
  }(std::make_index_sequence<C - Stop>{});
  return d;
}

#endif  // CTNN_SIMD

CTNN_END_NAMESPACE
