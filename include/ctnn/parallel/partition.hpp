#pragma once
/**
 * @file partition.hpp
 * @brief The compile-time model-parallel partitioner: contiguous stages, one per device,
 * that minimise the slowest stage, subject to every device's memory.
 *
 * Stage time (picoseconds, integer, per micro-batch of training) on device d for layers
 * [i, j]:  (forward + backward FLOPs) / throughput_d
 *        + (activations in + their gradients out) / link_{d−1}      when i > 0
 *        + (activations out + their gradients in) / link_d          when j < L − 1.
 * Stage memory: parameters × (1 weights + 1 gradients + `state_blocks` optimizer
 * vectors) + stored activations × `in_flight` micro-batches (1F1B keeps at most p).
 *
 * A stage starts only where a node of the fusion plan starts (`inside_node`): a Dense and
 * the activations fused behind it stay on one device and run as one fused node (explicit
 * `Cuts<...>` may still cut anywhere).
 *
 * Objective, lexicographic: (1) the bottleneck (largest stage time), (2) the sum of stage
 * times, (3) the earliest cuts. Exact, O(L²·P): a min-max dynamic programme gives the
 * optimal bottleneck M*; a suffix min-sum programme over stages no slower than M* gives
 * (2), and walking it from the front taking the first cut that stays optimal gives (3).
 * (A single lexicographic DP on (max, sum) would be wrong: a prefix with a larger maximum
 * can still win once a slower stage follows.) `brute_force` enumerates every split in
 * cut order for the tests.
 */
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>

#include "../core/batch.hpp"
#include "../network/fusion.hpp"
#include "cost_model.hpp"
#include "devices.hpp"

CTNN_BEGIN_NAMESPACE

namespace partition_detail {
inline constexpr std::uint64_t infinity = std::numeric_limits<std::uint64_t>::max() / 16;

/// amount · 10⁶ / rate, rounded up, saturating at `infinity` (amount in FLOPs or bytes,
/// rate in MFLOP/s or MB/s, result in picoseconds).
constexpr std::uint64_t picoseconds(std::uint64_t amount, std::uint64_t rate) noexcept {
  const std::uint64_t q = amount / rate, r = amount % rate;  // r·10⁶ fits: rates stay below 1.8e13
  if (q >= infinity / 1'000'000) return infinity;
  return q * 1'000'000 + (r * 1'000'000 + rate - 1) / rate;
}
}  // namespace partition_detail

/// A partitioning problem: L layer costs, P devices, and the memory model's constants.
template <std::size_t L, std::size_t P>
struct PartitionProblem {
  std::array<LayerCost, L> layers{};
  std::array<DeviceSpec, P> devices{};
  std::size_t state_blocks = 2;  ///< optimizer vectors per parameter (Adam: 2)
  std::size_t in_flight = P;     ///< micro-batches whose activations a stage may hold
  /// Layers a stage may not start at: those inside a fused node (an activation fused behind
  /// its Dense), so that a cut never splits a node of the fusion plan. All false by default.
  std::array<bool, L> inside_node{};
  /// Prefix sums of FLOPs and memory (filled by `prepare`, which the solvers call).
  std::array<std::uint64_t, L + 1> flops_prefix{}, memory_prefix{};

  constexpr void prepare() noexcept {
    for (std::size_t k = 0; k < L; ++k) {
      flops_prefix[k + 1] = flops_prefix[k] + layers[k].forward_flops + layers[k].backward_flops;
      memory_prefix[k + 1] =
          memory_prefix[k] + layers[k].param_bytes * (2 + state_blocks) + layers[k].stored_bytes * in_flight;
    }
  }

  /// Time of layers [i, j] on device d, picoseconds.
  constexpr std::uint64_t time(std::size_t i, std::size_t j, std::size_t d) const noexcept {
    const std::uint64_t flops = flops_prefix[j + 1] - flops_prefix[i];
    std::uint64_t t = partition_detail::picoseconds(flops, devices[d].mflops);
    if (i > 0 && d > 0) t += partition_detail::picoseconds(2 * layers[i - 1].output_bytes, devices[d - 1].link_mbps);
    if (j + 1 < L) t += partition_detail::picoseconds(2 * layers[j].output_bytes, devices[d].link_mbps);
    return t;
  }
  /// Memory of layers [i, j] as one stage, bytes.
  constexpr std::uint64_t memory(std::size_t i, std::size_t j) const noexcept {
    return memory_prefix[j + 1] - memory_prefix[i];
  }
  constexpr bool fits(std::size_t i, std::size_t j, std::size_t d) const noexcept {
    return memory(i, j) <= devices[d].memory_bytes();
  }
};

