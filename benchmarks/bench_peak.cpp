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
using Buffer = std::vector<float, xsimd::aligned_allocator<float, 64>>;
void read_once(const Buffer& buf) {
  using V = ctnn::kernel::simd::vec<ctnn::backend::native>;
  constexpr std::size_t W = V::size;
  V s0(0.0f), s1(0.0f), s2(0.0f), s3(0.0f);
  for (std::size_t i = 0; i + 4 * W <= buf.size(); i += 4 * W) {
    s0 += V::load_aligned(buf.data() + i);
    s1 += V::load_aligned(buf.data() + i + W);
    s2 += V::load_aligned(buf.data() + i + 2 * W);
    s3 += V::load_aligned(buf.data() + i + 3 * W);
  }
  benchmark::DoNotOptimize((s0 + s1) + (s2 + s3));
}
template <std::size_t KB>
void read_bandwidth(benchmark::State& state) {
  const Buffer buf(KB * 1024 / sizeof(float), 1e-3f);
  for (auto _ : state) read_once(buf);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(KB * 1024));
}
}  // namespace

BENCHMARK(read_bandwidth<512>)->Name("Machine/read_bandwidth/512KB");
BENCHMARK(read_bandwidth<960>)->Name("Machine/read_bandwidth/960KB");

// Probe: the same re-read of 2 MB (past L2: from L3) by one core, and by both cores at once,
// each its own buffer, starting together (bytes per second over both). When the two figures
// are close, the cores share that bandwidth: memory-bound phases that two data-parallel
// workers run at the same moment (the W6 step's weight streams and update) cannot speed up.
#include <ctnn/parallel/threading.hpp>
#include <pthread.h>

#include <atomic>
#include <thread>
namespace {
void read_bandwidth_two_cores(benchmark::State& state) {
  constexpr std::size_t bytes = 2048 * 1024;
  cpu_set_t saved;
  pthread_getaffinity_np(pthread_self(), sizeof(saved), &saved);
  std::atomic<std::int64_t> go{0}, done{0};  // round r starts when go = r; done counts the other's rounds
  std::atomic<bool> stop{false};
  std::thread other([&] {
    ctnn::pipeline_detail::pin_to_core(1);
    const Buffer buf(bytes / sizeof(float), 1e-3f);
    for (std::int64_t r = 1;; ++r) {
      while (go.load(std::memory_order_acquire) < r) std::this_thread::yield();
      if (stop.load(std::memory_order_acquire)) return;
      read_once(buf);
      done.store(r, std::memory_order_release);
    }
  });
  ctnn::pipeline_detail::pin_to_core(0);
  const Buffer buf(bytes / sizeof(float), 1e-3f);
  std::int64_t r = 0;
  for (auto _ : state) {
    go.store(++r, std::memory_order_release);
    read_once(buf);
    while (done.load(std::memory_order_acquire) < r) std::this_thread::yield();
  }
  stop.store(true, std::memory_order_release);
  go.store(r + 1, std::memory_order_release);
  other.join();
  pthread_setaffinity_np(pthread_self(), sizeof(saved), &saved);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(2 * bytes));
}
}  // namespace
BENCHMARK(read_bandwidth<2048>)->Name("Machine/read_bandwidth/2MB");
BENCHMARK(read_bandwidth_two_cores)->Name("Machine/read_bandwidth/2MB_each_two_cores")->UseRealTime();
