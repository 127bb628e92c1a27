#pragma once
// The standard workloads of ctnn_bench (names are the contract of docs/benchmarks.md).
#include <ctnn/ctnn.hpp>
#include <vector>

namespace bench {
using namespace ctnn;
/// W1: 16-64-64-16 tanh, batch 1 (audio / control-loop sized).
using W1 = Net<Input<16>, Dense<64>, Tanh, Dense<64>, Tanh, Dense<16>>;
/// W1's shapes with no activation (a profile row: the products and hand-offs alone).
using W1Linear = Net<Input<16>, Dense<64>, Dense<64>, Dense<16>>;
/// W2–W4: the Fashion-MNIST MLP, 784-256-128-10 ReLU.
using W2 = Net<Input<784>, Dense<256>, ReLU, Dense<128>, ReLU, Dense<10>>;
/// W7: an 8-block MLP balanced for a 2-stage pipeline: each stage holds four 256-wide
/// layers; the wider input (384) pays for the first layer's skipped input gradient.
using W7 = Net<Input<384>, Dense<256>, ReLU, Dense<256>, ReLU, Dense<256>, ReLU, Dense<256>, ReLU, Dense<256>, ReLU,
               Dense<256>, ReLU, Dense<256>, ReLU, Dense<256>, ReLU, Dense<16>>;
/// W9: the LeNet-style CNN of examples/fashion_mnist_cnn.cpp.
using W9 = Net<Input<1, 28, 28>, Conv2D<16, 5, 1, 2>, ReLU, MaxPool2D<2>, Conv2D<32, 5>, ReLU, MaxPool2D<2>, Flatten,
               Dense<128>, ReLU, Dense<10>>;
/// W5: 64-64-64-64-1 ReLU regression MLP (on-line learning).
using W5 = Net<Input<64>, Dense<64>, ReLU, Dense<64>, ReLU, Dense<64>, ReLU, Dense<1>>;

inline std::vector<float> random_inputs(std::size_t n, std::uint64_t seed = 1) {
  std::vector<float> x(n);
  Rng rng(seed);
  for (auto& v : x) v = rng.uniform();
  return x;
}
}  // namespace bench
