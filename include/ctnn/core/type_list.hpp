#pragma once
/**
 * @file type_list.hpp
 * @brief One small flat type list; indexing by pack expansion, no recursion.
 */
#include <cstddef>
#include <type_traits>
#include <utility>

#include "../config.hpp"

CTNN_BEGIN_NAMESPACE

/// A flat list of types.
template <class... Ts>
struct TypeList {
  static constexpr std::size_t size = sizeof...(Ts);
};

namespace detail {
template <std::size_t I, class T>
struct indexed {
  using type = T;
};
template <class Seq, class... Ts>
struct indexer;
template <std::size_t... Is, class... Ts>
struct indexer<std::index_sequence<Is...>, Ts...> : indexed<Is, Ts>... {};

template <std::size_t I, class T>
indexed<I, T> select(indexed<I, T>);

template <std::size_t I, class List>
struct at_impl;
template <std::size_t I, class... Ts>
struct at_impl<I, TypeList<Ts...>> {
  using type = typename decltype(select<I>(indexer<std::index_sequence_for<Ts...>, Ts...>{}))::type;
};
}  // namespace detail

/// The I-th type of a TypeList, in constant template depth.
template <std::size_t I, class List>
using type_at_t = typename detail::at_impl<I, List>::type;

CTNN_END_NAMESPACE
