#pragma once
/**
 * @file shape_inference.hpp
 * @brief Binds each layer tag to its input shape with one left fold over the tag list.
 *
 * `(state<In> | ... | layer_at<Tag_i, i>)`: each step checks the tag at its index,
 * binds it (`Tag::bind<Shape>`) and carries the output shape to the next step. The
 * result is a flat `TypeList` of bound layers; no recursive templates.
 */
#include <cstddef>
#include <utility>

#include "../core/type_list.hpp"
#include "../layers/layer_concepts.hpp"

CTNN_BEGIN_NAMESPACE
namespace detail {

template <class Tag, std::size_t Index, bool Last>
struct layer_at {};

template <class S, class... Bound>
struct bind_state {
  using shape = S;
  using list = TypeList<Bound...>;
};

template <class S, class... Bs, class Tag, std::size_t I, bool Last>
constexpr auto operator|(bind_state<S, Bs...>, layer_at<Tag, I, Last>) {
  if constexpr (!LayerTag<Tag>) {
    static_assert(at_layer<I>::template holds<LayerTag<Tag>>,
                  "ctnn::Net: this argument is not a layer tag; write a layer such as Dense<N>, ReLU or "
                  "Softmax (Input<...> goes first and only once)");
    return bind_state<S, Bs...>{};
  } else {
    static_assert(sizeof(typename Tag::template check<I, S, Last>) > 0);
    using bound = typename Tag::template bind<S>;
    static_assert(Layer<bound>, "ctnn: a bound layer does not satisfy ctnn::Layer");
    return bind_state<typename bound::output_shape, Bs..., bound>{};
  }
}

template <class In, class... Tags, std::size_t... Is>
auto bind_all(std::index_sequence<Is...>)
    -> decltype((bind_state<In>{} | ... | layer_at<Tags, Is, Is + 1 == sizeof...(Tags)>{}));

}  // namespace detail

/// The result of shape inference: `::list` (bound layers) and `::shape` (the output shape).
template <class InShape, class... Tags>
using bind_layers_t = decltype(detail::bind_all<InShape, Tags...>(std::index_sequence_for<Tags...>{}));

CTNN_END_NAMESPACE
