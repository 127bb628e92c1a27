// Run under mpirun with 1, 2 and 4 ranks (ctest does). Each rank trains on its shard of
// every global batch; after 50 SGD steps the weights must equal single-process training
// on the concatenated batch within 1e-5 (max-abs) and be bitwise identical on all ranks.
// MPI_Allreduce and MPI_Bcast are interposed through PMPI: exactly one all-reduce per
// step and one broadcast in all. Also: a NaN on one rank raises on every rank; the top-k
// error-feedback invariant (exact in double); local SGD and top-k keep ranks identical;
// bucketed all-reduce (MPI_Iallreduce per bucket, started during backward) trains the same
// weights as the single all-reduce; PowerSGD recovers the gradient at full rank and learns.
#include <mpi.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctnn/ctnn.hpp>
#include <ctnn/parallel/mpi/data_parallel.hpp>
#include <memory>
#include <vector>

namespace {
long g_allreduce = 0, g_bcast = 0, g_allgatherv = 0, g_iallreduce = 0;
}

// PMPI interposition: count the calls, forward to the library.
extern "C" int MPI_Allreduce(const void* s, void* r, int n, MPI_Datatype t, MPI_Op op, MPI_Comm c) {
  ++g_allreduce;
  return PMPI_Allreduce(s, r, n, t, op, c);
}
extern "C" int MPI_Allgatherv(const void* s, int n, MPI_Datatype st, void* r, const int* counts, const int* displs,
                              MPI_Datatype rt, MPI_Comm c) {
  ++g_allgatherv;
  return PMPI_Allgatherv(s, n, st, r, counts, displs, rt, c);
}
extern "C" int MPI_Iallreduce(const void* s, void* r, int n, MPI_Datatype t, MPI_Op op, MPI_Comm c, MPI_Request* q) {
  ++g_iallreduce;
  return PMPI_Iallreduce(s, r, n, t, op, c, q);
}
extern "C" int MPI_Bcast(void* b, int n, MPI_Datatype t, int root, MPI_Comm c) {
  ++g_bcast;
  return PMPI_Bcast(b, n, t, root, c);
}

using namespace ctnn;
using Mlp = Net<Input<20>, Dense<32>, Tanh, Dense<24>, ReLU, Dense<5>>;
constexpr std::size_t global_batch = 16;
int failures = 0;

