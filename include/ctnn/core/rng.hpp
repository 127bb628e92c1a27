#pragma once
/**
 * @file rng.hpp
 * @brief ctnn's own random numbers: the same seed gives the same bits on every platform.
 *
 * `std::uniform_real_distribution` and `std::normal_distribution` differ between
 * standard libraries, so initial weights would differ too. This generator uses only
 * integer arithmetic, IEEE-754 `+ - * /` and `sqrt` (all correctly rounded), and a
 * logarithm written here from those operations.
 */
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>

#include "../config.hpp"

CTNN_BEGIN_NAMESPACE

namespace detail {
/// One step of SplitMix64; used to expand a seed into generator state.
constexpr std::uint64_t splitmix64(std::uint64_t& x) noexcept {
  std::uint64_t z = (x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/// Natural logarithm for x > 0 from basic operations only (no libm), accurate to ~1 ulp.
inline double portable_log(double x) noexcept {
  const auto bits = std::bit_cast<std::uint64_t>(x);
  int e = static_cast<int>((bits >> 52) & 0x7FF) - 1023;
  double m = std::bit_cast<double>((bits & 0x000FFFFFFFFFFFFFull) | 0x3FF0000000000000ull);  // [1, 2)
  if (m > 1.4142135623730951) {
    m *= 0.5;
    ++e;
  }
  // log(m) = 2 atanh(s), s = (m-1)/(m+1), |s| <= 0.172: the odd series converges fast.
  const double s = (m - 1.0) / (m + 1.0);
  const double s2 = s * s;
  double term = s, sum = 0.0;
  for (int k = 1; k <= 27; k += 2) {
    sum += term / k;
    term *= s2;
  }
  return e * 0.6931471805599453 + 2.0 * sum;
}
}  // namespace detail

/**
 * @brief xoshiro256** generator seeded through SplitMix64. Small, fast, and identical
 * across compilers and standard libraries.
 */
class Rng {
 public:
  explicit constexpr Rng(std::uint64_t seed) noexcept {
    for (auto& w : s_) w = detail::splitmix64(seed);
  }

  /// The next 64 random bits.
  constexpr std::uint64_t next() noexcept {
    const std::uint64_t result = std::rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = std::rotl(s_[3], 45);
    return result;
  }

  /// Uniform float in [0, 1) with 24 random bits (exact, no rounding).
  constexpr float uniform() noexcept { return static_cast<float>(next() >> 40) * 0x1p-24f; }

  /// Uniform float in [-limit, limit).
  constexpr float uniform(float limit) noexcept { return limit * (2.0f * uniform() - 1.0f); }

  /// Uniform integer in [0, n), n >= 1 (modulo bias below n / 2^64).
  constexpr std::uint64_t below(std::uint64_t n) noexcept { return next() % n; }

  /// Standard normal (Marsaglia's polar method, in double, rounded once to float).
  float normal() noexcept {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u, v, s;
    do {
      u = static_cast<double>(next() >> 11) * 0x1p-52 - 1.0;  // [-1, 1)
      v = static_cast<double>(next() >> 11) * 0x1p-52 - 1.0;
      s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    const double f = std::sqrt(-2.0 * detail::portable_log(s) / s);
    spare_ = static_cast<float>(v * f);
    has_spare_ = true;
    return static_cast<float>(u * f);
  }

 /// The whole state (for checkpoints): the four words, then the spare normal and its flag.
  constexpr std::array<std::uint64_t, 5> state() const noexcept {
    return {s_[0], s_[1], s_[2], s_[3],
            (std::uint64_t{has_spare_} << 32) | std::bit_cast<std::uint32_t>(spare_)};
  }
  /// A generator continuing exactly where the one that gave `state()` stopped.
  static constexpr Rng from_state(const std::array<std::uint64_t, 5>& st) noexcept {
    Rng r(0);
    for (int i = 0; i < 4; ++i) r.s_[i] = st[static_cast<std::size_t>(i)];
    r.has_spare_ = (st[4] >> 32) != 0;
    r.spare_ = std::bit_cast<float>(static_cast<std::uint32_t>(st[4]));
    return r;
  }

 private:
  std::uint64_t s_[4]{};
  float spare_ = 0.0f;
  bool has_spare_ = false;
};

CTNN_END_NAMESPACE
