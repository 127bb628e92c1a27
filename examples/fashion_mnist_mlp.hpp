// The Fashion-MNIST MLP example's network, shared by its translation units.
#pragma once
#include "fashion_mnist_common.hpp"

namespace example {
using Mlp = Net<Input<784>, Dense<256>, ReLU, Dense<128>, ReLU, Dense<10>>;
}  // namespace example