/// A split: stage s holds layers [first[s], last[s]] on device s.
template <std::size_t P>
struct PartitionResult {
  bool feasible = false;
  std::array<std::size_t, P> first{}, last{};
  std::array<std::uint64_t, P> time_ps{}, memory_bytes{};
  std::uint64_t bottleneck_ps = 0;  ///< the slowest stage
  std::uint64_t total_ps = 0;       ///< sum of stage times
};

/// Costs of a given split (stage starts `first`, first[0] == 0, increasing) of a prepared problem.
template <std::size_t L, std::size_t P>
constexpr PartitionResult<P> evaluate_split(const PartitionProblem<L, P>& pr, const std::array<std::size_t, P>& first) {
  PartitionResult<P> r;
  r.feasible = true;
  r.first = first;
  for (std::size_t s = 0; s < P; ++s) {
    r.last[s] = s + 1 < P ? first[s + 1] - 1 : L - 1;
    r.time_ps[s] = pr.time(first[s], r.last[s], s);
    r.memory_bytes[s] = pr.memory(first[s], r.last[s]);
    r.feasible = r.feasible && pr.fits(first[s], r.last[s], s);
    r.bottleneck_ps = r.bottleneck_ps > r.time_ps[s] ? r.bottleneck_ps : r.time_ps[s];
    r.total_ps += r.time_ps[s];
  }
  return r;
}

namespace partition_detail {
/// The problem flattened into plain arrays: the solver's inner loops touch nothing else,
/// which keeps a 64-layer × 8-device plan inside clang's default constexpr step limit.
template <std::size_t L, std::size_t P>
struct Flat {
  std::uint64_t flops[L + 1] = {}, memory[L + 1] = {}, cut_bytes[L] = {};
  std::uint64_t mflops[P] = {}, link[P] = {}, capacity[P] = {};
  bool inside[L] = {};

  constexpr explicit Flat(const PartitionProblem<L, P>& pr) {
    for (std::size_t k = 0; k < L; ++k) inside[k] = pr.inside_node[k];
    for (std::size_t k = 0; k <= L; ++k) flops[k] = pr.flops_prefix[k], memory[k] = pr.memory_prefix[k];
    for (std::size_t k = 0; k < L; ++k) cut_bytes[k] = 2 * pr.layers[k].output_bytes;
    for (std::size_t d = 0; d < P; ++d)
      mflops[d] = pr.devices[d].mflops, link[d] = pr.devices[d].link_mbps, capacity[d] = pr.devices[d].memory_bytes();
  }
  /// Time of layers [i, j] on device d (stage d starts at i >= d, and at 0 only if d == 0),
  /// or `infinity` when it does not fit — the same figure as PartitionProblem::time.
  constexpr std::uint64_t stage(std::size_t i, std::size_t j, std::size_t d) const noexcept {
    if ((i == 0) != (d == 0) || i < d || inside[i] || memory[j + 1] - memory[i] > capacity[d]) return infinity;
    std::uint64_t t = picoseconds(flops[j + 1] - flops[i], mflops[d]);
    if (i > 0) t += picoseconds(cut_bytes[i - 1], link[d - 1]);
    if (j + 1 < L) t += picoseconds(cut_bytes[j], link[d]);
    return t;
  }
};
}  // namespace partition_detail

