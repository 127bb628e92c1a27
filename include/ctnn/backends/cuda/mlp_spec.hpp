#pragma once
/**
 * @file mlp_spec.hpp
 * @brief What the fused CUDA MLP kernels need to know about a `ctnn::Net`, read off its
 * fusion plan at compile time on the host: the Dense nodes and the activation fused behind
 * each, the widths padded to multiples of 16, and the device parameter layout. Plain C++ (no CUDA),
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

#include "../../activations/activation_concepts.hpp"
#include "../../config.hpp"
#include "../../network/fusion.hpp"

CTNN_BEGIN_NAMESPACE
namespace cuda {

namespace spec_detail {
constexpr std::size_t pad16(std::size_t n) { return (n + 15) / 16 * 16; }
}  // namespace spec_detail

/**
 * @brief The fused-MLP view of `NetT`, read off its `FusionPlan`: every node a Dense layer
 * with at most one `FusableActivation` fused behind it.
 */
template <class NetT>
struct MlpSpec {
 private:
  using Plan = FusionPlan<NetT>;
  template <std::size_t N>
  static constexpr bool node_ok = [] {
    if constexpr (!Plan::template dense_node<N>)
      return false;
    else if constexpr (Plan::template head<N>::steps != 1)
      return false;  // a per-step Dense on a sequence
    else
      return Plan::length[N] <= 2 && FusableActivation<typename Plan::template activation<N>>;
  }();
  static constexpr bool ok = []<std::size_t... N>(std::index_sequence<N...>) {
    return (node_ok<N> && ...);
  }(std::make_index_sequence<Plan::count>{});

 public:
  static_assert(ok,
                "ctnn::cuda: the fused MLP kernels take Dense layers, each followed by at most one element-wise "
                "activation written in ctnn::math (FusableActivation: Identity, ReLU, LeakyReLU, Tanh, Sigmoid, GELU, "
                "...; no convolutions, pooling, dropout, softmax, sequences or stacked activations)");
  static constexpr std::size_t layers = Plan::count;  ///< Dense layers (the plan's nodes)

  static constexpr auto width = []<std::size_t... N>(std::index_sequence<N...>) {
    std::array<std::size_t, layers + 1> w{NetT::input_size};
    std::size_t k = 1;
    ((w[k++] = [] {
       if constexpr (node_ok<N>)
         return Plan::template head<N>::out;
       else
         return std::size_t{1};
     }()),
     ...);
    return w;
  }(std::make_index_sequence<layers>{});
  static constexpr auto padded = [] {
    std::array<std::size_t, layers + 1> w{};
    for (std::size_t i = 0; i <= layers; ++i) w[i] = spec_detail::pad16(width[i]);
    return w;
  }();
  /// The activation behind Dense layer l (Identity where none follows).
  template <std::size_t l>
  using activation = typename Plan::template activation<l>;
  /// Whether Dense layer l's activation needs its input for the derivative (then its
  /// pre-activation is saved too).
  static constexpr auto needs_input = Plan::saves_pre_activation;
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
      const float* w = cpu.data() + Plan::param_begin[l];
      const float* b = w + width[l] * width[l + 1];
      for (std::size_t i = 0; i < width[l]; ++i)
        for (std::size_t j = 0; j < width[l + 1]; ++j) dev[w_offset[l] + i * padded[l + 1] + j] = w[i * width[l + 1] + j];
      for (std::size_t j = 0; j < width[l + 1]; ++j) dev[b_offset[l] + j] = b[j];
    }
  }
  /// Device layout → CPU parameters (the padding is dropped).
  static void unpack(std::span<const float> dev, std::span<float> cpu) noexcept {
    for (std::size_t l = 0; l < layers; ++l) {
      float* w = cpu.data() + Plan::param_begin[l];
      float* b = w + width[l] * width[l + 1];
      for (std::size_t i = 0; i < width[l]; ++i)
        for (std::size_t j = 0; j < width[l + 1]; ++j) w[i * width[l + 1] + j] = dev[w_offset[l] + i * padded[l + 1] + j];
      for (std::size_t j = 0; j < width[l + 1]; ++j) b[j] = dev[b_offset[l] + j];
    }
  }
};

}  // namespace cuda
CTNN_END_NAMESPACE
