// W6 (MPI part): the fused all-reduce of the Fashion-MNIST MLP's gradient block (235,146
// parameters plus the loss) — median time over 200 calls, and the bus bandwidth
// 2(p−1)/p · n / t, the volume each rank must move in the optimal (ring) algorithm.
//   mpirun -np 2 build/benchmarks/mpi_allreduce
#include <mpi.h>
#include <chrono>
#include <cstdio>
#include <vector>
#include <algorithm>
int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int r, p; MPI_Comm_rank(MPI_COMM_WORLD, &r); MPI_Comm_size(MPI_COMM_WORLD, &p);
  const int n = 235146 + 1;
  std::vector<float> v(n, 1.0f);
  std::vector<double> t;
  for (int i = 0; i < 220; ++i) {
    MPI_Barrier(MPI_COMM_WORLD);
    auto t0 = std::chrono::steady_clock::now();
    MPI_Allreduce(MPI_IN_PLACE, v.data(), n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    if (i >= 20) t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  const double med = t[t.size() / 2];
  const double bytes = 4.0 * n, bound = 2.0 * (p - 1) / p * bytes;
  if (r == 0) std::printf("ranks %d: allreduce of %.0f KB median %.1f us; bus bandwidth 2(p-1)/p*n/t = %.2f GB/s\n", p, bytes / 1024, med * 1e6, bound / med / 1e9);
  MPI_Finalize();
}