#define CHECK(cond, ...)                                   \
  do {                                                     \
    if (!(cond)) {                                         \
      ++failures;                                          \
      std::fprintf(stderr, "FAILED %s: ", #cond);          \
      std::fprintf(stderr, __VA_ARGS__);                   \
      std::fprintf(stderr, "\n");                          \
    }                                                      \
  } while (0)

std::vector<float> batch_x(int step) {
  Rng rng(1000 + step % 5);
  std::vector<float> x(global_batch * 20);
  for (auto& v : x) v = rng.uniform(1.0f);
  return x;
}
std::vector<int> batch_t(int step) {
  std::vector<int> t(global_batch);
  for (std::size_t k = 0; k < global_batch; ++k) t[k] = int((k * 3 + step) % 5);
  return t;
}

// Step s's global batch, and the rows [lo, hi) of it that one rank trains on.
struct StepData {
  std::vector<float> x, xl;
  std::vector<int> t, tl;
};
StepData step_data(int s, std::size_t lo, std::size_t hi) {
  StepData d{batch_x(s), {}, batch_t(s), {}};
  d.xl.assign(d.x.begin() + long(lo * 20), d.x.begin() + long(hi * 20));
  d.tl.assign(d.t.begin() + long(lo), d.t.begin() + long(hi));
  return d;
}

// Every rank's parameters must equal rank 0's, bit for bit.
void check_same_as_rank0(Mlp& net, int rank, const char* what) {
  std::vector<float> root(net.params().begin(), net.params().end());
  PMPI_Bcast(root.data(), int(root.size()), MPI_FLOAT, 0, MPI_COMM_WORLD);
  CHECK(std::memcmp(root.data(), net.params().data(), root.size() * sizeof(float)) == 0, "%s: rank %d differs from rank 0",
        what, rank);
}

// A NaN in the last rank's inputs only: every rank raises, nobody hangs, weights unchanged.
template <class Dist>
void check_nan_raises_everywhere(Dist& dist, Mlp& net, std::size_t lo, std::size_t hi, int rank, int size,
                                 const char* what) {
  const std::vector<float> before(net.params().begin(), net.params().end());
  auto d = step_data(0, lo, hi);
  if (rank == size - 1) d.xl[3] = std::nanf("");
  bool raised = false;
  try {
    dist.step(d.xl, d.tl);
  } catch (const Error&) {
    raised = true;
  }
  CHECK(raised, "%s: rank %d did not raise on a NaN", what, rank);
  CHECK(std::memcmp(before.data(), net.params().data(), before.size() * sizeof(float)) == 0, "%s: weights changed", what);
}

template <std::size_t Local>
void equivalence(int rank, int size) {
  const optim::SGDOptions opts{.lr = 0.05f, .momentum = 0.9f};
  auto reference = std::make_unique<Mlp>();
  reference->init(7);
  Trainer<Mlp, loss::SoftmaxCrossEntropy, optim::SGD, Batch<global_batch>> seq(*reference, opts);

  auto net = std::make_unique<Mlp>();
  net->init(rank == 0 ? 7 : 1000 + rank);  // other ranks start elsewhere: the broadcast must fix it
  const long bcast0 = g_bcast, allreduce0 = g_allreduce;
  mpi::DistributedTrainer<Mlp, loss::SoftmaxCrossEntropy, optim::SGD, Batch<Local>, default_backend> dist(*net, opts);
  CHECK(g_bcast - bcast0 == 1, "broadcasts at start: %ld", g_bcast - bcast0);
  const long after_start = g_allreduce;
  const auto [lo, hi] = mpi::shard(global_batch, rank, size);
  CHECK(hi - lo == Local, "shard of %zu, local batch %zu", hi - lo, Local);
  for (int s = 0; s < 50; ++s) {
    const auto d = step_data(s, lo, hi);
    const float l_seq = seq.step(d.x, d.t);
    const float l = dist.step(d.xl, d.tl);
    if (s == 0) CHECK(std::abs(l - l_seq) <= 1e-5f * (1 + std::abs(l_seq)), "loss %g vs %g", l, l_seq);
  }
  CHECK(g_allreduce - after_start == 50, "all-reduces in 50 steps: %ld", g_allreduce - after_start);
  (void)allreduce0;
  double diff = 0;
  for (std::size_t k = 0; k < Mlp::param_count; ++k)
    diff = std::max(diff, double(std::abs(net->params()[k] - reference->params()[k])));
  CHECK(diff <= 1e-5, "max |distributed - single process| = %g", diff);
  check_same_as_rank0(*net, rank, "exact");
  check_nan_raises_everywhere(dist, *net, lo, hi, rank, size, "exact");
}

// Error feedback: input + old residual == transmitted + new residual, exactly in double,
// over several steps; exactly k entries go out; the residual of a sent entry is only the
// float rounding of what was sent.
void topk_invariant() {
  using C = mpi::TopK<50>;
  constexpr std::size_t n = 1001;
  std::vector<double> residual(n, 0.0);
  std::vector<C::Pair> out;
  std::vector<float> work;
  Rng rng(5);
  for (int step = 0; step < 20; ++step) {
    std::vector<float> g(n);
    for (auto& v : g) v = rng.uniform(1.0f) * (step % 3 == 0 ? 1e-3f : 1.0f);
    if (step == 7) std::fill(g.begin(), g.begin() + 200, 0.25f);  // ties at the threshold
    const std::vector<double> old = residual;
    C::compress(g, residual, out, work);
    CHECK(out.size() == C::kept(n), "sent %zu, expected %zu", out.size(), C::kept(n));
    std::vector<double> sent(n, 0.0);
    for (const auto& p : out) sent[p.index] = p.value;
    for (std::size_t i = 0; i < n; ++i) {
      const double lhs = static_cast<double>(g[i]) + old[i], rhs = sent[i] + residual[i];
      if (lhs != rhs) {
        CHECK(lhs == rhs, "step %d entry %zu: %.17g != %.17g", step, i, lhs, rhs);
        return;
      }
    }
  }
  static_assert(mpi::TopK<10>::ratio<100000> == 50.0);
}

// Bucketed's cut: buckets from the end of the block, contiguous, covering it; a remainder
// under half a bucket joins the first bucket.
void bucket_cuts() {
  using C = mpi::Bucketed<1>;  // 256 floats
  using Cuts = std::vector<std::pair<std::size_t, std::size_t>>;
  CHECK(C::cut(1) == (Cuts{{0, 1}}), "a block of 1");
  CHECK(C::cut(256) == (Cuts{{0, 256}}), "one whole bucket");
  CHECK(C::cut(512) == (Cuts{{256, 512}, {0, 256}}), "two whole buckets");
  CHECK(C::cut(384) == (Cuts{{128, 384}, {0, 128}}), "a remainder of half a bucket stays apart");
  CHECK(C::cut(383) == (Cuts{{0, 383}}), "a remainder under half a bucket joins the first");
  CHECK(C::cut(1590).size() == 6, "the test MLP's block: %zu buckets", C::cut(1590).size());
}

// Local SGD: after a multiple of H steps every rank holds the same (averaged) weights.
template <std::size_t Local>
void local_sgd(int rank) {
  auto net = std::make_unique<Mlp>();
  net->init(7);
  mpi::DistributedTrainer<Mlp, loss::SoftmaxCrossEntropy, optim::SGD, Batch<Local>, default_backend, mpi::LocalSGD<4>>
      dist(*net, {.lr = 0.05f});
  const long before = g_allreduce;
  for (int s = 0; s < 8; ++s) {
    const auto x = batch_x(s + rank);  // different data on every rank
    const auto t = batch_t(s);
    dist.step(std::vector<float>(x.begin(), x.begin() + long(Local * 20)), std::vector<int>(t.begin(), t.begin() + long(Local)));
  }
  CHECK(g_allreduce - before == 2, "local SGD all-reduces in 8 steps with H = 4: %ld", g_allreduce - before);
  check_same_as_rank0(*net, rank, "local SGD");
}

// Top-k training: one all-gather of pairs per step; identical weights on every rank.
template <std::size_t Local>
void topk_training(int rank) {
  auto net = std::make_unique<Mlp>();
  net->init(7);
  mpi::DistributedTrainer<Mlp, loss::SoftmaxCrossEntropy, optim::SGD, Batch<Local>, default_backend, mpi::TopK<100>>
      dist(*net, {.lr = 0.05f});
  const long before = g_allgatherv;
  for (int s = 0; s < 10; ++s) {
    const auto x = batch_x(s + rank);
    const auto t = batch_t(s);
    dist.step(std::vector<float>(x.begin(), x.begin() + long(Local * 20)), std::vector<int>(t.begin(), t.begin() + long(Local)));
  }
  CHECK(g_allgatherv - before == 10, "top-k all-gathers in 10 steps: %ld", g_allgatherv - before);
  check_same_as_rank0(*net, rank, "top-k");
}

// Bucketed all-reduce: 1 KiB buckets (256 floats) over the 1,589 parameters and the loss.
// Against single-process training within 1e-5 and bitwise identical ranks, as the exact
// path; against the exact path itself bitwise with up to 2 ranks (each sum is one addition
// either way). One MPI_Iallreduce per bucket and step, no MPI_Allreduce; the buckets of the
// last two layers (gradient offsets from 672 on) start before the first layer's backward.
template <std::size_t Local>
void bucketed(int rank, int size) {
  const optim::SGDOptions opts{.lr = 0.05f, .momentum = 0.9f};
  auto reference = std::make_unique<Mlp>(), exact_net = std::make_unique<Mlp>(), net = std::make_unique<Mlp>();
  reference->init(7);
  exact_net->init(7);
  net->init(rank == 0 ? 7 : 2000 + rank);  // the broadcast must fix the other ranks' start
  Trainer<Mlp, loss::SoftmaxCrossEntropy, optim::SGD, Batch<global_batch>> seq(*reference, opts);
  mpi::DistributedTrainer<Mlp, loss::SoftmaxCrossEntropy, optim::SGD, Batch<Local>, default_backend> exact(*exact_net,
                                                                                                          opts);
  using Strategy = mpi::Bucketed<1>;
  mpi::DistributedTrainer<Mlp, loss::SoftmaxCrossEntropy, optim::SGD, Batch<Local>, default_backend, Strategy> dist(*net,
                                                                                                                   opts);
  const auto cut = Strategy::cut(Mlp::param_count + 1);
  CHECK(dist.buckets() == 6 && cut.size() == 6, "buckets %zu", dist.buckets());
  CHECK(cut.front().second == Mlp::param_count + 1 && cut.back().first == 0, "buckets do not cover the block");
  for (std::size_t k = 1; k < cut.size(); ++k) CHECK(cut[k].second == cut[k - 1].first, "bucket %zu not contiguous", k);
  const auto [lo, hi] = mpi::shard(global_batch, rank, size);
  const long iallreduce0 = g_iallreduce, allreduce0 = g_allreduce;
  for (int s = 0; s < 50; ++s) {
    const auto d = step_data(s, lo, hi);
    const float l_seq = seq.step(d.x, d.t);
    const long before_exact = g_allreduce;
    exact.step(d.xl, d.tl);
    const long exact_calls = g_allreduce - before_exact;
    const float l = dist.step(d.xl, d.tl);
    CHECK(exact_calls == 1 && g_allreduce - before_exact == 1, "all-reduces in step %d: %ld", s, g_allreduce - before_exact);
    if (s == 0) CHECK(std::abs(l - l_seq) <= 1e-5f * (1 + std::abs(l_seq)), "bucketed loss %g vs %g", l, l_seq);
    CHECK(dist.buckets_started_early() == 3, "step %d: %zu buckets started before the first layer's backward", s,
          dist.buckets_started_early());
  }
  CHECK(g_iallreduce - iallreduce0 == 50 * 6, "iallreduces in 50 steps: %ld", g_iallreduce - iallreduce0);
  CHECK(g_allreduce - allreduce0 == 50, "all-reduces in 50 steps (the exact trainer's only): %ld", g_allreduce - allreduce0);
  double diff = 0, vs_exact = 0;
  for (std::size_t k = 0; k < Mlp::param_count; ++k) {
    diff = std::max(diff, double(std::abs(net->params()[k] - reference->params()[k])));
    vs_exact = std::max(vs_exact, double(std::abs(net->params()[k] - exact_net->params()[k])));
  }
  CHECK(diff <= 1e-5, "bucketed: max |distributed - single process| = %g", diff);
  if (size <= 2) CHECK(vs_exact == 0, "bucketed differs from the single all-reduce by %g", vs_exact);
  check_same_as_rank0(*net, rank, "bucketed");
  check_nan_raises_everywhere(dist, *net, lo, hi, rank, size, "bucketed");
}

// An optimizer written as one rule (Lion) runs on every rank exactly as in one process.
template <std::size_t Local>
void lion_equivalence(int rank, int size) {
  const optim::LionOptions opts{.lr = 1e-3f, .weight_decay = 0.1f};
  auto reference = std::make_unique<Mlp>();
  reference->init(7);
  Trainer<Mlp, loss::SoftmaxCrossEntropy, optim::Lion, Batch<global_batch>> seq(*reference, opts);
  auto net = std::make_unique<Mlp>();
  net->init(7);
  mpi::DistributedTrainer<Mlp, loss::SoftmaxCrossEntropy, optim::Lion, Batch<Local>, default_backend> dist(*net, opts);
  const auto [lo, hi] = mpi::shard(global_batch, rank, size);
  for (int s = 0; s < 20; ++s) {
    const auto d = step_data(s, lo, hi);
    seq.step(d.x, d.t);
    dist.step(d.xl, d.tl);
  }
  double diff = 0, moved = 0;
  Mlp init;
  init.init(7);
  for (std::size_t k = 0; k < Mlp::param_count; ++k) {
    diff = std::max(diff, double(std::abs(net->params()[k] - reference->params()[k])));
    moved = std::max(moved, double(std::abs(reference->params()[k] - init.params()[k])));
  }
  CHECK(diff <= 1e-4, "Lion: max |distributed - single process| = %g", diff);
  CHECK(moved >= 1e-2, "Lion: training moved the weights by %g only", moved);
  check_same_as_rank0(*net, rank, "lion");
}

// PowerSGD at rank 16: the global batch of 16 makes every weight gradient of rank ≤ 16, so
// on the first step (Q the generic seeded draw) one power iteration recovers the mean
// gradient of each compressed matrix (20×32, 32×24; the 24×5 layer goes exactly) and the
// weights match one process. Later steps start from the last Q, which may span less, so
// they approximate (error feedback carries the rest): the loss must still fall. Two
// all-reduces a step, identical ranks, and a NaN on one rank raises everywhere with the
// weights unchanged, after which training goes on.
template <std::size_t Local>
void powersgd(int rank, int size) {
  const optim::SGDOptions opts{.lr = 0.05f, .momentum = 0.9f};
  auto reference = std::make_unique<Mlp>(), net = std::make_unique<Mlp>();
  reference->init(7);
  net->init(7);
  Trainer<Mlp, loss::SoftmaxCrossEntropy, optim::SGD, Batch<global_batch>> seq(*reference, opts);
  mpi::DistributedTrainer<Mlp, loss::SoftmaxCrossEntropy, optim::SGD, Batch<Local>, default_backend, mpi::PowerSGD<16>> dist(
      *net, opts);
  CHECK(dist.powersgd_floats_per_step() == (20 + 32) * 16 + (32 + 24) * 16 + (32 + 24 + 24 * 5 + 5) + 1,
        "PowerSGD floats per step: %zu", dist.powersgd_floats_per_step());
  const auto [lo, hi] = mpi::shard(global_batch, rank, size);
  const long before = g_allreduce;
  float first = 0, last = 0;
  for (int s = 0; s < 30; ++s) {
    if (s == 10) check_nan_raises_everywhere(dist, *net, lo, hi, rank, size, "powersgd");
    const auto d = step_data(s, lo, hi);
    seq.step(d.x, d.t);
    (s == 0 ? first : last) = dist.step(d.xl, d.tl);
    if (s == 0) {
      double diff = 0;
      for (std::size_t k = 0; k < Mlp::param_count; ++k)
        diff = std::max(diff, double(std::abs(net->params()[k] - reference->params()[k])));
      CHECK(diff <= 1e-6, "PowerSGD<16>, first step: max |distributed - single process| = %g", diff);
    }
  }
  CHECK(g_allreduce - before == 2 * 31, "PowerSGD all-reduces in 30 steps and a refused one: %ld", g_allreduce - before);
  CHECK(last < 0.5f * first, "PowerSGD<16>: loss %g after 30 steps from %g", last, first);
  check_same_as_rank0(*net, rank, "powersgd");
}

// PowerSGD on convolution gradients: a Conv2D's patch × out-channel weights and the Dense
// after it are both compressed at rank 2; ranks stay identical and the loss falls.
template <std::size_t Local>
void powersgd_conv(int rank, int size) {
  using Cnn = Net<Input<1, 8, 8>, Conv2D<4, 3>, ReLU, Flatten, Dense<5>>;
  static_assert(Cnn::param_count == 9 * 4 + 4 + 144 * 5 + 5);
  const auto mats = mpi::detail::low_rank_matrices<Cnn>(2);
  CHECK(mats.size() == 2 && mats[0].rows == 9 && mats[0].cols == 4 && mats[1].rows == 144 && mats[1].cols == 5,
        "PowerSGD matrices of the CNN: %zu", mats.size());
  auto net = std::make_unique<Cnn>();
  net->init(5);
  mpi::DistributedTrainer<Cnn, loss::SoftmaxCrossEntropy, optim::Adam, Batch<Local>, default_backend, mpi::PowerSGD<2>> dist(
      *net, {.lr = 0.01f});
  const auto [lo, hi] = mpi::shard(global_batch, rank, size);
  float first = 0, last = 0;
  for (int s = 0; s < 40; ++s) {
    Rng rng(500 + s % 4);
    std::vector<float> x(global_batch * 64);
    for (auto& v : x) v = rng.uniform(1.0f);
    std::vector<int> t(global_batch);
    for (std::size_t k = 0; k < global_batch; ++k) t[k] = int((k + std::size_t(s % 4)) % 5);
    (s == 0 ? first : last) = dist.step(std::vector<float>(x.begin() + long(lo * 64), x.begin() + long(hi * 64)),
                                        std::vector<int>(t.begin() + long(lo), t.begin() + long(hi)));
  }
  CHECK(last < 0.5f * first, "PowerSGD<2> on a CNN: loss %g after 40 steps from %g", last, first);
  std::vector<float> root(net->params().begin(), net->params().end());
  PMPI_Bcast(root.data(), int(root.size()), MPI_FLOAT, 0, MPI_COMM_WORLD);
  CHECK(std::memcmp(root.data(), net->params().data(), root.size() * sizeof(float)) == 0, "powersgd conv: rank %d differs",
        rank);
}

int main(int argc, char** argv) {
  mpi::Environment env(argc, argv);
  topk_invariant();
  bucket_cuts();
  switch (env.size()) {
    case 1:
      equivalence<16>(env.rank(), env.size()), local_sgd<16>(env.rank()), topk_training<16>(env.rank());
      bucketed<16>(env.rank(), env.size());
      lion_equivalence<16>(env.rank(), env.size());
      powersgd<16>(env.rank(), env.size());
      powersgd_conv<16>(env.rank(), env.size());
      break;
    case 2:
      equivalence<8>(env.rank(), env.size()), local_sgd<8>(env.rank()), topk_training<8>(env.rank());
      bucketed<8>(env.rank(), env.size());
      lion_equivalence<8>(env.rank(), env.size());
      powersgd<8>(env.rank(), env.size());
      powersgd_conv<8>(env.rank(), env.size());
      break;
    case 4:
      equivalence<4>(env.rank(), env.size()), local_sgd<4>(env.rank()), topk_training<4>(env.rank());
      bucketed<4>(env.rank(), env.size());
      lion_equivalence<4>(env.rank(), env.size());
      powersgd<4>(env.rank(), env.size());
      powersgd_conv<4>(env.rank(), env.size());
      break;
    default:
      if (env.rank() == 0) std::fprintf(stderr, "run with 1, 2 or 4 ranks\n");
      return 2;
  }
  int total = 0;
  PMPI_Allreduce(&failures, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  if (env.rank() == 0) std::printf("%s: %d ranks, %d failed checks\n", total ? "FAIL" : "ok", env.size(), total);
  return total ? 1 : 0;
}
