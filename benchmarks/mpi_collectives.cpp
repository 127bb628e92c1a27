// The all-reduce algorithms against the α-β-γ model (mpi::Collectives, comm_model.hpp):
//   mpirun -np 4 build/benchmarks/mpi_collectives [--max-bytes N] [--reps R]
//   scripts/netcluster.sh -n 4 -p 10g-20us -- build/benchmarks/mpi_collectives
// Measures α, β (ping-pong) and γ, then times every algorithm on sizes 4 KiB, 16 KiB, ...
// up to --max-bytes (median of R runs, each the slowest rank's time), checks every sum, and
// prints one row per size and algorithm (measured, predicted, predicted/measured) and per
// size the model's choice against the fastest measured. Exit 1 on a wrong sum only: timings
// are reported, not asserted.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctnn/parallel/mpi/collectives.hpp>
#include <ctnn/parallel/mpi/data_parallel.hpp>
#include <string>
#include <vector>

using namespace ctnn;

int main(int argc, char** argv) {
  mpi::Environment env(argc, argv);
  std::size_t max_bytes = std::size_t(64) << 20;
  int reps = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--max-bytes")) max_bytes = std::strtoull(argv[i + 1], nullptr, 10);
    else if (!std::strcmp(argv[i], "--reps")) reps = std::max(1, std::atoi(argv[i + 1]));
  }
  mpi::Collectives coll;
  const LinkModel m = coll.measure();
  const int p = env.size(), rank = env.rank();
  if (rank == 0) {
    std::printf("ranks %d; %s\n", p, coll.note().c_str());
    std::printf("model alpha=%.2f us beta=%.3f GB/s gamma=%.2f GB/s\n", m.alpha * 1e6, 1e-9 / m.beta, 1e-9 / m.gamma);
    std::printf("%-10s %-20s %12s %12s %8s\n", "bytes", "algorithm", "measured_us", "predicted_us", "pred/meas");
  }
  int wrong = 0;
  double worst_error = 0, worst_choice = 1;
  for (std::size_t bytes = 4096; bytes <= max_bytes; bytes *= 4) {
    const std::size_t n = bytes / sizeof(float);
    std::vector<float> v(n);
    double best = 1e30, chosen = 0;
    const Allreduce pick = m.best(double(bytes), p);
    for (Allreduce a : allreduce_algorithms) {
      MPI_Comm c = coll.comm(a);
      std::vector<double> times;
      for (int r = 0; r <= reps; ++r) {  // run 0 warms up
        std::fill(v.begin(), v.end(), float(rank + 1));
        MPI_Barrier(c);
        const double t0 = MPI_Wtime();
        MPI_Allreduce(MPI_IN_PLACE, v.data(), static_cast<int>(n), MPI_FLOAT, MPI_SUM, c);
        double t = MPI_Wtime() - t0, slowest = 0;
        MPI_Allreduce(&t, &slowest, 1, MPI_DOUBLE, MPI_MAX, c);
        if (r > 0) times.push_back(slowest);
        const float expect = float(p) * float(p + 1) / 2;
        for (std::size_t k = 0; k < n; k += 97) wrong += v[k] != expect;
        wrong += v[n - 1] != expect;
      }
      std::sort(times.begin(), times.end());
      const double measured = times[times.size() / 2], predicted = m.predict(a, double(bytes), p);
      best = std::min(best, measured);
      if (a == pick) chosen = measured;
      worst_error = std::max(worst_error, std::abs(predicted / measured - 1));
      if (rank == 0)
        std::printf("%-10zu %-20s %12.1f %12.1f %8.2f\n", bytes, name(a), measured * 1e6, predicted * 1e6, predicted / measured);
    }
    worst_choice = std::max(worst_choice, chosen / best);
    if (rank == 0) std::printf("%-10zu choice %-13s %12.1f us, %.2fx the fastest measured\n", bytes, name(pick), chosen * 1e6, chosen / best);
  }
  int all_wrong = 0;
  MPI_Allreduce(&wrong, &all_wrong, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  if (rank == 0) {
    std::printf("summary ranks=%d max_prediction_error=%.2f worst_choice_vs_fastest=%.2f wrong_sums=%d\n", p, worst_error,
                worst_choice, all_wrong);
    std::printf("bucket_bytes for a %zu-byte gradient: %zu\n", max_bytes, m.bucket_bytes(max_bytes, p));
  }
  return all_wrong == 0 ? 0 : 1;
}
