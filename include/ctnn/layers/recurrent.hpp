#pragma once
/**
 * @file recurrent.hpp
 * @brief What `ctnn::GRU` and `ctnn::LSTM` share: the `Returns` option, the parameter
 * layout, and the loops over samples and time steps (forward, backpropagation through
 * time, and one streaming step) around a cell that holds the gate arithmetic.
 *
 * A recurrent layer reads a sequence `Shape<T, F>` (T steps of F features, stored step
 * after step) and returns `Shape<T, H>` (every step's hidden state) or `Shape<H>` (the
 * last step's). The initial state is zero (in truncated BPTT: the state carried from the
 * previous window). Parameters, with g gates of H units each (G = g·H pre-activations):
 * `Wx [F][G]`, `Wh [H][G]`, `bx [G]`, `bh [G]`: outputs contiguous as in `Dense`, gates in
 * PyTorch's order, and PyTorch's two biases, so its `weight_ih_l0` (`[G, F]`),
 * `weight_hh_l0`, `bias_ih_l0` and `bias_hh_l0` map onto them by a transpose.
 *
 * A cell type provides:
 * - `gates` (g), `state` (floats of recurrent state; the hidden state h comes first) and
 *   `aux` (floats per step its backward needs besides the states);
 * - `step<U, Math>(j, gx, gh, prev, next, aux)`: from the input part `gx = x Wx + bx` and the
 *   recurrent part `gh = h Wh + bh` of the gate pre-activations, units j.. of the next state
 *   (and of aux), for one unit (U = float or double) or one register of units (U = an xsimd
 *   batch); Math supplies σ and tanh;
 * - `back(aux, prev, next, dstate, dgx, dgh)`: given `dstate` (the loss gradient of the next
 *   state), writes the gradients of the two pre-activation parts and leaves in `dstate` the
 *   gradient of the previous state through the cell's direct paths.
 *
 * Training saves, per sample and step, the cell's aux values then the new state, and each
 * sample's initial state (`saved_floats`), so backward runs without recomputing the forward.
 */
#include <array>
#include <cmath>
#include <cstddef>
#include <span>
#include <type_traits>

#include "../activations/sigmoid.hpp"
#include "../activations/tanh.hpp"
#include "../backends/kernels.hpp"
#include "../backends/simd/recurrent.hpp"
#include "../init/initializers.hpp"
#include "context.hpp"
#include "layer_concepts.hpp"
#include "row_ops.hpp"

CTNN_BEGIN_NAMESPACE

/// What a recurrent layer returns: every step's hidden state, or the last step's alone.
enum class Returns { sequence, last };

namespace detail {

/// σ and tanh as the `Sigmoid` and `Tanh` layers compute them: the reference (and double) path.
struct exact_gate_math {
  template <class T>
  static T sigma(T x) noexcept {
    return Sigmoid::value(x);
  }
  template <class T>
  static T tanh(T x) noexcept {
    return Tanh::value(x);
  }
};

/// Loads and stores of one value (U = float, double) or one register (U = an xsimd batch).
template <class U, class T>
inline U lane_load(const T* p) noexcept {
  if constexpr (std::is_arithmetic_v<U>)
    return *p;
  else
    return U::load_unaligned(p);
}
template <class U, class T>
inline void lane_store(T* p, U v) noexcept {
  if constexpr (std::is_arithmetic_v<U>)
    *p = v;
  else
    v.store_unaligned(p);
}

/// Uniform in ±1/√units (PyTorch's `nn.GRU` / `nn.LSTM` default), with fan_out the unit count.
struct RecurrentUniform {
  static float draw(Rng& rng, std::size_t, std::size_t units) noexcept {
    return rng.uniform(1.0f / std::sqrt(static_cast<float>(units)));
  }
};

/// The recurrent layer with cell `Cell` and H units over a sequence of Steps × F.
template <class Tag, class Cell, std::size_t Steps, std::size_t F, std::size_t H, Returns R>
struct recurrent {
  static constexpr std::size_t G = Cell::gates * H;  ///< gate pre-activations per step
  static constexpr std::size_t S = Cell::state;      ///< state floats
  static constexpr std::size_t A = Cell::aux;        ///< aux floats per step

