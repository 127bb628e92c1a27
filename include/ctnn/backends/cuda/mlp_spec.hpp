#pragma once
/**
 * @file mlp_spec.hpp
 * @brief What the fused CUDA MLP kernels need to know about a `ctnn::Net`, worked out at
 * compile time on the host: the Dense layers and the activation fused behind each, the
 * widths padded to multiples of 16, and the device parameter layout. Plain C++ (no CUDA),
 * so the layout and the packing are tested on machines without a GPU.
 *
 * Device layout, per Dense layer l: W `[in_p][out_p]` then b `[out_p]`, where `in_p` and
 * `out_p` are the layer's widths rounded up to 16; the padding is zero. Zero weights in
 * the padded rows and columns make padded units inert whatever the activation does to 0,
 * and the loss never reads the padded outputs.
 */
#include <array>
#include <cstddef>
#include <span>
#include <type_traits>
#include <utility>

#include "../../activations/identity.hpp"
#include "../../config.hpp"
#include "../../layers/dense.hpp"

CTNN_BEGIN_NAMESPACE
namespace cuda {

namespace spec_detail {
constexpr std::size_t pad16(std::size_t n) { return (n + 15) / 16 * 16; }
}  // namespace spec_detail

/**
 * @brief The fused-MLP view of `NetT`: Dense layers, each followed by at most one
 * `FusableActivation`.
 */
template <class NetT>
struct MlpSpec {
 private:
  static constexpr std::size_t L = NetT::layer_count;
  template <std::size_t I>
  using tag_at = typename NetT::template layer<I>::tag;

  struct Plan {
    std::array<std::size_t, L + 1> width{};   // input, then each Dense's outputs
    std::array<std::size_t, L> act_layer{};   // per Dense: CPU layer index of its activation, L for none
    std::array<std::size_t, L> layer_of{};    // CPU layer index of each Dense
    std::size_t dense = 0;
    bool ok = true;                           // only Dense and supported activations, each activation after a Dense
  };
  static constexpr Plan build() {
    Plan p;
    p.width[0] = NetT::input_size;
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (
          [&] {
            using T = tag_at<I>;
            if constexpr (ctnn::detail::is_dense_v<T>) {
              if (NetT::template layer<I>::steps != 1) p.ok = false;  // a per-step Dense on a sequence
              p.layer_of[p.dense] = I;
              p.act_layer[p.dense] = L;
              p.width[++p.dense] = NetT::template layer<I>::out;
            } else if constexpr (FusableActivation<T>) {
              if (p.dense == 0 || (I > 0 && !ctnn::detail::is_dense_v<tag_at<(I > 0 ? I - 1 : 0)>>)) p.ok = false;
              else p.act_layer[p.dense - 1] = I;
            } else {
              p.ok = false;
            }
          }(),
          ...);
    }(std::make_index_sequence<L>{});
    return p;
  }
  static constexpr Plan plan_ = build();

 public:
  static_assert(plan_.ok,
                "ctnn::cuda: the fused MLP kernels take Dense layers, each followed by at most one element-wise "
                "activation written in ctnn::math (FusableActivation: Identity, ReLU, LeakyReLU, Tanh, Sigmoid, GELU, "
                "...; no convolutions, pooling, dropout, softmax, sequences or stacked activations)");
  template <std::size_t A>
  struct activation_at {
    using type = tag_at<A>;
  };
  template <std::size_t A>
    requires(A == L)
  struct activation_at<A> {
    using type = Identity;
  };
  static constexpr std::size_t layers = plan_.dense;  ///< Dense layers
  static_assert(layers >= 1, "ctnn::cuda: the network needs at least one Dense layer");

