// mpi::ParameterServer under mpirun -np 3 and -np 4.
// 1. Staleness 0 equals the all-reduce path: the same steps through DistributedTrainer on
//    the workers' communicator give the same weights, bit for bit with 2 workers (1 or 2
//    servers), within 1e-6 with 3 (MPI's summation order); a NaN batch on one worker is
//    refused there with nothing pushed, and training goes on as if it had been skipped.
// 2. The bound holds: with a straggler (worker sleeping each step) and s = 1, no worker
//    starts push c before the slowest has pushed c − 1, and the fast ones wait; with
//    s = unbounded the fast worker finishes while the straggler is still far behind.
// 3. Every rank ends with the servers' weights.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctnn/ctnn.hpp>
#include <ctnn/parallel/mpi/parameter_server.hpp>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using namespace ctnn;
using Mlp = Net<Input<20>, Dense<32>, Tanh, Dense<24>, ReLU, Dense<5>>;
constexpr std::size_t local_batch = 8;
using PS = mpi::ParameterServer<Mlp, loss::SoftmaxCrossEntropy, optim::Adam, Batch<local_batch>>;
using Ref = mpi::DistributedTrainer<Mlp, loss::SoftmaxCrossEntropy, optim::Adam, Batch<local_batch>, backend::native>;
const optim::Adam::Options adam{.lr = 0.01f};

struct StepData {
  std::vector<float> x;
  std::vector<int> t;
};
StepData batch_for(int worker, int step) {
  Rng rng(1000 + 31 * static_cast<std::uint64_t>(worker) + static_cast<std::uint64_t>(step % 7));
  StepData d{std::vector<float>(local_batch * 20), std::vector<int>(local_batch)};
  for (auto& v : d.x) v = rng.uniform(1.0f);
  for (std::size_t k = 0; k < local_batch; ++k) d.t[k] = int((k * 3 + std::size_t(step) + std::size_t(worker)) % 5);
  return d;
}

int failures = 0;
void check(bool ok, int rank, const std::string& what) {
  if (!ok) {
    ++failures;
    std::printf("rank %d: FAILED: %s\n", rank, what.c_str());
  }
}

/// Every rank holds the same weights (rank 0's, broadcast and compared).
bool same_everywhere(const Mlp& net) {
  std::vector<float> root(net.params().begin(), net.params().end());
  MPI_Bcast(root.data(), int(root.size()), MPI_FLOAT, 0, MPI_COMM_WORLD);
  int same = std::memcmp(root.data(), net.params().data(), root.size() * sizeof(float)) == 0, all = 0;
  MPI_Allreduce(&same, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  return all == 1;
}

void synchronous_equals_allreduce(int servers, int rank) {
  constexpr int steps = 30;
  auto net = std::make_unique<Mlp>();
  net->init(rank == 0 ? 7 : 99);  // rank 0's weights reach every rank
  PS ps(*net, adam, {.servers = servers, .staleness = {0}});
  bool refused = false;
  if (ps.is_server()) {
    ps.serve();
  } else {
    for (int s = 0; s < steps; ++s) {
      const auto d = batch_for(ps.worker_index(), s);
      if (ps.worker_index() == 0 && s == 3) {  // a poisoned batch first: refused, nothing pushed
        auto bad = d.x;
        bad[5] = std::nanf("");
        try {
          ps.step(bad, d.t);
        } catch (const Error& e) {
          refused = std::string(e.what()).find("non-finite") != std::string::npos;
        }
      }
      ps.step(d.x, d.t);
    }
    ps.finish();
  }
  const int W = ps.workers();
  check(same_everywhere(*net), rank, "every rank holds the servers' weights");
  MPI_Comm workers;
  MPI_Comm_split(MPI_COMM_WORLD, ps.is_server() ? MPI_UNDEFINED : 0, rank, &workers);
  if (ps.is_server()) return;
  auto ref_net = std::make_unique<Mlp>();
  ref_net->init(7);
  Ref ref(*ref_net, adam, workers);
  for (int s = 0; s < steps; ++s) {
    const auto d = batch_for(ps.worker_index(), s);
    ref.step(d.x, d.t);
  }
  double diff = 0;
  for (std::size_t k = 0; k < Mlp::param_count; ++k)
    diff = std::max(diff, double(std::abs(net->params()[k] - ref_net->params()[k])));
  const bool bitwise = std::memcmp(net->params().data(), ref_net->params().data(), Mlp::param_count * sizeof(float)) == 0;
  if (ps.worker_index() == 0) {
    std::printf("s = 0, %d server(s), %d workers: max |parameter server - all-reduce| = %.3g (%s)\n", servers, W, diff,
                bitwise ? "bit for bit" : "not bitwise");
    check(refused, rank, "a NaN batch is refused with a non-finite error");
  }
  check(W == 2 ? bitwise : diff <= 1e-6, rank, "s = 0 equals DistributedTrainer");
  MPI_Comm_free(&workers);
}

/// The last worker sleeps 8 ms a step. Worker 0 checks the largest lead it had over the
/// slowest worker when a bounded wait let it start, and that it waited (bounded), or that it
/// finished far ahead (unbounded).
void bound_holds(mpi::Staleness st, int rank) {
  constexpr int steps = 24;
  auto net = std::make_unique<Mlp>();
  net->init(7);
  PS ps(*net, adam, {.servers = 1, .staleness = st});
  std::int64_t lead = 0, straggler_behind = 0;
  if (ps.is_server()) {
    ps.serve();
  } else {
    const bool straggler = ps.worker_index() == ps.workers() - 1;
    for (int s = 0; s < steps; ++s) {
      if (straggler) std::this_thread::sleep_for(std::chrono::milliseconds(8));
      const auto d = batch_for(ps.worker_index(), s);
      ps.step(d.x, d.t);
      if (st.bounded() && s >= int(st.steps)) lead = std::max<std::int64_t>(lead, s - ps.slowest_seen());
    }
    if (ps.worker_index() == 0) straggler_behind = steps - ps.slowest_pushes();
    ps.finish();
  }
  check(same_everywhere(*net), rank, "every rank holds the servers' weights");
  if (ps.worker_index() != 0) return;
  if (st.bounded()) {
    std::printf("s = %zu, straggler 8 ms a step: worker 0 led the slowest by at most %lld push(es), waited %.3f s\n",
                st.steps, static_cast<long long>(lead), ps.waited_seconds());
    check(lead <= static_cast<std::int64_t>(st.steps), rank, "no worker runs more than s steps ahead");
    check(ps.waited_seconds() > 0.0, rank, "the fast worker waited for the straggler");
  } else {
    std::printf("s = unbounded, straggler 8 ms a step: worker 0 finished %d steps with the straggler %lld behind\n", steps,
                static_cast<long long>(straggler_behind));
    check(straggler_behind > 4, rank, "asynchronous workers do not wait");
  }
}

int main(int argc, char** argv) {
  mpi::Environment env(argc, argv);
  if (env.size() < 3) {
    if (env.rank() == 0) std::fprintf(stderr, "run with 3 or more ranks\n");
    return 2;
  }
  synchronous_equals_allreduce(1, env.rank());  // 1 server, size − 1 workers
  if (env.size() == 4) synchronous_equals_allreduce(2, env.rank());  // 2 servers, 2 workers
  bound_holds({1}, env.rank());
  bound_holds(mpi::Staleness::unbounded(), env.rank());
  int all = 0;
  MPI_Allreduce(&failures, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  if (env.rank() == 0) std::printf("ok: %d ranks, %d failed checks\n", env.size(), all);
  return all == 0 ? 0 : 1;
}
