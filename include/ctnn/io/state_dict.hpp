#pragma once
/**
 * @file state_dict.hpp
 * @brief The names, shapes and layouts of a network's parameters in PyTorch's terms.
 *
 * A `Net<Input<...>, T0, T1, ...>` corresponds to `nn.Sequential(m0, m1, ...)` with one
 * module per layer tag, so layer i's tensors are `"{i}.weight"` and `"{i}.bias"`:
 * - `Dense`: weight `[out, in]` (ctnn stores `[in][out]`); when the Dense reads a
 *   `Flatten` of an image (through element-wise layers only), PyTorch's input order is
 *   `[C][H][W]` and ctnn's is channels-last `[H][W][C]`, and the columns are permuted too;
 * - `Conv2D`: weight `[out_c, in_c, kh, kw]` (ctnn stores `[kh][kw][in_c][out_c]`);
 * - `Conv1D`: weight `[out_c, in_c, k]` (ctnn stores `[k][in_c][out_c]`);
 * - `GRU` / `LSTM` (`nn.GRU` / `nn.LSTM`, one layer): `weight_ih_l0` `[G·H, F]`,
 *   `weight_hh_l0` `[G·H, H]`, `bias_ih_l0` and `bias_hh_l0` `[G·H]` (ctnn stores the two
 *   matrices transposed, gates in the same order);
 * - `LayerNorm`: weight (γ) and bias (β) `[F]`;
 * - biases `[out]` in both.
 */
#include <array>
#include <cstddef>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "../layers/conv1d.hpp"
#include "../layers/conv2d.hpp"
#include "../layers/dense.hpp"
#include "../layers/flatten.hpp"
#include "../layers/gru.hpp"
#include "../layers/layer_norm.hpp"
#include "../layers/lstm.hpp"
#include "../network/names.hpp"

