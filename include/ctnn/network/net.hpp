#pragma once
/**
 * @file net.hpp
 * @brief `ctnn::Net<Input<...>, Layers...>`: a network as a type, with its parameters inside.
 */
#include <algorithm>
#include <array>
#include <cstddef>
#include <concepts>
#include <cstdint>
#include <iterator>
#include <memory>
#include <span>
#include <type_traits>
#include <utility>

#include "../backends/backend_concepts.hpp"
#include "../core/batch.hpp"
#include "../core/memory.hpp"
#include "../core/rng.hpp"
#include "../init/initializers.hpp"
#include "../layers/input.hpp"
#include "fusion.hpp"
#include "passes.hpp"
#include "shape_inference.hpp"

CTNN_BEGIN_NAMESPACE

template <class NetT, BatchType Bt>
struct Workspace;

namespace detail {
/// Always false; its arguments name what `Net::forward` expected and what it was given.
template <std::size_t Expected, std::size_t Given, class Element>
struct wrong_input {
  static constexpr bool ok = false;
};
/// The compile-time extent of a span, array or C array (std::dynamic_extent otherwise).
template <class X>
inline constexpr std::size_t extent_of = std::dynamic_extent;
template <class T, std::size_t N>
inline constexpr std::size_t extent_of<std::span<T, N>> = N;
template <class T, std::size_t N>
inline constexpr std::size_t extent_of<std::array<T, N>> = N;
template <class T, std::size_t N>
inline constexpr std::size_t extent_of<T[N]> = N;
template <class X>
using element_of = std::remove_cvref_t<decltype(*std::begin(std::declval<const X&>()))>;

template <class In>
struct input_shape_of {
  using type = Shape<1>;  // only reached after the static_assert in Net has fired
};
template <std::size_t... D>
struct input_shape_of<Input<D...>> {
  using type = typename Input<D...>::shape;  // instantiates Input's own checks
};
}  // namespace detail

/**
 * @brief A neural network whose every size is known at compile time.
 *
 * `Net<Input<784>, Dense<256>, ReLU, Dense<10>>` infers each layer's input shape,
 * sizes the flat parameter block (held inside the object: no heap) and exposes every
 * footprint as a constant. `forward` is `noexcept`, const and allocation-free, so one
 * network serves many threads.
 *
 * @tparam In   `ctnn::Input<N...>`, the shape of one sample.
 * @tparam Tags layer tags, in order; each states only its new sizes.
 */
template <class In, class... Tags>
class Net {
  static_assert(detail::is_input_v<In>,
                "ctnn::Net: the first argument must be ctnn::Input<...>, e.g. Net<Input<784>, Dense<10>>");
  static_assert(sizeof...(Tags) > 0,
                "ctnn::Net: an empty network; add at least one layer after the Input, e.g. "
                "Net<Input<784>, Dense<10>>");

  using bound_ = bind_layers_t<typename detail::input_shape_of<In>::type, Tags...>;

 public:
  using input_shape_t = typename detail::input_shape_of<In>::type;  ///< shape of one input sample
  using output_shape_t = typename bound_::shape;                    ///< shape of one output sample
  using layers = typename bound_::list;                             ///< the bound layers, in order

  /// The I-th bound layer.
  template <std::size_t I>
  using layer = type_at_t<I, layers>;

  static constexpr std::size_t layer_count = sizeof...(Tags);  ///< number of layers (Input excluded)
  static constexpr input_shape_t input_shape{};                ///< e.g. `Shape<784>{}`
  static constexpr output_shape_t output_shape{};              ///< e.g. `Shape<10>{}`
  static constexpr std::size_t input_size = input_shape_t::size;    ///< floats per input sample
  static constexpr std::size_t output_size = output_shape_t::size;  ///< floats per output sample

