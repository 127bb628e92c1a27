// The Fashion-MNIST CNN example's network, shared by its translation units.
#pragma once
#include "fashion_mnist_common.hpp"

namespace example {
/// LeNet-style: two 5x5 convolutions with ReLU and 2x2 max pooling, then two dense layers.
using LeNet = Net<Input<1, 28, 28>, Conv2D<16, 5, 1, 2>, ReLU, MaxPool2D<2>, Conv2D<32, 5>, ReLU, MaxPool2D<2>, Flatten,
                  Dense<128>, ReLU, Dense<10>>;
inline constexpr std::size_t cnn_batch = 64;
}  // namespace example
