#pragma once
/**
 * @file stream.hpp
 * @brief `ctnn::Stream<Net>`: runs a sequence network one time step per call, keeping the
 * recurrent states and the convolution histories between calls. For an audio callback
 * or a control loop: `noexcept`, no heap, no locks; its state lives inside the object.
 */
#include <algorithm>
#include <array>
#include <cstddef>
#include <span>
#include <type_traits>
#include <utility>

#include "../activations/activation_concepts.hpp"
#include "../backends/backend_concepts.hpp"
#include "../layers/dense.hpp"
#include "../layers/dropout.hpp"
#include "../layers/layer_norm.hpp"
#include "net.hpp"

CTNN_BEGIN_NAMESPACE

namespace detail {
/// Layer tags that act on each step of a sequence alike (a streaming runner rebinds them to one step).
template <class Tag>
inline constexpr bool per_step_v = std::is_base_of_v<elementwise<Tag>, Tag>;
template <std::size_t N>
inline constexpr bool per_step_v<Dense<N>> = true;
template <std::size_t P>
inline constexpr bool per_step_v<Dropout<P>> = true;
template <>
inline constexpr bool per_step_v<LayerNorm> = true;

/// The last extent of a shape: features per step of a sequence, the size of a flat shape.
template <class S>
inline constexpr std::size_t per_step_size = S::size;
template <std::size_t T, std::size_t F>
inline constexpr std::size_t per_step_size<Shape<T, F>> = F;

/**
 * @brief How the layers of `NetT` run one time step: their states laid out back to back
 * (`state_offsets`, `state_floats`), the widest per-step tensor (`width`), and `step`, which
 * runs every layer once. `Stream` holds the state; a `Residual` runs its inner layers so.
 */
template <class NetT, class Be>
struct stream_plan {
  template <std::size_t I>
  using layer = typename NetT::template layer<I>;
  static constexpr std::size_t L = NetT::layer_count;

  template <class F>
  static constexpr auto per_layer(F f) {
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
      return std::array<std::size_t, L>{f.template operator()<layer<I>>()...};
    }(std::make_index_sequence<L>{});
  }
  static constexpr auto state_sizes = per_layer([]<class Lay>() { return stream_state_v<Lay>; });
  static constexpr auto state_offsets = [] {
    std::array<std::size_t, L> a{};
    std::size_t acc = 0;
    for (std::size_t i = 0; i < L; ++i) a[i] = std::exchange(acc, acc + state_sizes[i]);
    return a;
  }();
  static constexpr auto widths = per_layer([]<class Lay>() { return per_step_size<typename Lay::output_shape>; });
  static constexpr std::size_t state_floats = state_offsets[L - 1] + state_sizes[L - 1];
  static constexpr std::size_t input_width = per_step_size<typename NetT::input_shape_t>;
  static constexpr std::size_t output_width = widths[L - 1];
  static constexpr std::size_t width = std::max(input_width, *std::max_element(widths.begin(), widths.end()));

  template <class Lay>
  static constexpr bool streamable =
      requires { Lay::stream_state_floats; } || Lay::input_shape::rank == 1 ||
      (per_step_v<typename Lay::tag> && Lay::output_shape::rank == 2);

  template <std::size_t I>
  static constexpr bool check_layer() {
    static_assert(at_layer<I>::template holds<streamable<layer<I>>>,
                  "ctnn::Stream: this layer cannot run one step at a time (it mixes the steps of a sequence, "
                  "e.g. Flatten or Softmax over a whole sequence); streaming takes GRU, LSTM, Conv1D, Dense, "
                  "LayerNorm, Residual, element-wise activations and Dropout");
    return true;
  }
  static constexpr bool checked = [] {
    return [&]<std::size_t... I>(std::index_sequence<I...>) { return (check_layer<I>() && ...); }(
        std::make_index_sequence<L>{});
  }();

  /// One step of every layer: x (input_width floats) in, y (output_width) out; `buf` holds
  /// 2·width floats for the tensors between layers.
  static void step(const float* params, float* state, float* buf, const float* x, float* y) noexcept {
    static_assert(checked);
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      const float* in = x;
      (
          [&] {
            float* out = (I + 1 == L) ? y : buf + (I % 2) * width;
            run<I>(params + NetT::param_offsets[I], state + state_offsets[I], in, out);
            in = out;
          }(),
          ...);
    }(std::make_index_sequence<L>{});
  }

  template <std::size_t I>
  static void run(const float* p, float* state, const float* in, float* out) noexcept {
    using Lay = layer<I>;
    if constexpr (requires { Lay::stream_state_floats; }) {
      Lay::stream_step(Be{}, p, state, in, out);
    } else if constexpr (Lay::input_shape::rank == 1) {
      layer_forward<Lay, 1>(Be{}, p, in, out, PassContext{});
    } else {  // a per-step layer bound to one step
      using One = typename Lay::tag::template bind<Shape<per_step_size<typename Lay::input_shape>>>;
      layer_forward<One, 1>(Be{}, p, in, out, PassContext{});
    }
  }
};
}  // namespace detail

/**
 * @brief A streaming runner for a `Net<Input<T, F>, ...>`: `step` takes the F features of
 * one time step and writes the network's output for that step, equal to what the whole
 * sequence forward gives at that step (for a `Returns::last` layer: at the last step of
 * the sequence so far). T, the training length, does not bound the stream.
 *
 * Layers: `GRU`, `LSTM`, `Conv1D` (stateful), `Residual` of streamable layers, and the
 * per-step layers `Dense`, `LayerNorm`, element-wise activations and `Dropout` (the identity
 * here); after a `Returns::last` recurrent layer, any flat layer. The network must outlive
 * the stream; its weights may change between steps (they are read at each step).
 */
template <class NetT, Backend Be = default_backend>
class Stream {
  static_assert(NetT::input_shape_t::rank == 2,
                "ctnn::Stream: the network's input must be a sequence, Input<T, F> (T steps of F features)");
  using plan = detail::stream_plan<NetT, Be>;

 public:
  static constexpr std::size_t features = plan::input_width;         ///< inputs per step
  static constexpr std::size_t outputs = plan::output_width;         ///< outputs per step
  static constexpr std::size_t state_floats = plan::state_floats;    ///< kept between steps

  explicit Stream(const NetT& net) noexcept : net_(net) { static_assert(plan::checked); }

  /// Back to the zero state of the start of a sequence.
  void reset() noexcept { state_.fill(0.0f); }

  /// One time step: `x` (features floats) in, `y` (outputs floats) out.
  void step(std::span<const float, features> x, std::span<float, outputs> y) noexcept {
    plan::step(net_.params().data(), state_.data(), buf_.data(), x.data(), y.data());
  }

  /// One time step of a one-feature, one-output network (a mono audio effect): sample in, sample out.
  float step(float x) noexcept
    requires(features == 1 && outputs == 1)
  {
    float y;
    step(std::span<const float, 1>(&x, 1), std::span<float, 1>(&y, 1));
    return y;
  }

 private:
  const NetT& net_;
  alignas(alignment) std::array<float, std::max<std::size_t>(state_floats, 1)> state_{};
  alignas(alignment) std::array<float, 2 * plan::width> buf_{};
};

CTNN_END_NAMESPACE
