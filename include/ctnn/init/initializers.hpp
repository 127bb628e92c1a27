#pragma once
/**
 * @file initializers.hpp
 * @brief Weight initialisers: Xavier/Glorot and He, uniform and normal. Biases start at 0.
 *
 * With the same seed they give bit-identical weights on every platform (see rng.hpp).
 */
#include <cmath>
#include <cstddef>

#include "../core/rng.hpp"

CTNN_BEGIN_NAMESPACE
namespace init {

/// Glorot & Bengio: U(-a, a), a = sqrt(6 / (fan_in + fan_out)).
struct XavierUniform {
  static float draw(Rng& rng, std::size_t fan_in, std::size_t fan_out) noexcept {
    return rng.uniform(static_cast<float>(std::sqrt(6.0 / static_cast<double>(fan_in + fan_out))));
  }
};
/// Glorot & Bengio: N(0, 2 / (fan_in + fan_out)).
struct XavierNormal {
  static float draw(Rng& rng, std::size_t fan_in, std::size_t fan_out) noexcept {
    return static_cast<float>(std::sqrt(2.0 / static_cast<double>(fan_in + fan_out))) * rng.normal();
  }
};
/// He et al. (for ReLU): U(-a, a), a = sqrt(6 / fan_in).
struct HeUniform {
  static float draw(Rng& rng, std::size_t fan_in, std::size_t) noexcept {
    return rng.uniform(static_cast<float>(std::sqrt(6.0 / static_cast<double>(fan_in))));
  }
};
/// He et al. (for ReLU): N(0, 2 / fan_in).
struct HeNormal {
  static float draw(Rng& rng, std::size_t fan_in, std::size_t) noexcept {
    return static_cast<float>(std::sqrt(2.0 / static_cast<double>(fan_in))) * rng.normal();
  }
};

}  // namespace init

/// An initialiser: draws one weight given the layer's fan-in and fan-out.
template <class I>
concept Initializer = requires(Rng& rng) {
  { I::draw(rng, std::size_t{1}, std::size_t{1}) } -> std::same_as<float>;
};

CTNN_END_NAMESPACE
