#pragma once
/**
 * @file finite.hpp
 * @brief NaN/±Inf scans over gradient blocks, cheap enough to run on every step.
 */
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "../config.hpp"

CTNN_BEGIN_NAMESPACE
namespace detail {

/// Whether v is finite: v − v is 0 for every finite v and NaN for NaN and ±Inf. The one test
/// of a value on the host and in CUDA device code (the scans below are its vectorised form).
CTNN_HOST_DEVICE constexpr bool is_finite(float v) noexcept { return v - v == 0.0f; }

/// 1 when `v` is NaN or ±Inf: exactly when its exponent bits are all ones. Branch-free,
/// so a loop OR-ing it over an array vectorises.
inline std::uint32_t non_finite_bit(float v) noexcept {
  return (std::bit_cast<std::uint32_t>(v) & 0x7f800000u) == 0x7f800000u;
}

/// Index of the first NaN/±Inf in `p[0, n)`, or `n` when all are finite. The common
/// clean case is one vectorised pass; only a poisoned array is scanned again for the index.
inline std::size_t first_non_finite(const float* p, std::size_t n) noexcept {
  std::uint32_t poison = 0;
  for (std::size_t k = 0; k < n; ++k) poison |= non_finite_bit(p[k]);
  if (poison == 0) return n;
  for (std::size_t k = 0; k < n; ++k)
    if (!std::isfinite(p[k])) return k;
  return n;
}

/// The largest |p[k]| as its bit pattern (sign cleared), 0 for n = 0: the order of those
/// patterns is the order of the magnitudes, and NaN/±Inf are exactly the patterns ≥
/// `non_finite_bits`, so one vectorised integer max answers "finite, and how large".
inline std::uint32_t max_abs_bits(const float* p, std::size_t n) noexcept {
  std::uint32_t m = 0;
  for (std::size_t k = 0; k < n; ++k) m = std::max(m, std::bit_cast<std::uint32_t>(p[k]) & 0x7fffffffu);
  return m;
}
inline constexpr std::uint32_t non_finite_bits = 0x7f800000u;

/// The one wording, for every executor, of a step refused for a NaN/Inf loss; `who` names
/// the call (e.g. "ctnn::Trainer::step").
inline std::string non_finite_loss(std::string_view who, double loss, std::size_t step) {
  return std::string(who) + ": non-finite loss (" + std::to_string(loss) + ") at step " + std::to_string(step) +
         "; check the inputs for NaN/Inf or lower the learning rate (parameters left unchanged)";
}
/// The same for a NaN/Inf gradient; `where` locates it (" in layer 2 (parameter 5)"), or is empty.
inline std::string non_finite_gradient(std::string_view who, std::size_t step, std::string_view where = {}) {
  return std::string(who) + ": non-finite gradient at step " + std::to_string(step) + std::string(where) +
         "; parameters left unchanged";
}
/// " (parameter k)", the index in the flat parameter block.
inline std::string at_parameter(std::size_t k) { return " (parameter " + std::to_string(k) + ")"; }

}  // namespace detail
CTNN_END_NAMESPACE
