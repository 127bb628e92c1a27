// The networks of the weights-header round trip (tests/test_weights_header.cpp).
#pragma once
#include <ctnn/ctnn.hpp>

namespace test_nets {
using LeNet = ctnn::Net<ctnn::Input<1, 28, 28>, ctnn::Conv2D<6, 5, 1, 2>, ctnn::ReLU, ctnn::MaxPool2D<2>,
                        ctnn::Conv2D<16, 5>, ctnn::ReLU, ctnn::MaxPool2D<2>, ctnn::Flatten, ctnn::Dense<120>,
                        ctnn::ReLU, ctnn::Dense<84>, ctnn::ReLU, ctnn::Dense<10>>;
using Mlp = ctnn::Net<ctnn::Input<784>, ctnn::Dense<256>, ctnn::ReLU, ctnn::Dense<128>, ctnn::ReLU, ctnn::Dense<10>>;
}  // namespace test_nets
