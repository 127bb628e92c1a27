// One rank fails in the middle of training (an uncaught ctnn::Error on rank 1 at step 3):
// every rank must stop with a non-zero exit, none may hang in the next all-reduce. With
// --kill-worker, a parameter-server worker dies instead (SIGKILL at its step 3) while the
// server and the other worker wait on it: mpirun must end them too.
#include <ctnn/ctnn.hpp>
#include <csignal>
#include <cstring>
#include <ctnn/parallel/mpi/data_parallel.hpp>
#include <ctnn/parallel/mpi/parameter_server.hpp>
#include <memory>
#include <vector>

using namespace ctnn;
using Small = Net<Input<8>, Dense<4>, ReLU, Dense<2>>;

int main(int argc, char** argv) {
  mpi::Environment env(argc, argv);
  if (argc > 1 && !std::strcmp(argv[1], "--kill-worker")) {
    auto net = std::make_unique<Small>();
    net->init(1);
    mpi::ParameterServer<Small, loss::SoftmaxCrossEntropy, optim::SGD, Batch<4>> ps(*net);
    if (ps.is_server()) {
      ps.serve();
    } else {
      std::vector<float> x(4 * 8, 0.5f);
      const std::vector<int> y{0, 1, 0, 1};
      for (int s = 0; s < 10; ++s) {
        if (ps.worker_index() == 1 && s == 3) std::raise(SIGKILL);
        ps.step(x, y);
      }
      ps.finish();
    }
    return 0;
  }
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
