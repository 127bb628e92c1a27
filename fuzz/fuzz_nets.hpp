// The networks the safetensors harness loads into (the seed corpus holds files for both).
#pragma once
#include <ctnn/ctnn.hpp>

namespace fuzz_nets {
using Mlp = ctnn::Net<ctnn::Input<4>, ctnn::Dense<3>, ctnn::ReLU, ctnn::Dense<2>>;
using Cnn = ctnn::Net<ctnn::Input<2, 3, 3>, ctnn::Conv2D<2, 2>, ctnn::Flatten, ctnn::Dense<2>>;
}  // namespace fuzz_nets