 private:
  template <class F>
  static constexpr auto per_layer(F f) {
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
      return std::array<std::size_t, layer_count>{f.template operator()<layer<I>>()...};
    }(std::make_index_sequence<layer_count>{});
  }
  static constexpr auto exclusive_scan(std::array<std::size_t, layer_count> a) {
    std::size_t acc = 0;
    for (auto& v : a) acc += std::exchange(v, acc);
    return a;
  }
  static constexpr auto sum(std::array<std::size_t, layer_count> a) {
    std::size_t acc = 0;
    for (auto v : a) acc += v;
    return acc;
  }

 public:
  /// Parameters per layer (0 for activations).
  static constexpr auto param_sizes = per_layer([]<class L>() { return L::param_count; });
  /// Offset of each layer's parameters in the flat block.
  static constexpr auto param_offsets = exclusive_scan(param_sizes);
  /// Total trainable parameters.
  static constexpr std::size_t param_count = sum(param_sizes);
  /// Floating-point operations of one forward pass of one sample.
  static constexpr std::size_t flops_forward = sum(per_layer([]<class L>() { return L::flops; }));
  /// Values per sample of each layer's output.
  static constexpr auto activation_sizes = per_layer([]<class L>() { return L::output_shape::size; });
  /// Values per sample each layer keeps for its backward beyond its output (a recurrent layer's gates).
  static constexpr auto saved_sizes = per_layer([]<class L>() { return layer_saved_v<L>; });
  /// Offset (per sample) of each layer's slot in a training activation store: at batch B,
  /// layer I's B outputs start at `activation_offsets[I] * B`, followed by its B·saved_sizes[I]
  /// saved values.
  static constexpr auto activation_offsets = [] {
    auto a = activation_sizes;
    for (std::size_t i = 0; i < layer_count; ++i) a[i] += saved_sizes[i];
    return exclusive_scan(a);
  }();
  /// Values per sample held by a training pass: every layer's output and saved values.
  static constexpr std::size_t activation_count = sum(activation_sizes) + sum(saved_sizes);
  /// State per sample each layer carries across batches in truncated BPTT (a recurrent layer's h, c).
  static constexpr auto carry_sizes = per_layer([]<class L>() { return layer_carry_v<L>; });
  /// Offset (per sample) of each layer's carried state: at batch B, layer I's starts at `carry_offsets[I] * B`.
  static constexpr auto carry_offsets = exclusive_scan(carry_sizes);
  /// Carried state per sample, all layers.
  static constexpr std::size_t carry_count = sum(carry_sizes);

  /// The widest tensor between two layers, per sample.
  static constexpr std::size_t max_width =
      std::max(input_size, *std::max_element(activation_sizes.begin(), activation_sizes.end()));

  /// Scratch floats the layers themselves ask for in inference at batch B (e.g. a padded image).
  template <std::size_t B>
  static constexpr std::size_t inference_scratch = [] {
    std::size_t m = 0;
    for (std::size_t v : per_layer([]<class L>() { return layer_inference_scratch_v<L, B>; })) m = std::max(m, v);
    return m;
  }();

  /// Bytes of the inference workspace for a batch of B (`Workspace<Net, Batch<B>>`).
  template <std::size_t B>
  static constexpr std::size_t workspace_bytes = (2 * max_width * B + inference_scratch<B>) * sizeof(float);
  /// Bytes of a training pass's tensors at batch B (activations and saved values, output, two
  /// gradient buffers); a trainer holds more (gradients, optimizer state, a SIMD backend's
  /// scratch): `Trainer<...>::workspace_bytes` counts it all.
  template <std::size_t B>
  static constexpr std::size_t training_workspace_bytes = (activation_count + output_size + 2 * max_width) * B * sizeof(float);

  Net() noexcept = default;

  /**
   * @brief A network holding `p` as its flat parameter block. constexpr: with weights
   * compiled into a header (`ctnn::io::write_header`), `static constexpr Net net{weights};`
   * is built by the compiler and lives in read-only memory; no heap, no file system.
   */
  explicit constexpr Net(const std::array<float, param_count>& p) noexcept : params_(p) {}

  /// The flat parameter block: per layer, weights then bias.
  std::span<float> params() noexcept { return {params_.data(), param_count}; }
  std::span<const float> params() const noexcept { return {params_.data(), param_count}; }

  /// The parameters of layer I alone.
  template <std::size_t I>
  std::span<float> layer_params() noexcept {
    return params().subspan(param_offsets[I], param_sizes[I]);
  }

  /// Initialises every trainable layer with `Init` (biases to zero) from `seed`.
  template <Initializer Init>
  void init(Init ini, std::uint64_t seed) noexcept {
    Rng rng(seed);
    for_each_trainable([&]<class L, std::size_t I>() { L::init(ini, layer_params<I>(), rng); });
  }

  /// Initialises every trainable layer with its own default (He uniform for Dense).
  void init(std::uint64_t seed) noexcept {
    Rng rng(seed);
    for_each_trainable(
        [&]<class L, std::size_t I>() { L::init(typename L::default_init{}, layer_params<I>(), rng); });
  }

  /// Batch-1 inference into y; scratch on the stack, no heap, no exceptions.
  template <Backend Be = default_backend>
  void forward(std::span<const float, input_size> x, std::span<float, output_size> y) const noexcept {
    alignas(alignment) float scratch[2][max_width];
    alignas(alignment) float layer_scratch[std::max<std::size_t>(inference_scratch<1>, 1)];
    run_forward<1>(Be{}, x.data(), y.data(), scratch[0], scratch[1], layer_scratch);
  }

  /// Batch-1 inference returning the output by value.
  template <Backend Be = default_backend>
  std::array<float, output_size> forward(std::span<const float, input_size> x) const noexcept {
    std::array<float, output_size> y;
    forward<Be>(x, std::span<float, output_size>(y));
    return y;
  }

  /// Any other single argument: one readable error that names the expected and the given
  /// extent and element type (the note shows `wrong_input<expected, given, element>`).
  template <Backend Be = default_backend, class X>
    requires(!std::convertible_to<const X&, std::span<const float, input_size>>)
  std::array<float, output_size> forward(const X&) const noexcept {
    static_assert(detail::wrong_input<input_size, detail::extent_of<X>, detail::element_of<X>>::ok,
                  "ctnn::Net::forward: the input must be exactly input_size floats: a std::span<const float, "
                  "Net::input_size> or std::array<float, Net::input_size> (from a vector: "
                  "std::span<const float, Net::input_size>(v.data(), Net::input_size)); for many samples use "
                  "ctnn::predict");
    return {};
  }

  /// Batched inference over a caller-owned workspace; `forward` never mutates the net.
  template <std::size_t B, Backend Be = default_backend>
  void forward(Workspace<Net, Batch<B>>& ws, std::span<const float, B * input_size> x,
               std::span<float, B * output_size> y) const noexcept {
    run_forward<B>(Be{}, x.data(), y.data(), ws.scratch(0), ws.scratch(1), ws.scratch(2));
  }

 private:
  template <std::size_t B, class Be>
  void run_forward(Be be, const float* x, float* y, float* s0, float* s1, float* layer_scratch) const noexcept {
    PassContext ctx;
    ctx.scratch = layer_scratch;
    if constexpr (SimdBackend<Be>)
      fused_forward_pass<Net, B>(be, params_.data(), x, y, s0, s1, ctx);
    else
      forward_pass<Net, B>(be, params_.data(), x, y, s0, s1, ctx);
  }

  template <class F>
  void for_each_trainable(F f) {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (
          [&] {
            if constexpr (layer<I>::trainable) f.template operator()<layer<I>, I>();
          }(),
          ...);
    }(std::make_index_sequence<layer_count>{});
  }

  alignas(alignment) std::array<float, param_count> params_{};
};

