// Probe: the single-core FMA peak of this machine with ctnn's native SIMD width, the
// yardstick for the "fraction of peak" column of docs/benchmarks.md.
#include <benchmark/benchmark.h>

#include <ctnn/backends/simd/arch.hpp>

#include "bench_common.hpp"

namespace {
// Every run records the instruction set ctnn's kernels ran with ("ctnn_isa" in the JSON
// context), beside the peak measured with that instruction set's registers.
const bool isa_recorded = [] {
  benchmark::AddCustomContext("ctnn_isa", ctnn::backend_name<ctnn::backend::native>());
#ifdef CTNN_BENCH_ARCH_FLAGS
  benchmark::AddCustomContext("ctnn_arch_flags", CTNN_BENCH_ARCH_FLAGS);
#endif
  return true;
}();

void fma_peak(benchmark::State& state) {
  using V = ctnn::kernel::simd::vec<ctnn::backend::native>;
  // Independent chains to cover FMA latency × 2 ports (4-5 cycles × 2 on current cores), all
  // held in registers beside the two constants: 12 of AVX2's 16 registers, 16 of AVX-512's 32.
  // (16 chains on AVX2 left no room for the constants and measured far below the peak.)
  constexpr int chains = ctnn::kernel::simd::arch_of<ctnn::backend::native>::registers >= 32 ? 16 : 12;
  V acc[chains];
  for (int c = 0; c < chains; ++c) acc[c] = V(static_cast<float>(c) * 1e-3f);
  const V a(0.999999f), b(1e-7f);
  constexpr int reps = 1000;
  for (auto _ : state) {
    for (int r = 0; r < reps; ++r) {
#pragma GCC unroll 16
      for (int c = 0; c < chains; ++c) acc[c] = xsimd::fma(acc[c], a, b);
    }
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

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
namespace {
void read_bandwidth_two_cores(benchmark::State& state) {
  constexpr std::size_t bytes = 2048 * 1024;
  const bench::KeptAffinity kept;
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
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(2 * bytes));
}
}  // namespace
BENCHMARK(read_bandwidth<2048>)->Name("Machine/read_bandwidth/2MB");
BENCHMARK(read_bandwidth_two_cores)->Name("Machine/read_bandwidth/2MB_each_two_cores")->UseRealTime();

// Probe: the clock one core gets, alone and while the other core runs FMAs: a chain of
// dependent additions runs one per cycle whatever else the core does, so its rate is that
// thread's clock. Where the host gives the two vCPUs one physical core's resources or one
// power budget at times, the second figure falls (on this machine, 2026-11-23, the same chain
// in a scratch loop: 2.43 → 1.94 G additions/s in one state, 3.3 both ways in another), and
// then no two-thread workload can run twice as fast as one thread; report.py prints both.
namespace {
/// n dependent additions: one per cycle, whatever the data.
void add_chain(std::int64_t n) {
  std::uint64_t x = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    x += 1;
    asm volatile("" : "+r"(x));  // kept, and each depends on the last
  }
  benchmark::DoNotOptimize(x);
}

template <bool Beside>
void dependent_adds(benchmark::State& state) {
  const bench::KeptAffinity kept;
  std::atomic<bool> stop{false};
  std::thread other;
  if constexpr (Beside)
    other = std::thread([&] {
      ctnn::pipeline_detail::pin_to_core(1);
      using V = ctnn::kernel::simd::vec<ctnn::backend::native>;
      V acc[16];
      for (int c = 0; c < 16; ++c) acc[c] = V(static_cast<float>(c) * 1e-3f);
      const V a(0.999999f), b(1e-7f);
      while (!stop.load(std::memory_order_relaxed))
        for (int r = 0; r < 1000; ++r)
          for (int c = 0; c < 16; ++c) acc[c] = xsimd::fma(acc[c], a, b);
      for (int c = 0; c < 16; ++c) benchmark::DoNotOptimize(acc[c]);
    });
  ctnn::pipeline_detail::pin_to_core(0);
  constexpr std::int64_t n = 1 << 22;
  for (auto _ : state) add_chain(n);
  stop.store(true, std::memory_order_relaxed);
  if (other.joinable()) other.join();
  state.counters["adds/s"] = benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsIterationInvariantRate);
}
}  // namespace
BENCHMARK(dependent_adds<false>)->Name("Machine/dependent_adds/alone");
BENCHMARK(dependent_adds<true>)->Name("Machine/dependent_adds/beside_fma_on_other_core");

