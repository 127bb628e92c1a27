#pragma once
/**
 * @file reduced_predictor.hpp
 * @brief Batch-1 inference with weights in less precision, made from a trained float `Net`:
 * `BF16Predictor<Net>` (bfloat16 weights, float accumulation) and `Int8Predictor<Net>` (int8
 * weights per output column, inputs quantized per call, as PyTorch's dynamic quantization).
 * The weights take a half or a quarter of the bytes, which is what a batch-1 layer too large
 * for L1 waits for. Dense layers on a flat input run reduced; every other layer must be
 * parameter-free (activations) and runs in float as in `Net::forward`.
 */
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <tuple>
#include <utility>
#include <variant>

#include "../backends/reduced/bf16.hpp"
#include "../backends/reduced/int8.hpp"
#include "../backends/simd/activations.hpp"
#include "fusion.hpp"
#include "net.hpp"

CTNN_BEGIN_NAMESPACE

/// Number formats of the reduced predictors (`ReducedPredictor<Net, Format>`).
namespace precision {

/// bfloat16 weights, float biases and accumulation; native bf16 dot products where the CPU
/// has them (AVX512-BF16, which round the input to bf16 too), weights widened elsewhere.
struct bf16 {
  template <std::size_t In, std::size_t Out>
  using packed = kernel::bf16::Packed<In, Out>;
  static constexpr const char* name = "bf16";
  template <std::size_t In, std::size_t Out, class Be>
  static void dense(Be be, const packed<In, Out>& P, float* x, float* y) noexcept {
    if constexpr (In % 2 != 0) x[In] = 0.0f;  // the odd input's partner (its weights are zero)
    kernel::bf16::dense<In, Out>(be, P, x, y);
  }
};

/// int8 weights (symmetric, per output column) and inputs quantized per call to 7 bits
/// (asymmetric, per layer input), summed exactly in 32-bit integers.
struct int8 {
  template <std::size_t In, std::size_t Out>
  using packed = kernel::int8::Packed<In, Out>;
  static constexpr const char* name = "int8";
  template <std::size_t In, std::size_t Out, class Be>
  static void dense(Be be, const packed<In, Out>& P, float* x, float* y) noexcept {
    static_assert(In < 130000, "ctnn::Int8Predictor: more than 130,000 inputs could overflow the 32-bit sums");
    kernel::int8::Input<In> q;
    kernel::int8::quantize(be, x, q);
    alignas(64) std::int32_t acc[packed<In, Out>::out_pad];
    kernel::int8::products(be, P, q, acc);
    kernel::int8::dequantize(P, q, acc, y);
  }
};

}  // namespace precision

namespace detail {
/// Whether layer I of NetT can run in a reduced predictor: a Dense layer on a flat input, or a
/// layer without parameters.
template <class NetT, std::size_t I>
consteval bool reducible_layer() {
  using Lay = typename NetT::template layer<I>;
  if constexpr (FusionPlan<NetT>::template dense_at<I>)
    return Lay::input_shape::rank == 1;
  else
    return Lay::param_count == 0;
}
}  // namespace detail

/// Whether `ReducedPredictor` (BF16Predictor, Int8Predictor) accepts NetT: every layer a Dense
/// layer on a flat input or a layer without parameters (activations).
template <class NetT>
inline constexpr bool reducible_v = []<std::size_t... I>(std::index_sequence<I...>) {
  return (detail::reducible_layer<NetT, I>() && ...);
}(std::make_index_sequence<NetT::layer_count>{});

/**
 * @brief A snapshot of a trained float network for batch-1 inference with its Dense layers in
 * `Format` (`precision::bf16` or `precision::int8`) on backend Be. Like `Predictor`: made from
 * a `Net`, `forward` is `const`, `noexcept` and allocates nothing; `load` takes a new snapshot.
 */
template <class NetT, class Format, Backend Be = default_backend>
class ReducedPredictor {
 public:
  static constexpr std::size_t input_size = NetT::input_size, output_size = NetT::output_size;

 private:
  template <std::size_t I>
  using layer = typename NetT::template layer<I>;
  template <std::size_t I>
  static constexpr bool reduced_at = FusionPlan<NetT>::template dense_at<I>;

  static_assert(reducible_v<NetT>,
                "ctnn::ReducedPredictor (BF16Predictor, Int8Predictor): every layer must be a Dense layer on a flat "
                "input (run in reduced precision) or a layer without parameters such as an activation (run in float)");

