#pragma once
/**
 * @file geometry.hpp
 * @brief Compile-time geometry of a 2-D window operation (convolution, pooling).
 *
 * Layout is channels-last (NHWC): a sample of logical shape `Shape<C, H, W>` is stored
 * `[H][W][C]`, so the C values of one pixel are contiguous (see docs/architecture.md,
 * "Convolutional layers", for why).
 */
#include <cstddef>

#include "../config.hpp"

CTNN_BEGIN_NAMESPACE
namespace kernel {

/// Window geometry: input C×H×W, window KH×KW, strides SH, SW, zero padding PH, PW.
template <std::size_t C_, std::size_t H_, std::size_t W_, std::size_t KH_, std::size_t KW_, std::size_t SH_,
          std::size_t SW_, std::size_t PH_, std::size_t PW_>
struct Window {
  static constexpr std::size_t C = C_, H = H_, W = W_, KH = KH_, KW = KW_, SH = SH_, SW = SW_, PH = PH_, PW = PW_;
  static constexpr std::size_t Hp = H + 2 * PH, Wp = W + 2 * PW;  ///< padded input extents
  static constexpr bool valid = KH >= 1 && KW >= 1 && SH >= 1 && SW >= 1 && KH <= Hp && KW <= Wp;
  static constexpr std::size_t OH = valid ? (Hp - KH) / SH + 1 : 1;  ///< output rows
  static constexpr std::size_t OW = valid ? (Wp - KW) / SW + 1 : 1;  ///< output columns
  static constexpr bool exact = valid && (Hp - KH) % SH == 0 && (Wp - KW) % SW == 0;  ///< windows tile the input
  static constexpr std::size_t in_size = C * H * W;        ///< floats per input sample
  static constexpr std::size_t padded_size = C * Hp * Wp;  ///< floats per padded input sample
  static constexpr std::size_t pixels = OH * OW;           ///< output pixels per sample
  static constexpr std::size_t patch = KH * KW * C;        ///< inputs under one window
};

}  // namespace kernel
CTNN_END_NAMESPACE