// Probe: what the host allows a step shaped like W6's on two threads — three phases of
// pure arithmetic (2 × 250k dependent additions each, ~150 µs on one core at 3.3 GHz),
// split evenly over cores 0 and 1 with a barrier after each phase — against the same work
// on one thread, on core 0 and then on core 1, the three taken in turn, 8 steps each, within
// every iteration (the host's state changes within seconds). No memory traffic, nothing
// shared but the barrier: what the two-thread step loses comes from the host (interrupts
// and exits that stop one core while the other waits at a barrier, a core that runs slower
// than the other for a while). `speedup` is the faster core's one-thread step over the
// two-thread one: near 2 when the host is calm; report.py prints it beside W6.
namespace {
/// Two parties, spinning: the probes' cores are their own.
class SpinBarrier {
 public:
  void arrive_and_wait() noexcept {
    const std::uint32_t g = generation_.load(std::memory_order_acquire);
    if (arrived_.fetch_add(1, std::memory_order_acq_rel) == 1) {
      arrived_.store(0, std::memory_order_relaxed);
      generation_.store(g + 1, std::memory_order_release);
      return;
    }
    while (generation_.load(std::memory_order_acquire) == g) {
    }
  }

 private:
  std::atomic<std::uint32_t> arrived_{0}, generation_{0};
};

/// The probes' second thread, pinned to core 1: sleeps until `wake(job)`, then runs
/// `body(job)` (which meets the calling thread at its barriers) and sleeps again.
class Partner {
 public:
  template <class Body>
  explicit Partner(Body body)
      : thread_([this, body] {
          ctnn::pipeline_detail::pin_to_core(1);
          for (std::uint32_t seen = 0;;) {
            start_.wait(seen, std::memory_order_acquire);
            seen = start_.load(std::memory_order_acquire);
            if (seen == quit) return;
            body(job_);
          }
        }) {}
  Partner(const Partner&) = delete;
  Partner& operator=(const Partner&) = delete;
  void wake(int job) noexcept {
    job_ = job;
    start_.store(++round_, std::memory_order_release);
    start_.notify_one();
  }
  ~Partner() {
    start_.store(quit, std::memory_order_release);
    start_.notify_one();
    thread_.join();
  }

 private:
  static constexpr std::uint32_t quit = ~std::uint32_t{0};
  std::atomic<std::uint32_t> start_{0};
  std::uint32_t round_ = 0;
  int job_ = 0;
  std::thread thread_;  // last: it starts once the members above exist
};

void barrier_step(benchmark::State& state) {
  if (std::thread::hardware_concurrency() < 2) {  // both threads on one core would spin through time slices
    state.SkipWithError("needs two cores");
    return;
  }
  constexpr std::int64_t phase_adds = 250'000;
  constexpr int reps = 8;  // steps of each kind per iteration
  using Clock = std::chrono::steady_clock;
  const bench::KeptAffinity kept;
  SpinBarrier barrier;
  Partner other([&](int) {  // sleeps while the one-thread steps run
    for (int r = 0; r <= reps; ++r) {
      barrier.arrive_and_wait();
      for (int p = 0; p < 3; ++p) {
        add_chain(phase_adds);
        barrier.arrive_and_wait();
      }
    }
  });
  double one[2] = {0, 0}, faster = 0, two = 0;
  for (auto _ : state) {
    double t[2];
    for (int core = 0; core < 2; ++core) {
      ctnn::pipeline_detail::pin_to_core(static_cast<std::size_t>(core));
      add_chain(2 * phase_adds);  // settled on the core
      const auto t0 = Clock::now();
      for (int r = 0; r < reps; ++r)
        for (int p = 0; p < 3; ++p) add_chain(2 * phase_adds);
      t[core] = std::chrono::duration<double>(Clock::now() - t0).count() / reps;
      one[core] += t[core];
    }
    faster += std::min(t[0], t[1]);
    ctnn::pipeline_detail::pin_to_core(0);
    other.wake(0);
    Clock::time_point t0;
    for (int r = 0; r <= reps; ++r) {  // the first step (the other thread waking) untimed
      barrier.arrive_and_wait();
      if (r == 1) t0 = Clock::now();
      for (int p = 0; p < 3; ++p) {
        add_chain(phase_adds);
        barrier.arrive_and_wait();
      }
    }
    const double d = std::chrono::duration<double>(Clock::now() - t0).count() / reps;
    two += d;
    state.SetIterationTime(d);
  }
  const double n = static_cast<double>(state.iterations());
  state.counters["one_thread_core0_us"] = one[0] / n * 1e6;
  state.counters["one_thread_core1_us"] = one[1] / n * 1e6;
  state.counters["speedup"] = faster / two;
}
}  // namespace
// A fixed count: with manual time (the two-thread steps only) a minimum time would take ~40× longer.
BENCHMARK(barrier_step)->Name("Machine/barrier_step/two_threads")->UseManualTime()->Iterations(60);

