// Runs ctnn's CUDA kernels on the CPU for tests: each thread block on 256 std::threads
// (one block at a time) with a std::barrier for __syncthreads; shared memory starts as
// NaN so a read of anything not written first poisons the result.
#pragma once
#include <barrier>
#include <cmath>
#include <ctnn/backends/cuda/fused_mlp.cuh>
#include <thread>
#include <vector>

namespace emu {

template <class F>
void launch(unsigned grid, unsigned block, std::size_t smem_bytes, F kernel) {
  namespace k = ctnn::cuda::kernels;
  std::vector<float> smem(smem_bytes / sizeof(float) + 1, std::nanf(""));
  for (unsigned b = 0; b < grid; ++b) {
    std::barrier<> bar(block);
    std::vector<std::jthread> team;
    for (unsigned t = 0; t < block; ++t)
      team.emplace_back([&, b, t] {
        k::threadIdx = {t, 0, 0};
        k::blockIdx = {b, 0, 0};
        k::blockDim = {block, 1, 1};
        k::gridDim = {grid, 1, 1};
        k::emu_smem = smem.data();
        k::emu_barrier = &bar;
        kernel();
      });
  }
}

}  // namespace emu
