// The inputs and targets of the CUDA kernel tests (emulated and on a GPU), from fixed
// formulas so that every run and every file sees the same batch for the same arguments.
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <ctnn/ctnn.hpp>
#include <vector>

namespace cuda_test_data {

/// n values uniform in [-scale, scale) from ctnn::Rng(seed).
inline std::vector<float> random_vector(std::size_t n, std::uint64_t seed, float scale = 1.0f) {
  ctnn::Rng rng(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = rng.uniform(scale);
  return v;
}

/// A batch's class labels, (mul·s + add) mod `outputs`, and regression targets
/// wave(freq·k) over its `batch × outputs` values (wave: cos or sin).
struct Targets {
  std::vector<std::int32_t> labels;
  std::vector<float> values;
};
enum class Wave { cosine, sine };
inline Targets make_targets(std::size_t batch, std::size_t outputs, std::size_t mul, std::size_t add, Wave wave,
                            float freq) {
  Targets t{std::vector<std::int32_t>(batch), std::vector<float>(batch * outputs)};
  for (std::size_t s = 0; s < batch; ++s) t.labels[s] = std::int32_t((s * mul + add) % outputs);
  for (std::size_t k = 0; k < t.values.size(); ++k)
    t.values[k] = wave == Wave::cosine ? std::cos(freq * float(k)) : std::sin(freq * float(k));
  return t;
}

}  // namespace cuda_test_data