  using tag = Tag;
  using input_shape = Shape<Steps, F>;
  using output_shape = std::conditional_t<R == Returns::sequence, Shape<Steps, H>, Shape<H>>;
  using default_init = RecurrentUniform;
  static constexpr std::size_t steps = Steps;
  static constexpr std::size_t features = F;
  static constexpr std::size_t units = H;
  static constexpr Returns returns = R;
  static constexpr std::size_t wx = 0, wh = F * G, bx = wh + H * G, bh = bx + G;  ///< parameter offsets
  static constexpr std::size_t param_count = bh + G;
  static constexpr std::size_t flops = Steps * (2 * (F + H) * G + 2 * G + Cell::flops_per_step);
  static constexpr bool trainable = true;
  /// Per sample, kept by a training forward for backward: each step's aux values and new
  /// state, and the state it started from.
  static constexpr std::size_t saved_floats = Steps * (A + S) + S;
  /// Per sample, carried from one batch to the next in truncated BPTT: the state.
  static constexpr std::size_t carry_floats = S;
  /// Floats of state a streaming runner keeps between steps.
  static constexpr std::size_t stream_state_floats = S;

  /// Whether backend Be runs the step in registers (float on a SIMD backend).
  template <class Be, class T>
  static constexpr bool vector_step = SimdBackend<Be> && std::is_same_v<T, float>;

  /// One step of one sample: `state` (S values) is advanced in place; `aux` receives A values.
  template <class Be, class T>
  static void cell_step([[maybe_unused]] Be be, const T* p, const T* x, T* state, T* aux) noexcept {
    alignas(64) std::array<T, G> gx, gh;
    std::array<T, S> next;
#if CTNN_SIMD
    if constexpr (vector_step<Be, T>) {
      using M = kernel::simd::gate_math;
      kernel::simd::row_times<F, G>(be, x, p + wx, p + bx, gx.data());
      kernel::simd::row_times<H, G>(be, state, p + wh, p + bh, gh.data());
      kernel::simd::for_each_width<0, H, kernel::simd::arch_t<Be>>([&]<class U>(std::type_identity<U>, std::size_t j) {
        Cell::template step<U, M>(j, gx.data(), gh.data(), state, next.data(), aux);
      });
    } else
#endif
    {
      kernel::dense_forward<F, G, 1>(backend::scalar{}, p + wx, p + bx, x, gx.data());
      kernel::dense_forward<H, G, 1>(backend::scalar{}, p + wh, p + bh, state, gh.data());
      for (std::size_t j = 0; j < H; ++j)
        Cell::template step<T, exact_gate_math>(j, gx.data(), gh.data(), state, next.data(), aux);
    }
    for (std::size_t j = 0; j < S; ++j) state[j] = next[j];
  }

  /// Forward for a batch of B sequences; with `ctx.saving`, the aux values and states go after
  /// y (steps first, then the B initial states); with `ctx.carry` (float only), each sample
  /// starts from its carried state and leaves its final state there.
  template <std::size_t B, class Be, class T>
  static void forward(Be be, const T* p, const T* x, T* y, const PassContext& ctx) noexcept {
    T* saved = ctx.saving ? y + B * output_shape::size : nullptr;
    float* carry = std::is_same_v<T, float> ? ctx.carry : nullptr;
    for (std::size_t b = 0; b < B; ++b) {
      std::array<T, S> state{};
      if (carry != nullptr)
        for (std::size_t j = 0; j < S; ++j) state[j] = static_cast<T>(carry[b * S + j]);
      if (saved != nullptr)
        for (std::size_t j = 0; j < S; ++j) saved[B * Steps * (A + S) + b * S + j] = state[j];
      std::array<T, A> aux_local;
      for (std::size_t t = 0; t < Steps; ++t) {
        T* s = saved == nullptr ? nullptr : saved + (b * Steps + t) * (A + S);
        cell_step(be, p, x + (b * Steps + t) * F, state.data(), s == nullptr ? aux_local.data() : s);
        if (s != nullptr)
          for (std::size_t j = 0; j < S; ++j) s[A + j] = state[j];
        if constexpr (R == Returns::sequence)
          for (std::size_t j = 0; j < H; ++j) y[(b * Steps + t) * H + j] = state[j];
      }
      if constexpr (R == Returns::last)
        for (std::size_t j = 0; j < H; ++j) y[b * H + j] = state[j];
      if (carry != nullptr)
        for (std::size_t j = 0; j < S; ++j) carry[b * S + j] = static_cast<float>(state[j]);
    }
  }
  template <std::size_t B, class Be, class T>
  static void forward(Be be, const T* p, const T* x, T* y) noexcept {
    forward<B>(be, p, x, y, PassContext{});
  }