  static constexpr auto width = [] {
    std::array<std::size_t, layers + 1> w{};
    for (std::size_t i = 0; i <= layers; ++i) w[i] = plan_.width[i];
    return w;
  }();
  static constexpr auto padded = [] {
    std::array<std::size_t, layers + 1> w{};
    for (std::size_t i = 0; i <= layers; ++i) w[i] = spec_detail::pad16(width[i]);
    return w;
  }();
  /// The activation behind Dense layer l (Identity where none follows).
  template <std::size_t l>
  using activation = typename activation_at<plan_.act_layer[l]>::type;
  /// Whether Dense layer l's activation needs its input for the derivative (then its
  /// pre-activation is saved too).
  static constexpr auto needs_input = []<std::size_t... l>(std::index_sequence<l...>) {
    return std::array<bool, layers>{activation<l>::needs_input...};
  }(std::make_index_sequence<layers>{});
  /// Whether every derivative follows from the layer outputs alone (what the FP16/BF16
  /// training kernel keeps).
  static constexpr bool outputs_suffice = [] {
    for (bool b : needs_input)
      if (b) return false;
    return true;
  }();
  /// The widest layer output (padded): sizes the shared-memory activation buffers.
  static constexpr std::size_t max_width = [] {
    std::size_t m = 0;
    for (std::size_t i = 1; i <= layers; ++i) m = m > padded[i] ? m : padded[i];
    return m;
  }();
  /// Largest layer output a thread block holds in shared memory; the input may be wider
  /// (it is streamed from global memory in tiles of 16 columns).
  static constexpr std::size_t width_limit = 256;
  static_assert(max_width <= width_limit,
                "ctnn::cuda: every Dense layer's output width, rounded up to 16, must be at most 256 (the "
                "activations of a 64-sample tile live in shared memory)");

  static constexpr auto w_offset = [] {
    std::array<std::size_t, layers> o{};
    std::size_t at = 0;
    for (std::size_t i = 0; i < layers; ++i) {
      o[i] = at;
      at += padded[i] * padded[i + 1] + padded[i + 1];
    }
    return o;
  }();
  static constexpr auto b_offset = [] {
    std::array<std::size_t, layers> o{};
    for (std::size_t i = 0; i < layers; ++i) o[i] = w_offset[i] + padded[i] * padded[i + 1];
    return o;
  }();
  /// Floats in the device parameter block (padding included).
  static constexpr std::size_t param_count = b_offset[layers - 1] + padded[layers];
  /// Where layer l's saved values start, in floats per sample: its padded output, then
  /// (where `needs_input[l]`) its padded pre-activation.
  static constexpr auto saved_offset = [] {
    std::array<std::size_t, layers + 1> o{};
    for (std::size_t i = 0; i < layers; ++i) o[i + 1] = o[i] + padded[i + 1] * (needs_input[i] ? 2 : 1);
    return o;
  }();
  /// Floats of saved values per sample (training): every layer's padded output, and the
  /// pre-activations that the derivatives need.
  static constexpr std::size_t saved_per_sample = saved_offset[layers];
  static constexpr std::size_t input_size = width[0];
  static constexpr std::size_t output_size = width[layers];

  /// CPU parameters (`NetT::params()` order) → device layout, padding zeroed.
  static void pack(std::span<const float> cpu, std::span<float> dev) noexcept {
    for (float& v : dev) v = 0.0f;
    for (std::size_t l = 0; l < layers; ++l) {
      const float* w = cpu.data() + NetT::param_offsets[plan_.layer_of[l]];
      const float* b = w + width[l] * width[l + 1];
      for (std::size_t i = 0; i < width[l]; ++i)
        for (std::size_t j = 0; j < width[l + 1]; ++j) dev[w_offset[l] + i * padded[l + 1] + j] = w[i * width[l + 1] + j];
      for (std::size_t j = 0; j < width[l + 1]; ++j) dev[b_offset[l] + j] = b[j];
    }
  }
  /// Device layout → CPU parameters (the padding is dropped).
  static void unpack(std::span<const float> dev, std::span<float> cpu) noexcept {
    for (std::size_t l = 0; l < layers; ++l) {
      float* w = cpu.data() + NetT::param_offsets[plan_.layer_of[l]];
      float* b = w + width[l] * width[l + 1];
      for (std::size_t i = 0; i < width[l]; ++i)
        for (std::size_t j = 0; j < width[l + 1]; ++j) w[i * width[l + 1] + j] = dev[w_offset[l] + i * padded[l + 1] + j];
      for (std::size_t j = 0; j < width[l + 1]; ++j) b[j] = dev[b_offset[l] + j];
    }
  }
};

}  // namespace cuda
CTNN_END_NAMESPACE