CTNN_BEGIN_NAMESPACE
namespace io {

/// One parameter tensor of a network as PyTorch names and shapes it.
struct ParamTensor {
  std::string name;                ///< e.g. "2.weight"
  std::vector<std::size_t> shape;  ///< PyTorch's shape, e.g. {128, 256}
  std::size_t layer = 0;           ///< the ctnn layer index (= the nn.Sequential index)
  std::string layer_name;          ///< e.g. "ctnn::Dense<128>"
  std::size_t offset = 0;          ///< where its values start in the flat parameter block
  std::size_t count = 0;           ///< how many values
};

namespace detail {
template <class T>
inline constexpr bool is_recurrent_v = false;
template <std::size_t H, Returns R>
inline constexpr bool is_recurrent_v<GRU<H, R>> = true;
template <std::size_t H, Returns R>
inline constexpr bool is_recurrent_v<LSTM<H, R>> = true;
template <class T>
inline constexpr bool is_conv1d_v = false;
template <std::size_t O, std::size_t K, std::size_t D>
inline constexpr bool is_conv1d_v<Conv1D<O, K, D>> = true;

/// ctnn's `[rows][cols]` block (cols contiguous) as PyTorch's transposed `[cols][rows]`.
template <std::size_t Rows, std::size_t Cols>
constexpr std::size_t transposed(std::size_t k) noexcept {
  return (k % Cols) * Rows + k / Cols;
}

template <class T>
inline constexpr bool is_conv_v = false;
template <std::size_t O, std::size_t KH, std::size_t KW, std::size_t SH, std::size_t SW, std::size_t PH, std::size_t PW>
inline constexpr bool is_conv_v<Conv2DRect<O, KH, KW, SH, SW, PH, PW>> = true;

/// {C, H, W} of the image a flat input of layer I was flattened from (channels-last), or {0, 0, 0}.
template <class NetT, std::size_t I>
constexpr std::array<std::size_t, 3> flattened_image() {
  if constexpr (I == 0) {
    return {0, 0, 0};
  } else {
    using L = typename NetT::template layer<I - 1>;
    if constexpr (std::is_same_v<typename L::tag, Flatten>) {
      if constexpr (L::input_shape::rank == 3) {
        using d = ctnn::detail::image_dims<typename L::input_shape>;
        return {d::C, d::H, d::W};
      } else {
        return {0, 0, 0};
      }
    } else if constexpr (!L::trainable && std::is_same_v<typename L::input_shape, typename L::output_shape>) {
      return flattened_image<NetT, I - 1>();  // element-wise (activation, dropout): same order
    } else {
      return {0, 0, 0};
    }
  }
}

/// Applies f(ParamTensor, converter) to each parameter tensor of layer I; `outer` and
/// `outer_base` place a network inside a `Residual` (names "{r}.{i}.", offsets within its slice).
template <class NetT, std::size_t I, class F>
void layer_tensors(F&& f, const std::string& outer = "", std::size_t outer_base = 0, std::size_t top = I) {
  using L = typename NetT::template layer<I>;
  using Tag = typename L::tag;
  if constexpr (L::trainable) {
    const std::size_t base = outer_base + NetT::param_offsets[I];
    const std::string prefix = outer + std::to_string(I) + ".";
    if constexpr (requires { typename L::inner; }) {  // Residual: its layers as an nn.Sequential inside
      [&]<std::size_t... J>(std::index_sequence<J...>) {
        (layer_tensors<typename L::inner, J>(f, prefix, base, top), ...);
      }(std::make_index_sequence<L::inner::layer_count>{});
    } else if constexpr (ctnn::detail::is_dense_v<Tag>) {
      constexpr std::size_t in = L::in, out = L::out;
      static constexpr auto img = flattened_image<NetT, I>();
      // ctnn row r (its input index) is PyTorch column col(r).
      auto col = [](std::size_t r) {
        if constexpr (img[0] == 0) {
          return r;
        } else {
          const std::size_t c = r % img[0], hw = r / img[0];
          return c * img[1] * img[2] + hw;
        }
      };
      // element k of the PyTorch tensor [out][in] <-> element of ctnn's [in][out]
      f(ParamTensor{prefix + "weight", {out, in}, top, layer_name<Tag>(), base, in * out}, [=](std::size_t r_o) {
        const std::size_t r = r_o / out, o = r_o % out;  // ctnn index r*out + o
        return o * in + col(r);
      });
      f(ParamTensor{prefix + "bias", {out}, top, layer_name<Tag>(), base + in * out, out},
        [](std::size_t k) { return k; });
    } else if constexpr (is_conv_v<Tag>) {
      using G = typename L::geometry;
      constexpr std::size_t O = L::out_channels, C = L::in_channels, KH = G::KH, KW = G::KW;
      f(ParamTensor{prefix + "weight", {O, C, KH, KW}, top, layer_name<Tag>(), base, L::weight_count},
        [](std::size_t k) {  // ctnn [kh][kw][c][o] -> PyTorch [o][c][kh][kw]
          const std::size_t o = k % O, c = (k / O) % C, kw = (k / (O * C)) % KW, kh = k / (O * C * KW);
          return ((o * C + c) * KH + kh) * KW + kw;
        });
      f(ParamTensor{prefix + "bias", {O}, top, layer_name<Tag>(), base + L::weight_count, O},
        [](std::size_t k) { return k; });
    } else if constexpr (is_conv1d_v<Tag>) {
      constexpr std::size_t O = L::out_channels, C = L::in_channels, K = L::kernel;
      f(ParamTensor{prefix + "weight", {O, C, K}, top, layer_name<Tag>(), base, L::weight_count},
        [](std::size_t k) {  // ctnn [k][c][o] -> PyTorch [o][c][k]
          const std::size_t o = k % O, c = (k / O) % C, kk = k / (O * C);
          return (o * C + c) * K + kk;
        });
      f(ParamTensor{prefix + "bias", {O}, top, layer_name<Tag>(), base + L::weight_count, O},
        [](std::size_t k) { return k; });
    } else if constexpr (is_recurrent_v<Tag>) {
      constexpr std::size_t G = L::G, In = L::features, H = L::units;
      f(ParamTensor{prefix + "weight_ih_l0", {G, In}, top, layer_name<Tag>(), base + L::wx, In * G},
        [](std::size_t k) { return transposed<In, G>(k); });
      f(ParamTensor{prefix + "weight_hh_l0", {G, H}, top, layer_name<Tag>(), base + L::wh, H * G},
        [](std::size_t k) { return transposed<H, G>(k); });
      f(ParamTensor{prefix + "bias_ih_l0", {G}, top, layer_name<Tag>(), base + L::bx, G},
        [](std::size_t k) { return k; });
      f(ParamTensor{prefix + "bias_hh_l0", {G}, top, layer_name<Tag>(), base + L::bh, G},
        [](std::size_t k) { return k; });
    } else if constexpr (std::is_same_v<Tag, LayerNorm>) {
      constexpr std::size_t N = L::features;
      f(ParamTensor{prefix + "weight", {N}, top, layer_name<Tag>(), base, N}, [](std::size_t k) { return k; });
      f(ParamTensor{prefix + "bias", {N}, top, layer_name<Tag>(), base + N, N}, [](std::size_t k) { return k; });
    } else {
      static_assert(!L::trainable,
                    "ctnn::io: this layer has parameters but no weight-file mapping yet (Dense, Conv2D, Conv1D, GRU, "
                    "LSTM and LayerNorm have one)");
    }
  }
}
}  // namespace detail

/**
 * @brief Calls `f(const ParamTensor&, to_file)` for every parameter tensor of `NetT` in
 * layer order, where `to_file(k)` maps index k of the tensor's slice of the flat
 * parameter block to its index in PyTorch's row-major tensor.
 */
template <class NetT, class F>
void for_each_param_tensor(F&& f) {
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (detail::layer_tensors<NetT, I>(f), ...);
  }(std::make_index_sequence<NetT::layer_count>{});
}

/// The parameter tensors of `NetT`, names and PyTorch shapes, in layer order.
template <class NetT>
std::vector<ParamTensor> param_tensors() {
  std::vector<ParamTensor> out;
  for_each_param_tensor<NetT>([&](const ParamTensor& t, auto) { out.push_back(t); });
  return out;
}

}  // namespace io
CTNN_END_NAMESPACE
