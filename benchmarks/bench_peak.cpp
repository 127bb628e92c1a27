// Probe: the single-core FMA peak of this machine with ctnn's native SIMD width, the
// yardstick for the "fraction of peak" column of docs/benchmarks.md.
#include <benchmark/benchmark.h>

#include <ctnn/backends/simd/arch.hpp>

namespace {
void fma_peak(benchmark::State& state) {
  using V = ctnn::kernel::simd::vec<ctnn::backend::native>;
  constexpr int chains = 16;  // enough independent chains to cover latency × 2 ports
  V acc[chains];
  for (int c = 0; c < chains; ++c) acc[c] = V(static_cast<float>(c) * 1e-3f);
  const V a(0.999999f), b(1e-7f);
  constexpr int reps = 1000;
  for (auto _ : state) {
    for (int r = 0; r < reps; ++r)
      for (int c = 0; c < chains; ++c) acc[c] = xsimd::fma(acc[c], a, b);
    for (int c = 0; c < chains; ++c) benchmark::DoNotOptimize(acc[c]);
  }
  state.counters["FLOP/s"] = benchmark::Counter(2.0 * V::size * chains * reps, benchmark::Counter::kIsIterationInvariantRate);
}
}  // namespace

BENCHMARK(fma_peak)->Name("peak/fma_single_core");

// Probe: how fast one core re-reads a buffer of 512 KB and of 960 KB (W2's weights are
// 941 KB). On this 1 MB-L2 machine both come from L2 when the core has its L2 to itself;
// when the host shares it, the larger one falls to L3 speed. Batch-1 inference of W2
// follows the second figure, so each report carries the state it was measured in.
#include <vector>
namespace {
template <std::size_t KB>
void read_bandwidth(benchmark::State& state) {
  using V = ctnn::kernel::simd::vec<ctnn::backend::native>;
  constexpr std::size_t n = KB * 1024 / sizeof(float);
  std::vector<float, xsimd::aligned_allocator<float, 64>> buf(n, 1e-3f);
  constexpr std::size_t W = V::size;
  for (auto _ : state) {
    V s0(0.0f), s1(0.0f), s2(0.0f), s3(0.0f);
    for (std::size_t i = 0; i + 4 * W <= n; i += 4 * W) {
      s0 += V::load_aligned(buf.data() + i);
      s1 += V::load_aligned(buf.data() + i + W);
      s2 += V::load_aligned(buf.data() + i + 2 * W);
      s3 += V::load_aligned(buf.data() + i + 3 * W);
    }
    benchmark::DoNotOptimize((s0 + s1) + (s2 + s3));
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(n * sizeof(float)));
}
}  // namespace

BENCHMARK(read_bandwidth<512>)->Name("Machine/read_bandwidth/512KB");
BENCHMARK(read_bandwidth<960>)->Name("Machine/read_bandwidth/960KB");
