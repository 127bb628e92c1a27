// One instantiation of the Fashion-MNIST training routine for the MLP, chosen by the
// build: CTNN_EXAMPLE_BATCH, CTNN_EXAMPLE_OPTIMIZER and CTNN_EXAMPLE_BACKEND. This is
// "the training translation unit" whose compile time benchmarks/compile_time.py measures.
#include "fashion_mnist_mlp.hpp"
#include "fashion_mnist_train.hpp"

namespace example {
template int train<Mlp, CTNN_EXAMPLE_BATCH, CTNN_EXAMPLE_OPTIMIZER, CTNN_EXAMPLE_BACKEND>(
    const Options&, const io::FashionMnist&, typename CTNN_EXAMPLE_OPTIMIZER::Options);
}  // namespace example
