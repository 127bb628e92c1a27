#pragma once
/**
 * @file conv2d.hpp
 * @brief `ctnn::Conv2D<Out, K, Stride, Padding>` and its rectangular form `Conv2DRect`.
 */
#include <cstddef>
#include <span>

#include "../backends/kernels.hpp"
#include "../init/initializers.hpp"
#include "context.hpp"
#include "layer_concepts.hpp"

CTNN_BEGIN_NAMESPACE

/**
 * @brief 2-D convolution with a bias: `Out` output channels, a KH×KW kernel, strides
 * SH, SW and zero padding PH, PW. Input and output are `Shape<C, H, W>` stored
 * channels-last (`[H][W][C]`). Parameters: W `[KH][KW][C][Out]`, then b `[Out]`.
 */
template <std::size_t Out, std::size_t KH, std::size_t KW, std::size_t SH, std::size_t SW, std::size_t PH,
          std::size_t PW>
struct Conv2DRect {
  static constexpr std::size_t outputs = Out;

  template <std::size_t Index, class In, bool Last>
  struct check {
    static_assert(detail::at_layer<Index>::template holds<(Out > 0)>,
                  "ctnn::Conv2D: needs at least one output channel");
    static_assert(detail::at_layer<Index>::template holds<(KH > 0 && KW > 0)>,
                  "ctnn::Conv2D: the kernel must be at least 1x1");
    static_assert(detail::at_layer<Index>::template holds<(SH > 0 && SW > 0)>,
                  "ctnn::Conv2D: the stride must be at least 1");
    static_assert(detail::at_layer<Index>::template holds<(In::rank == 3)>,
                  "ctnn::Conv2D: expects an image Shape<C, H, W>; declare the input as Input<C, H, W>");
    using image = detail::image_dims<In>;
    static constexpr bool fits = KH <= image::H + 2 * PH && KW <= image::W + 2 * PW;
    static_assert(detail::at_layer<Index>::template holds<fits>,
                  "ctnn::Conv2D: the kernel is larger than the (padded) input");
    static_assert(detail::at_layer<Index>::template holds<
                      (!fits || ((image::H + 2 * PH - KH) % (SH ? SH : 1) == 0 &&
                                 (image::W + 2 * PW - KW) % (SW ? SW : 1) == 0))>,
                  "ctnn::Conv2D: the output size is not an integer: (H + 2*padding - kernel) must be a "
                  "multiple of the stride (and the same for W)");
  };

  template <class In>
  struct bind;

  template <std::size_t C, std::size_t H, std::size_t W>
  struct bind<Shape<C, H, W>> {
    using geometry = kernel::Window<C, H, W, KH, KW, SH, SW, PH, PW>;

    using tag = Conv2DRect;
    using input_shape = Shape<C, H, W>;
    using output_shape = Shape<Out, geometry::OH, geometry::OW>;
    using default_init = init::HeUniform;
    static constexpr std::size_t in_channels = C;
    static constexpr std::size_t out_channels = Out;
    static constexpr std::size_t weight_count = geometry::patch * Out;
    static constexpr std::size_t param_count = weight_count + Out;
    static constexpr std::size_t flops = geometry::pixels * (2 * geometry::patch * Out + Out);
    static constexpr bool trainable = true;
    /// Scratch a SIMD backend uses at batch B in training (padded input and dx, dz, Wᵀ)...
    template <std::size_t B>
    static constexpr std::size_t scratch_floats = kernel::conv_scratch_floats<geometry, Out, B, true>;
    /// ... and in inference (the padded input).
    template <std::size_t B>
    static constexpr std::size_t inference_scratch_floats = kernel::conv_scratch_floats<geometry, Out, B, false>;

    template <std::size_t B, class Be, class T>
    static void forward(Be be, const T* p, const T* x, T* y, const PassContext& ctx) noexcept {
      kernel::conv_forward<geometry, Out, B>(be, p, p + weight_count, x, y, ctx.scratch);
    }
    template <std::size_t B, class Be, class T>
    static void forward(Be be, const T* p, const T* x, T* y) noexcept {
      static_assert(inference_scratch_floats<B> == 0 || !SimdBackend<Be>,
                    "ctnn::Conv2D: this backend needs a PassContext with scratch");
      kernel::conv_forward<geometry, Out, B>(be, p, p + weight_count, x, y, nullptr);
    }
    /// Accumulates into dp; dx may be null (no input gradient wanted).
    template <std::size_t B, class Be, class T>
    static void backward(Be be, const T* p, const T* x, const T*, const T* dy, T* dx, T* dp,
                         const PassContext& ctx) noexcept {
      kernel::conv_backward<geometry, Out, B>(be, p, x, dy, dx, dp, dp + weight_count, ctx.scratch);
    }
    template <std::size_t B, class Be, class T>
    static void backward(Be be, const T* p, const T* x, const T* y, const T* dy, T* dx, T* dp) noexcept {
      static_assert(scratch_floats<B> == 0 || !SimdBackend<Be>,
                    "ctnn::Conv2D: this backend needs a PassContext with scratch");
      kernel::conv_backward<geometry, Out, B>(be, p, x, dy, dx, dp, dp + weight_count, nullptr);
      (void)y;
    }
    template <Initializer I>
    static void init(I, std::span<float> p, Rng& rng) noexcept {
      for (std::size_t k = 0; k < weight_count; ++k) p[k] = I::draw(rng, geometry::patch, KH * KW * Out);
      for (std::size_t k = weight_count; k < param_count; ++k) p[k] = 0.0f;
    }
  };
};

/// Square convolution: `Conv2D<16, 5, 1, 2>` is 16 channels, 5×5 kernel, stride 1, padding 2.
template <std::size_t Out, std::size_t K, std::size_t Stride = 1, std::size_t Padding = 0>
using Conv2D = Conv2DRect<Out, K, K, Stride, Stride, Padding, Padding>;

CTNN_END_NAMESPACE
