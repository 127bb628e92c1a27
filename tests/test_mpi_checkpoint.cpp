// mpi::save_checkpoint / load_checkpoint under mpirun: rank 0 writes, every rank restores
// and training continues bit for bit with each rank's own data position; ranks that read
// different checkpoints, or a rank that cannot read it, stop every rank with nothing changed.
#include <mpi.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <ctnn/ctnn.hpp>
#include <ctnn/parallel/mpi/checkpoint.hpp>

#include "error_of.hpp"

using namespace ctnn;
using Mlp = Net<Input<12>, Dense<16>, Tanh, Dense<4>>;
using DT = mpi::DistributedTrainer<Mlp, loss::SoftmaxCrossEntropy, optim::Adam, Batch<4>, backend::native>;
int failures = 0;

#define CHECK(cond, what)                                               \
  do {                                                                  \
    if (!(cond)) {                                                      \
      ++failures;                                                       \
      std::fprintf(stderr, "rank %d FAILED %s: %s\n", rank, #cond, what); \
    }                                                                   \
  } while (0)

namespace {
int rank = 0;
void train(DT& t, int from, int to) {
  for (int s = from; s < to; ++s) {
    Rng r(static_cast<std::uint64_t>(1000 * rank + s));
    std::vector<float> x(4 * 12);
    std::vector<int> y(4);
    for (auto& v : x) v = r.uniform(1.0f);
    for (auto& v : y) v = static_cast<int>(r.below(4));
    t.step(x, y);
  }
}
bool same(const Mlp& a, const Mlp& b) {
  return std::memcmp(a.params().data(), b.params().data(), Mlp::param_count * sizeof(float)) == 0;
}
}  // namespace

int main(int argc, char** argv) {
  mpi::Environment env(argc, argv);
  rank = env.rank();
  const std::string dir =
      (std::filesystem::temp_directory_path() / ("ctnn_mpi_ckpt_" + std::to_string(env.size()))).string();
  if (rank == 0) std::filesystem::create_directories(dir);
  MPI_Barrier(MPI_COMM_WORLD);
  const std::string file = dir + "/run.ckpt", other = dir + "/other.ckpt";

  static Mlp straight, first, resumed, spare;
  straight.init(3);
  first.init(3);
  resumed.init(4);
  DT a{straight, {.lr = 5e-3f}};
  train(a, 0, 10);
  DT b{first, {.lr = 5e-3f}};
  train(b, 0, 4);
  io::TrainingPosition pos{.epoch = 1, .step_in_epoch = 0, .rng = Rng(static_cast<std::uint64_t>(rank) + 7).state(),
                           .order = std::vector<std::uint32_t>(static_cast<std::size_t>(3 + rank), 100u + static_cast<std::uint32_t>(rank))};
  mpi::save_checkpoint(b, pos, file);
  train(b, 4, 5);
  mpi::save_checkpoint(b, pos, other);

  DT c{resumed, {.lr = 5e-3f}};
  const io::TrainingPosition back = mpi::load_checkpoint(c, file);
  CHECK(back.order == pos.order, "each rank gets its own sample order back");
  CHECK(back.rng == pos.rng, "each rank gets its own generator back");
  CHECK(back.epoch == 1 && c.local().steps() == 4, "epoch and step count");
  CHECK(back.extra.empty(), "the ranks' bookkeeping is not handed back as extra");
  train(c, 4, 10);
  CHECK(same(resumed, straight), "resumed training equals training never stopped, bit for bit");

  // Ranks reading different files: every rank stops, nothing restored.
  spare.init(9);
  const Mlp before = spare;
  DT d{spare, {.lr = 5e-3f}};
  std::string m = error_of([&] { mpi::load_checkpoint(d, rank == 0 ? file : other); });
  CHECK(m.find("read a different checkpoint") != std::string::npos, m.c_str());
  CHECK(same(spare, before), "nothing restored after a disagreement");
  // One rank cannot read it: every rank stops; that rank says why.
  m = error_of([&] { mpi::load_checkpoint(d, rank == 1 ? dir + "/missing" : file); });
  CHECK(rank == 1 ? m.find("cannot open") != std::string::npos : m.find("rank 1 failed") != std::string::npos,
        m.c_str());
  CHECK(same(spare, before), "nothing restored after a failed read");

  int all = 0;
  MPI_Allreduce(&failures, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank == 0) {
    std::filesystem::remove_all(dir);
    std::printf("ok: %d ranks, %d failed checks\n", env.size(), all);
  }
  return all == 0 ? 0 : 1;
}