  /// Backpropagation through time over the saved steps; accumulates into dp, writes dx
  /// unless it is null. Needs a saving forward (`forward_pass_saving`) before it. A carried
  /// initial state is a constant here: the gradient stops at the window's first step.
  template <std::size_t B, class Be, class T>
  static void backward(Be, const T* p, const T* x, const T* y, const T* dy, T* dx, T* dp,
                       const PassContext&) noexcept {
    const T* saved = y + B * output_shape::size;
    for (std::size_t b = 0; b < B; ++b) {
      std::array<T, S> dstate{};
      const T* initial = saved + B * Steps * (A + S) + b * S;
      for (std::size_t t = Steps; t-- > 0;) {
        if constexpr (R == Returns::sequence) {
          for (std::size_t j = 0; j < H; ++j) dstate[j] += dy[(b * Steps + t) * H + j];
        } else if (t + 1 == Steps) {
          for (std::size_t j = 0; j < H; ++j) dstate[j] += dy[b * H + j];
        }
        const T* s = saved + (b * Steps + t) * (A + S);
        const T* prev = t == 0 ? initial : s - S;  // the state after step t - 1
        std::array<T, G> dgx, dgh;
        Cell::back(s, prev, s + A, dstate.data(), dgx.data(), dgh.data());
        for (std::size_t j = 0; j < G; ++j) dp[bx + j] += dgx[j], dp[bh + j] += dgh[j];
        back_row_times<H, G>(p + wh, prev, dgh.data(), dp + wh, dstate.data());
        T* dxt = dx == nullptr ? nullptr : dx + (b * Steps + t) * F;
        if (dxt != nullptr)
          for (std::size_t k = 0; k < F; ++k) dxt[k] = T(0);
        back_row_times<F, G>(p + wx, x + (b * Steps + t) * F, dgx.data(), dp + wx, dxt);
      }
    }
  }
  template <std::size_t B, class Be, class T>
  static void backward(Be be, const T* p, const T* x, const T* y, const T* dy, T* dx, T* dp) noexcept {
    backward<B>(be, p, x, y, dy, dx, dp, PassContext{});
  }

  /// One streaming step: x (F floats) in, the new hidden state (H floats) out.
  template <class Be>
  static void stream_step(Be be, const float* p, float* state, const float* x, float* y) noexcept {
    std::array<float, A> aux;
    cell_step(be, p, x, state, aux.data());
    for (std::size_t j = 0; j < H; ++j) y[j] = state[j];
  }

  /// By default PyTorch's initialisation: every parameter, biases too, uniform in ±1/√H.
  /// Another initialiser draws the weights (fan-in F + H, fan-out G) and zeroes the biases.
  template <Initializer I>
  static void init(I, std::span<float> p, Rng& rng) noexcept {
    if constexpr (std::is_same_v<I, RecurrentUniform>) {
      for (auto& v : p) v = I::draw(rng, F + H, H);
    } else {
      for (std::size_t k = 0; k < bx; ++k) p[k] = I::draw(rng, F + H, G);
      for (std::size_t k = bx; k < param_count; ++k) p[k] = 0.0f;
    }
  }
};

/// What every recurrent tag is: its checks, and its binding to a sequence `Shape<T, F>`
/// through the driver above with the tag's cell.
template <class Tag, template <std::size_t> class Cell, std::size_t H, Returns R>
struct recurrent_tag {
  static constexpr std::size_t units = H;

  template <std::size_t Index, class In, bool Last>
  struct check {
    static_assert(at_layer<Index>::template holds<(H > 0)>,
                  "ctnn::GRU / ctnn::LSTM: needs at least one unit, e.g. GRU<16>");
    static_assert(at_layer<Index>::template holds<(In::rank == 2)>,
                  "ctnn::GRU / ctnn::LSTM: expects a sequence Shape<T, F> (T steps of F features); declare the "
                  "input as Input<T, F>, and use Returns::sequence on a recurrent layer that feeds another");
  };

  template <class In>
  struct bind;
  template <std::size_t T, std::size_t F>
  struct bind<Shape<T, F>> : recurrent<Tag, Cell<H>, T, F, H, R> {};
};

}  // namespace detail

CTNN_END_NAMESPACE