// Probe: what fetching the W6 batch's inputs costs a core — 64 random rows of a 60,000 × 784
// float array (188 MB, the Fashion-MNIST training set's size) read once each, as a whole
// (what one thread's first layer reads per step) and as halves (what each of two workers
// reads, its half of the input features), on core 0 alone and on both cores at once, each
// its own rows, starting together. The rows miss every cache, so the time is how fast one
// core can have lines in flight, not the bandwidth: 64 half-rows taking half the time of 64
// whole rows, on each core beside the other, means the fetch itself halves with two threads.
#include <array>
#include <random>
namespace {
constexpr std::size_t rows_total = 60000, row_len = 784, batch_rows = 64;
const Buffer& row_store() {
  static const Buffer store(rows_total * row_len, 1e-3f);
  return store;
}
/// Reads floats [off, off + len) of 64 random rows; returns after the last is summed.
void read_rows(const float* store, std::size_t off, std::size_t len, std::mt19937& rng) {
  using V = ctnn::kernel::simd::vec<ctnn::backend::native>;
  constexpr std::size_t W = V::size;
  V s0(0.0f), s1(0.0f);
  std::uniform_int_distribution<std::size_t> pick(0, rows_total - 1);
  for (std::size_t r = 0; r < batch_rows; ++r) {
    const float* p = store + pick(rng) * row_len + off;
    std::size_t k = 0;
    for (; k + 2 * W <= len; k += 2 * W) {
      s0 += V::load_unaligned(p + k);
      s1 += V::load_unaligned(p + k + W);
    }
    for (; k < len; ++k) s0 += V(p[k]);
  }
  benchmark::DoNotOptimize(s0 + s1);
}
template <std::size_t Len, bool TwoCores>
void random_rows(benchmark::State& state) {
  const float* store = row_store().data();
  const bench::KeptAffinity kept;
  std::atomic<std::int64_t> go{0}, done{0};
  std::atomic<bool> stop{false};
  std::thread other;
  if constexpr (TwoCores)
    other = std::thread([&] {
      ctnn::pipeline_detail::pin_to_core(1);
      std::mt19937 rng(2);
      for (std::int64_t r = 1;; ++r) {
        while (go.load(std::memory_order_acquire) < r) std::this_thread::yield();
        if (stop.load(std::memory_order_acquire)) return;
        read_rows(store, row_len - Len, Len, rng);
        done.store(r, std::memory_order_release);
      }
    });
  ctnn::pipeline_detail::pin_to_core(0);
  std::mt19937 rng(1);
  std::int64_t r = 0;
  for (auto _ : state) {
    go.store(++r, std::memory_order_release);
    read_rows(store, 0, Len, rng);
    if constexpr (TwoCores)
      while (done.load(std::memory_order_acquire) < r) std::this_thread::yield();
  }
  stop.store(true, std::memory_order_release);
  go.store(r + 1, std::memory_order_release);
  if (other.joinable()) other.join();
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>((TwoCores ? 2 : 1) * batch_rows * Len * sizeof(float)));
}
}  // namespace
BENCHMARK(random_rows<row_len, false>)->Name("Machine/random_rows/64_whole_rows_one_core");
BENCHMARK(random_rows<row_len / 2, false>)->Name("Machine/random_rows/64_half_rows_one_core");
BENCHMARK(random_rows<row_len / 2, true>)->Name("Machine/random_rows/64_half_rows_each_two_cores")->UseRealTime();