  template <std::size_t I>
  static constexpr auto storage_of() {
    if constexpr (reduced_at<I>)
      return std::type_identity<typename Format::template packed<layer<I>::in, layer<I>::out>>{};
    else
      return std::type_identity<std::monostate>{};
  }
  template <class>
  struct storage_tuple;
  template <std::size_t... I>
  struct storage_tuple<std::index_sequence<I...>> {
    using type = std::tuple<typename decltype(storage_of<I>())::type...>;
  };
  using Storage = typename storage_tuple<std::make_index_sequence<NetT::layer_count>>::type;

  /// Floats of each ping-pong buffer: the widest layer, padded as the packed layers read and write.
  static constexpr std::size_t width = [] {
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
      std::size_t w = NetT::max_width;
      (
          [&] {
            if constexpr (reduced_at<I>)
              w = std::max({w, layer<I>::in + 4, decltype(storage_of<I>())::type::out_pad});
          }(),
          ...);
      return (w + 15) / 16 * 16;
    }(std::make_index_sequence<NetT::layer_count>{});
  }();

 public:
  /// Bytes of the packed weights and biases (what a forward pass streams).
  static constexpr std::size_t weight_bytes = sizeof(Storage);

  ReducedPredictor() noexcept = default;
  explicit ReducedPredictor(const NetT& net) noexcept { load(net); }

  /// Packs `net`'s parameters (rounded or quantized) for this format.
  void load(const NetT& net) noexcept {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (
          [&] {
            if constexpr (reduced_at<I>) {
              const float* p = net.params().data() + NetT::param_offsets[I];
              std::get<I>(packed_).pack(p, p + layer<I>::weight_count);
            }
          }(),
          ...);
    }(std::make_index_sequence<NetT::layer_count>{});
  }

  /// Inference of one sample into y. No allocation; the buffers are on the stack.
  void forward(std::span<const float, input_size> x, std::span<float, output_size> y) const noexcept {
    alignas(64) float buf[2][width];
    std::copy_n(x.data(), input_size, buf[0]);
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (
          [&] {
            float* in = buf[I % 2];
            float* out = buf[(I + 1) % 2];
            if constexpr (reduced_at<I>) {
              Format::template dense<layer<I>::in, layer<I>::out>(Be{}, std::get<I>(packed_), in, out);
            } else {
              run_float_layer<I>(in, out);
            }
          }(),
          ...);
    }(std::make_index_sequence<NetT::layer_count>{});
    std::copy_n(buf[NetT::layer_count % 2], output_size, y.data());
  }

  /// Inference of one sample, returned by value.
  std::array<float, output_size> forward(std::span<const float, input_size> x) const noexcept {
    std::array<float, output_size> y;
    forward(x, std::span<float, output_size>(y));
    return y;
  }

 private:
  /// A layer without parameters, in float: an activation with a vector form runs in registers
  /// (as the float network fuses it), anything else through its own forward.
  template <std::size_t I>
  static void run_float_layer(const float* in, float* out) noexcept {
#if CTNN_SIMD
    using Tag = typename layer<I>::tag;
    if constexpr (SimdBackend<Be> && kernel::simd::vector_activation<Tag>::supported) {
      using V = kernel::simd::vec<Be>;
      constexpr std::size_t n = layer<I>::input_shape::size, L = V::size;
      std::size_t k = 0;
      for (; k + L <= n; k += L) kernel::simd::vector_activation<Tag>::value(V::load_aligned(in + k)).store_aligned(out + k);
      if constexpr (n % L != 0)
        for (; k < n; ++k) out[k] = Tag::value(in[k]);
      return;
    }
#endif
    PassContext ctx;
    detail::layer_forward<layer<I>, 1>(Be{}, static_cast<const float*>(nullptr), in, out, ctx);
  }

  Storage packed_{};
};

/// Batch-1 inference with bfloat16 weights (see `precision::bf16`).
template <class NetT, Backend Be = default_backend>
using BF16Predictor = ReducedPredictor<NetT, precision::bf16, Be>;

/// Batch-1 inference with int8 weights and dynamically quantized inputs (see `precision::int8`).
template <class NetT, Backend Be = default_backend>
using Int8Predictor = ReducedPredictor<NetT, precision::int8, Be>;

CTNN_END_NAMESPACE
