// Hybrid: 2 data-parallel MPI ranks, each running the model as a 2-stage pipeline (threads),
// must match single-process training on the concatenated batch within 1e-5 after 50 steps,
// with bitwise-identical weights on both ranks. Run with mpirun -np 2.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctnn/ctnn.hpp>
#include <ctnn/parallel/mpi/data_parallel.hpp>
#include <ctnn/parallel/pipeline.hpp>
#include <memory>
#include <vector>

using namespace ctnn;
using Mlp = Net<Input<20>, Dense<32>, Tanh, Dense<24>, ReLU, Dense<16>, Tanh, Dense<5>>;
constexpr std::size_t global_batch = 16, local_batch = 8, micro = 2;
using PlanT = partition<Mlp, Devices<CpuCore<0>, CpuCore<1>>, Batch<local_batch / micro>>;

int main(int argc, char** argv) {
  mpi::Environment env(argc, argv);
  if (env.size() != 2) {
    if (env.rank() == 0) std::fprintf(stderr, "run with 2 ranks\n");
    return 2;
  }
  const optim::SGDOptions opts{.lr = 0.05f, .momentum = 0.9f};
  auto reference = std::make_unique<Mlp>(), net = std::make_unique<Mlp>();
  reference->init(7);
  net->init(env.rank() == 0 ? 7 : 99);
  Trainer<Mlp, loss::SoftmaxCrossEntropy, optim::SGD, Batch<global_batch>> seq(*reference, opts);
  PipelineTrainer<PlanT, loss::SoftmaxCrossEntropy, optim::SGD, micro> pipe(*net, opts);
  mpi::Distributed<Mlp, decltype(pipe)> dist(*net, pipe);
  const auto [lo, hi] = mpi::shard(global_batch, env.rank(), env.size());
  for (int s = 0; s < 50; ++s) {
    Rng rng(1000 + s % 5);
    std::vector<float> x(global_batch * 20);
    for (auto& v : x) v = rng.uniform(1.0f);
    std::vector<int> t(global_batch);
    for (std::size_t k = 0; k < global_batch; ++k) t[k] = int((k * 3 + s) % 5);
    seq.step(x, t);
    dist.step(std::vector<float>(x.begin() + long(lo * 20), x.begin() + long(hi * 20)),
              std::vector<int>(t.begin() + long(lo), t.begin() + long(hi)));
  }
  double diff = 0;
  for (std::size_t k = 0; k < Mlp::param_count; ++k)
    diff = std::max(diff, double(std::abs(net->params()[k] - reference->params()[k])));
  std::vector<float> root(net->params().begin(), net->params().end());
  MPI_Bcast(root.data(), int(root.size()), MPI_FLOAT, 0, MPI_COMM_WORLD);
  const int ok = diff <= 1e-5 && std::memcmp(root.data(), net->params().data(), root.size() * sizeof(float)) == 0;
  int all = 0;
  MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  if (env.rank() == 0)
    std::printf("%s: 2 ranks x 2 pipeline stages, max |hybrid - single process| = %.3g\n", all == 2 ? "ok" : "FAIL", diff);
  return all == 2 ? 0 : 1;
}