// Probe: the first layer of W6's step alone, split over the two cores the way
// ctnn::DataParallel splits it, against the same layer on one core. The first layer holds
// ~85% of the step's arithmetic and is the part of it that splits most evenly, so its
// speed-up bounds what the whole step can reach on this host. One step: the forward product
// x·W (64 random rows of the 60,000 × 784 store above, read where they lie, 784 → 256),
// dz = h · 10⁻³ (a stand-in for the layers above), then the weight gradient xᵀ·dz in panels
// of 24 rows with a momentum update of W in the product's epilogue — ctnn's own kernels,
// as `DataParallel` calls them.
//   - row split (`DataParallel`'s): each core owns 392 input rows of W and computes their
//     partial product for all 256 outputs; after a barrier each sums both partials over its
//     half of the outputs (the other core's half crosses), and after another barrier each
//     updates its own rows (the other core's half of dz crosses);
//   - column split: each core owns 128 output columns of W and computes them from whole
//     input rows, so nothing crosses but the barrier; its rows of W are 512-byte halves;
//   - one thread on core 0, and on core 1.
// The kinds are taken in turn, 8 steps each, within every iteration (the host's state
// changes within seconds). Time: the row split's step. Counters: the one-thread steps on
// each core, the column split's step, and the row split's speed-up against the faster and
// the slower core (docs/parallelism.md, "Performance notes").
namespace {
class FirstLayer {
 public:
  explicit FirstLayer(const float* store) : x_(store) {
    for (std::size_t i = 0; i < in * out; ++i) w_.data()[i] = 1e-3f * static_cast<float>(static_cast<int>(i % 97) - 48);
    std::fill_n(vel_.data(), in * out, 0.0f);
  }
  /// The rows of the next step (both threads read them after the step's first barrier).
  void next_rows(std::mt19937& rng) {
    std::uniform_int_distribution<std::uint32_t> pick(0, rows_total - 1);
    for (auto& r : rows_) r = pick(rng);
  }
  void one_thread() {
    forward<out, in>(0, 0, h_.data());
    dz(0, out);
    gradient<out, 0, in>(0);
  }
  void row_split(int t, SpinBarrier& barrier) {
    const std::size_t r0 = static_cast<std::size_t>(t) * (in / 2), c0 = static_cast<std::size_t>(t) * (out / 2);
    forward<out, in / 2>(r0, 0, partial_.data() + static_cast<std::size_t>(t) * batch_rows * out);
    barrier.arrive_and_wait();
    const float* p0 = partial_.data();
    const float* p1 = partial_.data() + batch_rows * out;
    for (std::size_t m = 0; m < batch_rows; ++m)
      for (std::size_t j = c0; j < c0 + out / 2; ++j) h_.data()[m * out + j] = p0[m * out + j] + p1[m * out + j];
    dz(c0, c0 + out / 2);
    barrier.arrive_and_wait();
    if (t == 0)
      gradient<out, 0, in / 2>(0);
    else
      gradient<out, in / 2, in>(0);
  }
  void column_split(int t) {
    const std::size_t c0 = static_cast<std::size_t>(t) * (out / 2);
    forward<out / 2, in>(0, c0, h_.data() + c0);
    dz(c0, c0 + out / 2);
    gradient<out / 2, 0, in>(c0);
  }

 private:
  using Be = ctnn::backend::native;
  using V = ctnn::kernel::simd::vec<Be>;
  static constexpr std::size_t in = row_len, out = 256, panel = 24;
  /// W ← W − 10⁻⁶·v with v ← 0.9·v + dW, on each gradient vector as the product makes it.
  struct Momentum {
    float* w;
    float* v;
    template <std::size_t L>
    void store(V g, std::size_t m, std::size_t j) noexcept {
      const std::size_t k = m * out + j;
      const V vel = xsimd::fma(V(0.9f), ctnn::kernel::simd::load_n<L>(Be{}, v + k), g);
      ctnn::kernel::simd::store_n<L>(Be{}, v + k, vel);
      ctnn::kernel::simd::store_n<L>(Be{}, w + k, xsimd::fnma(V(1e-6f), vel, ctnn::kernel::simd::load_n<L>(Be{}, w + k)));
    }
  };
  /// Columns [c0, c0 + N) of x[:, r0 : r0 + K] · W[r0 : r0 + K, :], stored at `to` (row stride out).
  template <std::size_t N, std::size_t K>
  void forward(std::size_t r0, std::size_t c0, float* to) {
    using S = ctnn::kernel::simd::GemmShape<batch_rows, N, K, in, 1, out>;
    ctnn::kernel::simd::StoreEpilogue<Be, out> epi{Be{}, to};
    ctnn::kernel::simd::gemm<S>(Be{}, ctnn::kernel::simd::IndexedA<in, true>{x_ + r0, rows_.data()}, w_.data() + r0 * out + c0,
                                epi);
  }
  void dz(std::size_t c0, std::size_t c1) {
    for (std::size_t m = 0; m < batch_rows; ++m)
      for (std::size_t j = c0; j < c1; ++j) dz_.data()[m * out + j] = h_.data()[m * out + j] * 1e-3f;
  }
  /// Rows [R0, R1) × columns [c0, c0 + N) of W updated from xᵀ · dz, in panels of 24 rows.
  template <std::size_t N, std::size_t R0, std::size_t R1>
  void gradient(std::size_t c0) {
    auto panel_at = [&]<std::size_t Rows>(std::size_t r) {
      using S = ctnn::kernel::simd::GemmShape<Rows, N, batch_rows, 1, in, out>;
      Momentum epi{w_.data() + r * out + c0, vel_.data() + r * out + c0};
      ctnn::kernel::simd::gemm<S>(Be{}, ctnn::kernel::simd::IndexedA<in, false>{x_ + r, rows_.data()}, dz_.data() + c0, epi);
    };
    std::size_t r = R0;
    for (; r + panel <= R1; r += panel) panel_at.template operator()<panel>(r);
    if constexpr ((R1 - R0) % panel != 0) panel_at.template operator()<(R1 - R0) % panel>(r);
  }