/**
 * @brief A network on the heap, for one too large for a thread's stack (a `Net` holds its
 * parameters inside: `sizeof(Net)` is about `4 * param_count` bytes). `new` honours the
 * 64-byte alignment. Or declare it `static`, or at namespace scope.
 */
template <class NetT>
std::unique_ptr<NetT> make_unique_net() {
  return std::make_unique<NetT>();
}

/**
 * @brief Scratch for batched inference of `NetT` at batch B, sized at compile time.
 * Place it where you like (stack, static, heap); `bytes` says how large it is.
 */
template <class NetT, BatchType Bt>
struct Workspace {
  static constexpr std::size_t batch = Bt::size;
  static constexpr std::size_t floats_per_buffer = NetT::max_width * batch;
  static constexpr std::size_t layer_floats = NetT::template inference_scratch<batch>;
  static constexpr std::size_t bytes = (2 * floats_per_buffer + layer_floats) * sizeof(float);  ///< == workspace_bytes<B>
  static_assert(bytes == NetT::template workspace_bytes<Bt::size>);

  /// Buffer 0 and 1: layer outputs; buffer 2: the layers' own scratch.
  float* scratch(std::size_t i) noexcept { return data_.data() + i * floats_per_buffer; }

 private:
  alignas(alignment) std::array<float, 2 * floats_per_buffer + layer_floats> data_;
};

CTNN_END_NAMESPACE
