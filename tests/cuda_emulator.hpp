// Runs ctnn's CUDA kernels on the CPU for tests: each thread block on its std::threads
// (one block at a time) with a std::barrier for __syncthreads, one per warp of 32 for
// __syncwarp and one per group of 128 for the tensor-core kernel's group barriers; shared memory starts as NaN so a read of anything not written first
// poisons the result.
#pragma once
#include <barrier>
#include <algorithm>
#include <cmath>
#include <ctnn/backends/cuda/fused_mlp.cuh>
#include <ctnn/backends/cuda/fused_mlp_tc.cuh>
#include <memory>
#include <thread>
#include <vector>

namespace emu {

template <class F>
void launch(unsigned grid, unsigned block, std::size_t smem_bytes, F kernel) {
  namespace k = ctnn::cuda::kernels;
  // All bits set: NaN as a float and as either 16-bit type.
  std::vector<float> smem(smem_bytes / sizeof(float) + 1, k::bits_to_float(0xffffffffu));
  for (unsigned b = 0; b < grid; ++b) {
    std::barrier<> bar(block);
    std::vector<std::unique_ptr<std::barrier<>>> warp_bars;
    for (unsigned w = 0; w < (block + 31) / 32; ++w)
      warp_bars.push_back(std::make_unique<std::barrier<>>(std::ptrdiff_t(std::min(32u, block - 32 * w))));
    std::vector<float> slots(32 * ((block + 31) / 32));
    std::vector<std::unique_ptr<std::barrier<>>> group_bars;
    for (unsigned g = 0; g < (block + 127) / 128; ++g)
      group_bars.push_back(std::make_unique<std::barrier<>>(std::ptrdiff_t(std::min(128u, block - 128 * g))));
    std::vector<std::jthread> team;
    for (unsigned t = 0; t < block; ++t)
      team.emplace_back([&, b, t] {
        k::threadIdx = {t, 0, 0};
        k::blockIdx = {b, 0, 0};
        k::blockDim = {block, 1, 1};
        k::gridDim = {grid, 1, 1};
        k::emu_smem = smem.data();
        k::emu_barrier = &bar;
        k::emu_warp_barrier = warp_bars[t / 32].get();
        k::emu_group_barrier = group_bars[t / 128].get();
        k::emu_warp_slots = slots.data() + 32 * (t / 32);
        kernel();
      });
  }
}

}  // namespace emu
