// One instantiation of the Fashion-MNIST training routine for the CNN (batch 64),
// chosen by the build: CTNN_EXAMPLE_OPTIMIZER and CTNN_EXAMPLE_BACKEND.
#include "fashion_mnist_cnn.hpp"
#include "fashion_mnist_train.hpp"

namespace example {
template int train<LeNet, cnn_batch, CTNN_EXAMPLE_OPTIMIZER, CTNN_EXAMPLE_BACKEND>(
    const Options&, const io::FashionMnist&, typename CTNN_EXAMPLE_OPTIMIZER::Options);
}  // namespace example
