// One rank fails in the middle of training (an uncaught ctnn::Error on rank 1 at step 3):
// every rank must stop with a non-zero exit, none may hang in the next all-reduce.
#include <ctnn/ctnn.hpp>
#include <ctnn/parallel/mpi/data_parallel.hpp>
#include <memory>
#include <vector>

using namespace ctnn;
using Small = Net<Input<8>, Dense<4>, ReLU, Dense<2>>;

int main(int argc, char** argv) {
  mpi::Environment env(argc, argv);
  auto net = std::make_unique<Small>();
  net->init(1);
  mpi::DistributedTrainer<Small, loss::SoftmaxCrossEntropy, optim::SGD, Batch<4>, default_backend> t(*net);
  std::vector<float> x(4 * 8, 0.5f);
  const std::vector<int> y{0, 1, 0, 1};
  for (int s = 0; s < 10; ++s) {
    if (env.rank() == 1 && s == 3) x.resize(5);  // a bad batch: step raises before its all-reduce
    t.step(x, y);
  }
  return 0;
}