/// The exact optimum (see the file comment); `feasible` is false when no split fits.
template <std::size_t L, std::size_t P>
constexpr PartitionResult<P> solve_partition(PartitionProblem<L, P> pr) {
  using partition_detail::infinity;
  static_assert(P >= 1 && L >= P);
  pr.prepare();
  const partition_detail::Flat<L, P> f(pr);

  // (1) best[d][j]: smallest bottleneck placing layers [0, j] on devices [0, d].
  std::uint64_t best[P][L] = {};
  for (std::size_t j = 0; j < L; ++j) best[0][j] = f.stage(0, j, 0);
  for (std::size_t d = 1; d < P; ++d)
    for (std::size_t j = d; j + (P - 1 - d) < L; ++j) {
      std::uint64_t b = infinity;
      for (std::size_t i = d; i <= j; ++i) {
        const std::uint64_t prev = best[d - 1][i - 1];
        if (prev >= b) continue;  // cannot improve
        const std::uint64_t cur = f.stage(i, j, d);
        const std::uint64_t m = prev > cur ? prev : cur;
        if (m < b) b = m;
      }
      best[d][j] = b;
    }
  const std::uint64_t bottleneck = best[P - 1][L - 1];
  PartitionResult<P> r;
  if (bottleneck >= infinity) return r;

  // (2) sum[d][i]: smallest total placing layers [i, L) on devices [d, P), every stage <= M*.
  std::uint64_t sum[P][L + 1] = {};
  for (std::size_t d = 0; d < P; ++d)
    for (std::size_t i = 0; i <= L; ++i) sum[d][i] = infinity;
  for (std::size_t i = P - 1; i < L; ++i) {
    const std::uint64_t t = f.stage(i, L - 1, P - 1);
    if (t <= bottleneck) sum[P - 1][i] = t;
  }
  for (std::size_t d = P - 1; d-- > 0;)
    for (std::size_t i = (d == 0 ? 0 : d); i + (P - d) <= L && (d > 0 || i == 0); ++i)
      for (std::size_t j = i; j + (P - 1 - d) < L; ++j) {
        const std::uint64_t rest = sum[d + 1][j + 1];
        if (rest >= infinity) continue;
        const std::uint64_t t = f.stage(i, j, d);
        if (t <= bottleneck && t + rest < sum[d][i]) sum[d][i] = t + rest;
      }

  // (3) From the front, the first cut that keeps the optimum.
  std::array<std::size_t, P> first{};
  std::size_t i = 0;
  for (std::size_t d = 0; d + 1 < P; ++d) {
    first[d] = i;
    for (std::size_t j = i; j + (P - 1 - d) < L; ++j) {
      const std::uint64_t t = f.stage(i, j, d), rest = sum[d + 1][j + 1];
      if (t <= bottleneck && rest < infinity && t + rest == sum[d][i]) {
        i = j + 1;
        break;
      }
    }
  }
  first[P - 1] = i;
  return evaluate_split(pr, first);
}

/// Every split in cut order, keeping the first that is strictly better in (bottleneck,
/// sum): the reference the tests hold `solve_partition` to.
template <std::size_t L, std::size_t P>
constexpr PartitionResult<P> brute_force_partition(PartitionProblem<L, P> pr) {
  pr.prepare();
  PartitionResult<P> best;
  std::array<std::size_t, P> first{};
  for (std::size_t s = 0; s < P; ++s) first[s] = s;
  while (true) {
    const auto r = evaluate_split(pr, first);
    bool whole_nodes = true;
    for (std::size_t k = 1; k < P; ++k) whole_nodes = whole_nodes && !pr.inside_node[first[k]];
    if (r.feasible && whole_nodes && (!best.feasible || r.bottleneck_ps < best.bottleneck_ps ||
                       (r.bottleneck_ps == best.bottleneck_ps && r.total_ps < best.total_ps)))
      best = r;
    // Next combination of stage starts 0 = first[0] < first[1] < ... < first[P-1] <= L-1.
    std::size_t s = P;
    while (s-- > 1)
      if (first[s] < L - (P - s)) break;
    if (s == 0) break;
    ++first[s];
    for (std::size_t k = s + 1; k < P; ++k) first[k] = first[k - 1] + 1;
  }
  return best;
}

/// Let the partitioner choose the cuts.
struct AutoCuts {};
/// Explicit cuts: each value is the first layer of the next stage (`Cuts<3, 7>`: layers
/// [0, 3), [3, 7), [7, L) on three devices).
template <std::size_t... C>
struct Cuts {};

namespace partition_detail {
template <class C>
inline constexpr bool is_auto = std::is_same_v<C, AutoCuts>;
template <class C>
struct cut_list;
template <std::size_t... C>
struct cut_list<Cuts<C...>> {
  static constexpr std::size_t count = sizeof...(C);
  static constexpr std::array<std::size_t, sizeof...(C)> values{C...};
};

template <class NetT, class Devs, std::size_t b>
constexpr auto make_problem() {
  constexpr std::size_t L = NetT::layer_count, P = Devs::count;
  PartitionProblem<L, P> pr;
  pr.layers = network_costs<NetT, b>();
  pr.devices = Devs::specs;
  using F = FusionPlan<NetT>;
  for (std::size_t n = 0; n < F::count; ++n)
    for (std::size_t k = 1; k < F::length[n]; ++k) pr.inside_node[F::first[n] + k] = true;
  pr.prepare();
  return pr;
}
}  // namespace partition_detail

/**
 * @brief The plan for `NetT` on `Devs` at micro-batch `Bt`, computed at compile time.
 * `stage_count`, `stage<s>::first_layer / last_layer / time_ps / memory_bytes`,
 * `bottleneck_ps`, `total_ps`, and `table()`.
 */
