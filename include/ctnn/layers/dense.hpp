#pragma once
/**
 * @file dense.hpp
 * @brief `ctnn::Dense<N>`: a fully connected layer with N outputs and a bias.
 */
#include <cstddef>
#include <span>
#include <type_traits>

#include "../backends/kernels.hpp"
#include "../init/initializers.hpp"
#include "layer_concepts.hpp"

CTNN_BEGIN_NAMESPACE

/**
 * @brief Fully connected layer `y = x W + b` with `Outputs` outputs; the input size is
 * inferred. Parameters: W `[in][out]` (outputs contiguous), then b `[out]`. On a sequence
 * `Shape<T, F>` it maps every step alike, giving `Shape<T, Outputs>`.
 * @tparam Outputs number of outputs, at least 1.
 */
template <std::size_t Outputs>
struct Dense {
  static constexpr std::size_t outputs = Outputs;

  template <std::size_t Index, class In, bool Last>
  struct check {
    static_assert(detail::at_layer<Index>::template holds<(Outputs > 0)>,
                  "ctnn::Dense<0>: a Dense layer needs at least one output; write Dense<N> with N >= 1");
    static_assert(detail::at_layer<Index>::template holds<(In::rank <= 2)>,
                  "ctnn::Dense: expects a flat input (or a sequence Shape<T, F>) but the previous layer outputs "
                  "an image; insert ctnn::Flatten before this Dense");
  };

  /// Binds to a flat input, or to a sequence `Shape<T, F>`, where the same weights act on
  /// each of the T steps (PyTorch's `nn.Linear` on the last dimension).
  template <class In>
  struct bind;

  template <std::size_t Steps, std::size_t InSize>
  struct bound {
    using tag = Dense;
    using input_shape = std::conditional_t<Steps == 1, Shape<InSize>, Shape<Steps, InSize>>;
    using output_shape = std::conditional_t<Steps == 1, Shape<Outputs>, Shape<Steps, Outputs>>;
    using default_init = init::HeUniform;
    static constexpr std::size_t steps = Steps;  ///< rows per sample the weights act on
    static constexpr std::size_t in = InSize;
    static constexpr std::size_t out = Outputs;
    static constexpr std::size_t weight_count = in * out;
    static constexpr std::size_t param_count = weight_count + out;
    static constexpr std::size_t flops = Steps * (2 * in * out + out);  ///< multiply-adds plus bias
    static constexpr bool trainable = true;

    template <std::size_t B, class Be, class T>
    static void forward(Be be, const T* p, const T* x, T* y) noexcept {
      kernel::dense_forward<in, out, B * Steps>(be, p, p + weight_count, x, y);
    }
    /// Accumulates into dp; dx may be null (no input gradient wanted).
    template <std::size_t B, class Be, class T>
    static void backward(Be be, const T* p, const T* x, const T*, const T* dy, T* dx, T* dp) noexcept {
      kernel::dense_backward<in, out, B * Steps>(be, p, x, dy, dx, dp, dp + weight_count);
    }
    template <Initializer I>
    static void init(I, std::span<float> p, Rng& rng) noexcept {
      for (std::size_t k = 0; k < weight_count; ++k) p[k] = I::draw(rng, in, out);
      for (std::size_t k = weight_count; k < param_count; ++k) p[k] = 0.0f;
    }
  };
  template <std::size_t InSize>
  struct bind<Shape<InSize>> : bound<1, InSize> {};
  template <std::size_t Steps, std::size_t InSize>
  struct bind<Shape<Steps, InSize>> : bound<Steps, InSize> {};
};

namespace detail {
/// Whether a layer tag is a `Dense<N>` (the fusion plan and the CUDA spec both ask).
template <class T>
inline constexpr bool is_dense_v = false;
template <std::size_t N>
inline constexpr bool is_dense_v<Dense<N>> = true;
}  // namespace detail

CTNN_END_NAMESPACE
