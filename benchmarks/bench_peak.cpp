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
