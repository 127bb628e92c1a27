// Ranks built with different networks (rank 0 vs the rest): every rank must report the
// mismatch and exit non-zero instead of hanging in a collective.
#include <cstdio>
#include <ctnn/ctnn.hpp>
#include <ctnn/parallel/mpi/data_parallel.hpp>
#include <memory>

using namespace ctnn;
using A = Net<Input<8>, Dense<4>, ReLU, Dense<2>>;
using B = Net<Input<8>, Dense<5>, ReLU, Dense<2>>;

template <class N>
int run() {
  auto net = std::make_unique<N>();
  net->init(1);
  try {
    mpi::DistributedTrainer<N, loss::SoftmaxCrossEntropy, optim::SGD, Batch<4>, default_backend> t(*net);
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 3;
  }
  return 0;
}

int main(int argc, char** argv) {
  mpi::Environment env(argc, argv);
  return env.rank() == 0 ? run<A>() : run<B>();
}
