#pragma once
// The networks of the embedded programs, shared by the firmware, its host twin and the
// program that writes the weights.
#include <ctnn/ctnn.hpp>

namespace embedded {

/// Benchmark W1: 16-64-64-16 with tanh, run at batch 1.
using W1 = ctnn::Net<ctnn::Input<16>, ctnn::Dense<64>, ctnn::Tanh, ctnn::Dense<64>, ctnn::Tanh, ctnn::Dense<16>>;

/// The on-device learner: a small regression net trained by SGD on MSE, 8 samples a step.
using Learner = ctnn::Net<ctnn::Input<8>, ctnn::Dense<16>, ctnn::Tanh, ctnn::Dense<4>>;
inline constexpr std::size_t learner_batch = 8;

/// Input k of a deterministic set: values in [-2, 2), the same bits on every target.
template <std::size_t N>
constexpr std::array<float, N> probe(std::size_t k) noexcept {
  std::array<float, N> x{};
  for (std::size_t i = 0; i < N; ++i) x[i] = static_cast<float>(static_cast<int>((k * N + i) * 37 % 101) - 50) / 25.0f;
  return x;
}

}  // namespace embedded
