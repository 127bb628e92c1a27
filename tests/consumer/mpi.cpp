// ctnn::mpi from an outside project: one data-parallel step on however many ranks run it.
#include <mpi.h>

#include <cstdio>
#include <vector>

#include <ctnn/ctnn.hpp>
#include <ctnn/parallel/mpi/data_parallel.hpp>

using Net = ctnn::Net<ctnn::Input<4>, ctnn::Dense<6>, ctnn::Tanh, ctnn::Dense<2>>;

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  static Net net;
  net.init(7);
  ctnn::mpi::DistributedTrainer<Net, ctnn::loss::MSE, ctnn::optim::SGD, ctnn::Batch<2>, ctnn::backend::native> t{
      net, {.lr = 0.1f}};
  const std::vector<float> x{0.1f, 0.2f, 0.3f, 0.4f, -0.1f, -0.2f, -0.3f, -0.4f}, y{1, 0, 0, 1};
  const float first = t.step(x, y);
  float last = first;
  for (int k = 0; k < 50; ++k) last = t.step(x, y);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank == 0) std::printf("consumer mpi %s loss %.4f -> %.4f\n", last < first ? "ok" : "NOT LEARNING", double(first), double(last));
  MPI_Finalize();
  return last < first ? 0 : 1;
}
