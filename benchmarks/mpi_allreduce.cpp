// W6 (MPI part): the fused all-reduce of the Fashion-MNIST MLP's gradient block (235,146
// parameters plus the loss) — median time over 200 calls, and the bus bandwidth
// 2(p−1)/p · n / t, the volume each rank must move in the optimal (ring) algorithm. Then
// the same block as mpi::Bucketed<64> sends it — one MPI_Iallreduce per 64 KiB bucket, all
// started at once and waited for together — to show what the buckets cost without any
// backward pass to hide behind.
//   mpirun -np 2 build/benchmarks/mpi_allreduce
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctnn/parallel/mpi/data_parallel.hpp>
#include <vector>

namespace {
template <class F>
double median_seconds(F&& f) {
  std::vector<double> t;
  for (int i = 0; i < 220; ++i) {
    MPI_Barrier(MPI_COMM_WORLD);
    const auto t0 = std::chrono::steady_clock::now();
    f();
    if (i >= 20) t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}
}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int r, p;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  MPI_Comm_size(MPI_COMM_WORLD, &p);
  const std::size_t n = 235146 + 1;
  std::vector<float> v(n, 1.0f);
  const double fused = median_seconds([&] {
    MPI_Allreduce(MPI_IN_PLACE, v.data(), static_cast<int>(n), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
  });
  const auto buckets = ctnn::mpi::Bucketed<64>::cut(n);
  std::vector<MPI_Request> q(buckets.size());
  const double bucketed = median_seconds([&] {
    for (std::size_t k = 0; k < buckets.size(); ++k)
      MPI_Iallreduce(MPI_IN_PLACE, v.data() + buckets[k].first, static_cast<int>(buckets[k].second - buckets[k].first),
                     MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, &q[k]);
    MPI_Waitall(static_cast<int>(q.size()), q.data(), MPI_STATUSES_IGNORE);
  });
  const double bytes = 4.0 * static_cast<double>(n), bound = 2.0 * (p - 1) / p * bytes;
  if (r == 0) {
    std::printf("ranks %d: allreduce of %.0f KB median %.1f us; bus bandwidth 2(p-1)/p*n/t = %.2f GB/s\n", p,
                bytes / 1024, fused * 1e6, bound / fused / 1e9);
    std::printf("ranks %d: the same block in %zu buckets of 64 KiB (MPI_Iallreduce, then MPI_Waitall) median %.1f us "
                "(%.2fx the single all-reduce)\n",
                p, buckets.size(), bucketed * 1e6, bucketed / fused);
  }
  MPI_Finalize();
}
