// W9: the LeNet-style CNN of the Fashion-MNIST example, batch-1 inference and one SGD
// training step at batch 64, SIMD against the scalar reference (PyTorch in pytorch_peer.py).
#include "bench_common.hpp"

using namespace bench;

BENCHMARK(forward_b1<W9, backend::native>)->Name("W9/forward_b1/ctnn");
BENCHMARK(forward_b1<W9, backend::scalar>)->Name("W9/forward_b1/scalar");
BENCHMARK(train_step<W9, loss::SoftmaxCrossEntropy, 64, backend::native>)->Name("W9/train_step_b64/ctnn");
BENCHMARK(train_step<W9, loss::SoftmaxCrossEntropy, 64, backend::scalar>)->Name("W9/train_step_b64/scalar");
