#pragma once
/**
 * @file pool2d.hpp
 * @brief `ctnn::MaxPool2D<K, Stride>` and `ctnn::AvgPool2D<K, Stride>` (no padding).
 */
#include <cstddef>

#include "../backends/kernels.hpp"
#include "layer_concepts.hpp"

CTNN_BEGIN_NAMESPACE

namespace detail {

template <std::size_t K, std::size_t Stride, class In>
using pool_window = kernel::Window<image_dims<In>::C, image_dims<In>::H, image_dims<In>::W, K, K, Stride, Stride, 0, 0>;

template <std::size_t Index, class In, std::size_t K, std::size_t Stride>
struct pool_check {
  static_assert(at_layer<Index>::template holds<(K > 0)>, "ctnn::MaxPool2D/AvgPool2D: the window must be at least 1x1");
  static_assert(at_layer<Index>::template holds<(Stride > 0)>, "ctnn::MaxPool2D/AvgPool2D: the stride must be at least 1");
  static_assert(at_layer<Index>::template holds<(In::rank == 3)>,
                "ctnn::MaxPool2D/AvgPool2D: expects an image Shape<C, H, W>; pool before Flatten");
  static constexpr bool fits = K <= image_dims<In>::H && K <= image_dims<In>::W;
  static_assert(at_layer<Index>::template holds<fits>, "ctnn::MaxPool2D/AvgPool2D: the window is larger than the input");
  static_assert(at_layer<Index>::template holds<(!fits || ((image_dims<In>::H - K) % (Stride ? Stride : 1) == 0 &&
                                                           (image_dims<In>::W - K) % (Stride ? Stride : 1) == 0))>,
                "ctnn::MaxPool2D/AvgPool2D: the output size is not an integer: (H - window) must be a multiple "
                "of the stride (and the same for W)");
};

template <class Tag, class G>
struct pool_bound {
  using tag = Tag;
  using geometry = G;
  using input_shape = Shape<G::C, G::H, G::W>;
  using output_shape = Shape<G::C, G::OH, G::OW>;
  static constexpr std::size_t param_count = 0;
  static constexpr std::size_t flops = G::pixels * G::C * G::KH * G::KW;
  static constexpr bool trainable = false;
};
}  // namespace detail

/// Max over each K×K window (per channel), moving by Stride; backward routes the gradient
/// to the first position holding the maximum.
template <std::size_t K, std::size_t Stride = K>
struct MaxPool2D {
  template <std::size_t Index, class In, bool Last>
  struct check : detail::pool_check<Index, In, K, Stride> {};

  template <class In>
  struct bind : detail::pool_bound<MaxPool2D, detail::pool_window<K, Stride, In>> {
    using G = detail::pool_window<K, Stride, In>;
    template <std::size_t B, class Be, class T>
    static void forward(Be be, const T*, const T* x, T* y) noexcept {
      kernel::max_pool_forward<G, B>(be, x, y);
    }
    template <std::size_t B, class Be, class T>
    static void backward(Be be, const T*, const T* x, const T* y, const T* dy, T* dx, T*) noexcept {
      if (dx != nullptr) kernel::max_pool_backward<G, B>(be, x, y, dy, dx);
    }
  };
};

/// Mean over each K×K window (per channel), moving by Stride.
template <std::size_t K, std::size_t Stride = K>
struct AvgPool2D {
  template <std::size_t Index, class In, bool Last>
  struct check : detail::pool_check<Index, In, K, Stride> {};

  template <class In>
  struct bind : detail::pool_bound<AvgPool2D, detail::pool_window<K, Stride, In>> {
    using G = detail::pool_window<K, Stride, In>;
    template <std::size_t B, class Be, class T>
    static void forward(Be be, const T*, const T* x, T* y) noexcept {
      kernel::avg_pool_forward<G, B>(be, x, y);
    }
    template <std::size_t B, class Be, class T>
    static void backward(Be be, const T*, const T*, const T*, const T* dy, T* dx, T*) noexcept {
      if (dx != nullptr) kernel::avg_pool_backward<G, B>(be, dy, dx);
    }
  };
};

CTNN_END_NAMESPACE
