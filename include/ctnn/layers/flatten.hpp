#pragma once
/**
 * @file flatten.hpp
 * @brief `ctnn::Flatten`: an image `Shape<C, H, W>` becomes `Shape<C·H·W>` (in memory order,
 * channels-last), ready for a Dense layer.
 */
#include <cstddef>

#include "layer_concepts.hpp"

CTNN_BEGIN_NAMESPACE

/// Reshapes any shape to a flat vector; values are copied in memory order.
struct Flatten {
  template <std::size_t Index, class In, bool Last>
  struct check {};

  template <class In>
  struct bind {
    using tag = Flatten;
    using input_shape = In;
    using output_shape = Shape<In::size>;
    static constexpr std::size_t param_count = 0;
    static constexpr std::size_t flops = 0;
    static constexpr bool trainable = false;

    template <std::size_t B, class Be, class T>
    static void forward(Be, const T*, const T* x, T* y) noexcept {
      for (std::size_t i = 0; i < B * In::size; ++i) y[i] = x[i];
    }
    template <std::size_t B, class Be, class T>
    static void backward(Be, const T*, const T*, const T*, const T* dy, T* dx, T*) noexcept {
      if (dx != nullptr)
        for (std::size_t i = 0; i < B * In::size; ++i) dx[i] = dy[i];
    }
  };
};

CTNN_END_NAMESPACE