  const float* x_;
  std::array<std::uint32_t, batch_rows> rows_{};
  ctnn::AlignedBuffer w_{in * out}, vel_{in * out}, partial_{2 * batch_rows * out}, h_{batch_rows * out},
      dz_{batch_rows * out};
};

void first_layer_split(benchmark::State& state) {
  if (std::thread::hardware_concurrency() < 2) {
    state.SkipWithError("needs two cores");
    return;
  }
  constexpr int reps = 8;  // steps of each kind per iteration
  enum Job { rows = 1, columns = 2 };
  using Clock = std::chrono::steady_clock;
  const bench::KeptAffinity kept;
  auto layer = std::make_unique<FirstLayer>(row_store().data());
  std::mt19937 rng(1);
  SpinBarrier barrier;
  Partner other([&](int job) {
    for (int r = 0; r <= reps; ++r) {
      barrier.arrive_and_wait();  // the step's rows are set
      if (job == rows)
        layer->row_split(1, barrier);
      else
        layer->column_split(1);
      barrier.arrive_and_wait();
    }
  });
  // reps + 1 steps of `job` on both cores, the first (the other thread waking) untimed.
  auto two_threads = [&](int job) {
    other.wake(job);
    Clock::time_point t0;
    for (int r = 0; r <= reps; ++r) {
      layer->next_rows(rng);
      barrier.arrive_and_wait();
      if (r == 1) t0 = Clock::now();
      if (job == rows)
        layer->row_split(0, barrier);
      else
        layer->column_split(0);
      barrier.arrive_and_wait();
    }
    return std::chrono::duration<double>(Clock::now() - t0).count() / reps;
  };
  double one[2] = {0, 0}, faster = 0, slower = 0, by_rows = 0, by_columns = 0;
  for (auto _ : state) {
    double t[2];
    for (int core = 0; core < 2; ++core) {
      ctnn::pipeline_detail::pin_to_core(static_cast<std::size_t>(core));
      Clock::time_point t0;
      for (int r = 0; r <= reps; ++r) {  // the first step settles on the core, untimed
        if (r == 1) t0 = Clock::now();
        layer->next_rows(rng);
        layer->one_thread();
      }
      t[core] = std::chrono::duration<double>(Clock::now() - t0).count() / reps;
      one[core] += t[core];
    }
    faster += std::min(t[0], t[1]);
    slower += std::max(t[0], t[1]);
    ctnn::pipeline_detail::pin_to_core(0);
    const double d = two_threads(rows);
    by_rows += d;
    by_columns += two_threads(columns);
    state.SetIterationTime(d);
  }
  const double n = static_cast<double>(state.iterations());
  state.counters["one_thread_core0_us"] = one[0] / n * 1e6;
  state.counters["one_thread_core1_us"] = one[1] / n * 1e6;
  state.counters["column_split_us"] = by_columns / n * 1e6;
  state.counters["speedup_vs_faster"] = faster / by_rows;
  state.counters["speedup_vs_slower"] = slower / by_rows;
}
}  // namespace
BENCHMARK(first_layer_split)->Name("W6/first_layer/row_split_two_threads")->UseManualTime()->Iterations(30);
