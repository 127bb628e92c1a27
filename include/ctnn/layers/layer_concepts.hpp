#pragma once
/**
 * @file layer_concepts.hpp
 * @brief The layer protocol.
 *
 * A layer *tag* (`Dense<256>`, `ReLU`) states only what is new. Shape inference binds
 * it to its input shape through the tag's nested `bind<InShape>`, giving a *bound
 * layer* that knows every size and carries the reference forward and backward.
 */
#include <concepts>
#include <cstddef>
#include <span>

#include "../backends/tags.hpp"
#include "../core/rng.hpp"
#include "../core/shape.hpp"

CTNN_BEGIN_NAMESPACE

namespace detail {
/**
 * @brief Carries a layer index into a failing `static_assert`, so the compiler's note
 * reads "`ctnn::detail::at_layer<2>::holds<false>` evaluates to false".
 */
template <std::size_t Index>
struct at_layer {
  template <bool Ok>
  static constexpr bool holds = Ok;
};

/// C, H, W of an image shape; 1×1×1 for any other rank (after its own static_assert has fired).
template <class S>
struct image_dims {
  static constexpr std::size_t C = 1, H = 1, W = 1;
};
template <std::size_t C_, std::size_t H_, std::size_t W_>
struct image_dims<Shape<C_, H_, W_>> {
  static constexpr std::size_t C = C_, H = H_, W = W_;
};
}  // namespace detail

/// A layer bound to its input shape: sizes, parameter count, cost, reference kernels.
template <class L>
concept Layer = requires {
  typename L::tag;
  requires ShapeType<typename L::input_shape>;
  requires ShapeType<typename L::output_shape>;
  { L::param_count } -> std::convertible_to<std::size_t>;
  { L::flops } -> std::convertible_to<std::size_t>;
  { L::trainable } -> std::convertible_to<bool>;
} && requires(const float* cp, float* p) {
  L::template forward<1>(backend::scalar{}, cp, cp, p);
  L::template backward<1>(backend::scalar{}, cp, cp, cp, cp, p, p);
};

/// A layer that owns parameters and can initialise them.
template <class L>
concept TrainableLayer = Layer<L> && L::trainable && requires(std::span<float> p, Rng& rng) {
  L::init(typename L::default_init{}, p, rng);
};

/**
 * @brief A layer tag: binds to an input shape and checks its place in the network.
 * `check<Index, InShape, IsLast>` holds the `static_assert`s for misuse.
 */
template <class T>
concept LayerTag = requires {
  typename T::template check<0, Shape<1>, true>;
};

CTNN_END_NAMESPACE
