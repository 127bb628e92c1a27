#pragma once
/**
 * @file names.hpp
 * @brief Readable names of layer tags and networks: `ctnn::layer_name<Dense<256>>()` is
 * `"ctnn::Dense<256>"`, `ctnn::net_name<Net<...>>()` spells the whole declaration as a
 * user writes it (what `python/ctnn_torch.py`'s `ctnn_type` prints, and what weight files
 * record in their metadata).
 */
#include <cstddef>
#include <string>
#include <string_view>

#include "../activations/gelu.hpp"
#include "../activations/identity.hpp"
#include "../activations/relu.hpp"
#include "../activations/sigmoid.hpp"
#include "../activations/softmax.hpp"
#include "../activations/tanh.hpp"
#include "../layers/conv1d.hpp"
#include "../layers/conv2d.hpp"
#include "../layers/dense.hpp"
#include "../layers/dropout.hpp"
#include "../layers/flatten.hpp"
#include "../layers/gru.hpp"
#include "../layers/input.hpp"
#include "../layers/layer_norm.hpp"
#include "../layers/lstm.hpp"
#include "../layers/pool2d.hpp"

CTNN_BEGIN_NAMESPACE

template <class In, class... Tags>
class Net;
template <class... Tags>
struct Residual;

namespace detail {
/// The compiler's spelling of T, without the ABI namespace (a fallback for user tags).
template <class T>
std::string pretty_type_name() {
  std::string_view f = __PRETTY_FUNCTION__;  // "... [with T = X]" (GCC) or "... [T = X]" (Clang)
  const auto at = f.find("T = ");
  if (at == std::string_view::npos) return "?";
  f.remove_prefix(at + 4);
  const auto end = f.find_first_of(";]");
  std::string s(f.substr(0, end));
  for (std::size_t p; (p = s.find("::v0::")) != std::string::npos;) s.replace(p, 6, "::");
  return s;
}

template <std::size_t... N>
std::string numbers() {
  std::string s;
  ((s += (s.empty() ? "" : ", ") + std::to_string(N)), ...);
  return s;
}

/// Tags without template arguments: their names, one line each.
template <class Tag>
inline constexpr const char* plain_name = nullptr;
template <>
inline constexpr const char* plain_name<ReLU> = "ctnn::ReLU";
template <>
inline constexpr const char* plain_name<Tanh> = "ctnn::Tanh";
template <>
inline constexpr const char* plain_name<Sigmoid> = "ctnn::Sigmoid";
template <>
inline constexpr const char* plain_name<GELU> = "ctnn::GELU";
template <>
inline constexpr const char* plain_name<Softmax> = "ctnn::Softmax";
template <>
inline constexpr const char* plain_name<Identity> = "ctnn::Identity";
template <>
inline constexpr const char* plain_name<Flatten> = "ctnn::Flatten";
template <>
inline constexpr const char* plain_name<LayerNorm> = "ctnn::LayerNorm";

template <class Tag>
struct tag_name {
  static std::string get() {
    if constexpr (plain_name<Tag> != nullptr) return plain_name<Tag>;
    else return pretty_type_name<Tag>();  // a user's own tag
  }
};
template <std::size_t N>
struct tag_name<Dense<N>> {
  static std::string get() { return "ctnn::Dense<" + numbers<N>() + ">"; }
};
template <std::size_t O, std::size_t KH, std::size_t KW, std::size_t SH, std::size_t SW, std::size_t PH, std::size_t PW>
struct tag_name<Conv2DRect<O, KH, KW, SH, SW, PH, PW>> {
  static std::string get() {
    if constexpr (KH == KW && SH == SW && PH == PW) return "ctnn::Conv2D<" + numbers<O, KH, SH, PH>() + ">";
    else return "ctnn::Conv2DRect<" + numbers<O, KH, KW, SH, SW, PH, PW>() + ">";
  }
};
template <std::size_t O, std::size_t K, std::size_t D>
struct tag_name<Conv1D<O, K, D>> {
  static std::string get() { return "ctnn::Conv1D<" + numbers<O, K, D>() + ">"; }
};
template <Returns R>
inline std::string returns_suffix() {
  return R == Returns::last ? ", ctnn::Returns::last>" : ">";
}
template <std::size_t H, Returns R>
struct tag_name<GRU<H, R>> {
  static std::string get() { return "ctnn::GRU<" + numbers<H>() + returns_suffix<R>(); }
};
template <std::size_t H, Returns R>
struct tag_name<LSTM<H, R>> {
  static std::string get() { return "ctnn::LSTM<" + numbers<H>() + returns_suffix<R>(); }
};
template <class... Tags>
struct tag_name<Residual<Tags...>> {
  static std::string get() {
    std::string s;
    ((s += (s.empty() ? "" : ", ") + tag_name<Tags>::get()), ...);
    return "ctnn::Residual<" + s + ">";
  }
};
template <std::size_t K, std::size_t S>
struct tag_name<MaxPool2D<K, S>> {
  static std::string get() { return "ctnn::MaxPool2D<" + numbers<K, S>() + ">"; }
};
template <std::size_t K, std::size_t S>
struct tag_name<AvgPool2D<K, S>> {
  static std::string get() { return "ctnn::AvgPool2D<" + numbers<K, S>() + ">"; }
};
template <std::size_t P>
struct tag_name<Dropout<P>> {
  static std::string get() { return "ctnn::Dropout<" + numbers<P>() + ">"; }
};
template <int Num, int Den>
struct tag_name<LeakyReLUSlope<Num, Den>> {
  static std::string get() {
    if constexpr (Num == 1 && Den == 100) return "ctnn::LeakyReLU";
    else return "ctnn::LeakyReLUSlope<" + std::to_string(Num) + ", " + std::to_string(Den) + ">";
  }
};
template <std::size_t... D>
struct tag_name<Input<D...>> {
  static std::string get() { return "ctnn::Input<" + numbers<D...>() + ">"; }
};
template <class NetT>
struct net_name_of {
  static std::string get() { return pretty_type_name<NetT>(); }
};
template <class In, class... Tags>
struct net_name_of<Net<In, Tags...>> {
  static std::string get() {
    std::string s = "ctnn::Net<" + tag_name<In>::get();
    ((s += ", " + tag_name<Tags>::get()), ...);
    return s + ">";
  }
};
}  // namespace detail

/// The name of a layer tag as a user writes it, e.g. `"ctnn::Conv2D<6, 5, 1, 2>"`.
template <class Tag>
std::string layer_name() {
  return detail::tag_name<Tag>::get();
}

/// The declaration of a network, e.g. `"ctnn::Net<ctnn::Input<784>, ctnn::Dense<10>>"`.
template <class NetT>
std::string net_name() {
  return detail::net_name_of<NetT>::get();
}

CTNN_END_NAMESPACE