template <class NetT, class Devs, BatchType Bt, class C = AutoCuts>
struct Plan {
  using net = NetT;
  using devices = Devs;
  static constexpr std::size_t layer_count = NetT::layer_count;
  static constexpr std::size_t stage_count = Devs::count;
  static constexpr std::size_t micro_batch = Bt::size;

  static_assert(stage_count <= layer_count,
                "ctnn::partition: more devices than layers; every stage needs at least one layer");
  static_assert(!partition_detail::is_auto<C> || stage_count <= FusionPlan<NetT>::count,
                "ctnn::partition: more devices than nodes of the fusion plan (a Dense and the activations fused "
                "behind it are one node, never cut); give Cuts<...> to cut inside nodes");

 private:
  static constexpr auto problem_ = partition_detail::make_problem<NetT, Devs, Bt::size>();
  static constexpr auto explicit_first_ = [] {
    std::array<std::size_t, stage_count> first{};
    if constexpr (!partition_detail::is_auto<C>) {
      using list = partition_detail::cut_list<C>;
      static_assert(list::count + 1 == stage_count,
                    "ctnn::Cuts: give one cut fewer than there are devices (each cut starts the next stage)");
      for (std::size_t s = 1; s < stage_count; ++s) first[s] = list::values[s - 1];
    }
    return first;
  }();
  static constexpr bool cuts_ok_ = [] {
    bool ok = true;
    for (std::size_t s = 1; s < stage_count; ++s)
      ok = ok && explicit_first_[s] > explicit_first_[s - 1] && explicit_first_[s] < layer_count;
    return ok;
  }();
  static_assert(partition_detail::is_auto<C> || cuts_ok_,
                "ctnn::Cuts: cuts must increase strictly and lie inside the network (1 .. layer_count - 1)");
  static constexpr auto result_ = [] {
    if constexpr (partition_detail::is_auto<C>)
      return solve_partition(problem_);
    else if constexpr (!cuts_ok_)
      return PartitionResult<stage_count>{true};
    else
      return evaluate_split(problem_, explicit_first_);
  }();
  static_assert(result_.feasible,
                "ctnn::partition: no split fits: some stage needs more memory than its device has (raise the "
                "device's MemoryMiB, add devices, or shrink the micro-batch)");

 public:
  static constexpr auto first = result_.first;                ///< first layer of each stage
  static constexpr auto last = result_.last;                  ///< last layer of each stage
  static constexpr auto time_ps = result_.time_ps;            ///< estimated time per micro-batch
  static constexpr auto memory_bytes = result_.memory_bytes;  ///< estimated memory
  static constexpr std::uint64_t bottleneck_ps = result_.bottleneck_ps;
  static constexpr std::uint64_t total_ps = result_.total_ps;

  template <std::size_t S>
  struct stage {
    static_assert(S < stage_count, "ctnn::Plan::stage<S>: no such stage");
    static constexpr std::size_t first_layer = first[S], last_layer = last[S];
    static constexpr std::uint64_t time_ps = Plan::time_ps[S], memory_bytes = Plan::memory_bytes[S];
    static constexpr DeviceSpec device = Devs::specs[S];
  };

  /// The plan as a table: one row per stage.
  static std::string table() {
    std::string out = "stage  device         layers      est. time/micro-batch   memory      share of bottleneck\n";
    char line[160];
    for (std::size_t s = 0; s < stage_count; ++s) {
      const auto& d = Devs::specs[s];
      std::snprintf(line, sizeof line, "%5zu  %-4s %-9zu %3zu..%-3zu    %12.3f us          %8.2f MiB  %5.1f%%\n", s,
                    d.cuda ? "cuda" : "cpu", d.index, first[s], last[s], static_cast<double>(time_ps[s]) * 1e-6,
                    static_cast<double>(memory_bytes[s]) / (1 << 20),
                    100.0 * static_cast<double>(time_ps[s]) / static_cast<double>(bottleneck_ps));
      out += line;
    }
    std::snprintf(line, sizeof line, "bottleneck %.3f us per micro-batch of %zu; sum of stages %.3f us\n",
                  static_cast<double>(bottleneck_ps) * 1e-6, micro_batch, static_cast<double>(total_ps) * 1e-6);
    out += line;
    return out;
  }
};

/// `ctnn::partition<Net, Devices<...>, Batch<b>>`: the optimal plan (or `Cuts<...>` to override).
template <class NetT, class Devs, BatchType Bt, class C = AutoCuts>
using partition = Plan<NetT, Devs, Bt, C>;

CTNN_END_NAMESPACE
