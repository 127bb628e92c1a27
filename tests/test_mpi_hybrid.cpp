// Hybrids: 2 data-parallel MPI ranks, each training its half of the batch with a local
// trainer that is itself parallel — a 2-stage pipeline (threads), or DataParallel over 2
// threads — through mpi::Distributed, which takes any LocalTrainer. Each must match
// single-process training on the concatenated batch within 1e-5 after 50 steps, with
// bitwise-identical weights on both ranks, and a NaN on one rank must raise on both with
// the weights unchanged. Run with mpirun -np 2.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctnn/ctnn.hpp>
#include <ctnn/parallel/data_parallel.hpp>
#include <ctnn/parallel/mpi/data_parallel.hpp>
#include <ctnn/parallel/pipeline.hpp>
#include <memory>
#include <vector>

using namespace ctnn;
using Mlp = Net<Input<20>, Dense<32>, Tanh, Dense<24>, ReLU, Dense<16>, Tanh, Dense<5>>;
constexpr std::size_t global_batch = 16, local_batch = 8, micro = 2;
using PlanT = partition<Mlp, Devices<CpuCore<0>, CpuCore<1>>, Batch<local_batch / micro>>;
using Pipe = PipelineTrainer<PlanT, loss::SoftmaxCrossEntropy, optim::SGD, micro>;
using Threads2 = DataParallel<Trainer<Mlp, loss::SoftmaxCrossEntropy, optim::SGD, Batch<local_batch>>, Threads<0>, Chunks<2>>;
static_assert(LocalTrainer<Pipe> && LocalTrainer<Threads2> &&
              LocalTrainer<Trainer<Mlp, loss::SoftmaxCrossEntropy, optim::SGD, Batch<local_batch>>>);

struct StepData {
  std::vector<float> x;
  std::vector<int> t;
};
StepData global_step(int s) {
  Rng rng(1000 + s % 5);
  StepData d{std::vector<float>(global_batch * 20), std::vector<int>(global_batch)};
  for (auto& v : d.x) v = rng.uniform(1.0f);
  for (std::size_t k = 0; k < global_batch; ++k) d.t[k] = int((k * 3 + s) % 5);
  return d;
}

/// 50 steps of `dist` on this rank's half against one process on the whole batch; then a NaN
/// on the last rank only. Returns 1 when every check holds on this rank.
template <class LocalT>
int hybrid(const char* what, int rank, int size, LocalT& local, Mlp& net) {
  const optim::SGDOptions opts{.lr = 0.05f, .momentum = 0.9f};
  auto reference = std::make_unique<Mlp>();
  reference->init(7);
  Trainer<Mlp, loss::SoftmaxCrossEntropy, optim::SGD, Batch<global_batch>> seq(*reference, opts);
  mpi::Distributed<Mlp, LocalT> dist(net, local);
  const auto [lo, hi] = mpi::shard(global_batch, rank, size);
  for (int s = 0; s < 50; ++s) {
    const auto d = global_step(s);
    seq.step(d.x, d.t);
    dist.step(std::vector<float>(d.x.begin() + long(lo * 20), d.x.begin() + long(hi * 20)),
              std::vector<int>(d.t.begin() + long(lo), d.t.begin() + long(hi)));
  }
  double diff = 0;
  for (std::size_t k = 0; k < Mlp::param_count; ++k)
    diff = std::max(diff, double(std::abs(net.params()[k] - reference->params()[k])));
  std::vector<float> root(net.params().begin(), net.params().end());
  MPI_Bcast(root.data(), int(root.size()), MPI_FLOAT, 0, MPI_COMM_WORLD);
  const bool same = std::memcmp(root.data(), net.params().data(), root.size() * sizeof(float)) == 0;

  auto d = global_step(0);
  std::vector<float> x(d.x.begin() + long(lo * 20), d.x.begin() + long(hi * 20));
  if (rank == size - 1) x[3] = std::nanf("");
  const std::vector<float> before(net.params().begin(), net.params().end());
  bool raised = false;
  try {
    dist.step(x, std::vector<int>(d.t.begin() + long(lo), d.t.begin() + long(hi)));
  } catch (const Error&) {
    raised = true;
  }
  const bool unchanged = std::memcmp(before.data(), net.params().data(), before.size() * sizeof(float)) == 0;
  if (rank == 0)
    std::printf("%s: max |hybrid - single process| = %.3g, ranks %s, NaN %s\n", what, diff,
                same ? "identical" : "DIFFER", raised && unchanged ? "raised, weights unchanged" : "NOT HANDLED");
  return diff <= 1e-5 && same && raised && unchanged ? 1 : 0;
}

int main(int argc, char** argv) {
  mpi::Environment env(argc, argv);
  if (env.size() != 2) {
    if (env.rank() == 0) std::fprintf(stderr, "run with 2 ranks\n");
    return 2;
  }
  const optim::SGDOptions opts{.lr = 0.05f, .momentum = 0.9f};
  int ok = 0;
  {
    auto net = std::make_unique<Mlp>();
    net->init(env.rank() == 0 ? 7 : 99);  // the handshake makes every rank start from rank 0's
    Pipe pipe(*net, opts);
    ok += hybrid("2 ranks x 2 pipeline stages", env.rank(), env.size(), pipe, *net);
  }
  {
    auto net = std::make_unique<Mlp>();
    net->init(env.rank() == 0 ? 7 : 99);
    Threads2 threads(*net, opts, 2);
    ok += hybrid("2 ranks x 2 DataParallel threads", env.rank(), env.size(), threads, *net);
  }
  int all = 0;
  MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  if (env.rank() == 0) std::printf("%s\n", all == 4 ? "ok" : "FAIL");
  return all == 4 ? 0 : 1;
}
