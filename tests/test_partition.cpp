// The compile-time partitioner: static_assert suites on hand-made cases, the plan of real
// networks, explicit cuts, and the dynamic programme against brute force on 10,000
// random instances (up to 12 layers and 4 devices): identical bottleneck, sum and cuts.
#include <gtest/gtest.h>

#include <ctnn/ctnn.hpp>
#include <ctnn/parallel/partition.hpp>
#include <random>
#include <utility>

using namespace ctnn;

namespace {
/// A problem from per-layer FLOPs (forward = backward = f/2), bytes and device throughputs.
template <std::size_t L, std::size_t P>
constexpr PartitionProblem<L, P> make(const std::array<std::uint64_t, L>& flops, const std::array<std::uint64_t, P>& mflops,
                                      std::uint64_t out_bytes = 0, std::uint64_t link = 1'000'000) {
  PartitionProblem<L, P> pr;
  for (std::size_t k = 0; k < L; ++k) pr.layers[k] = LayerCost{flops[k] / 2, flops[k] - flops[k] / 2, 0, out_bytes, 0};
  for (std::size_t d = 0; d < P; ++d) pr.devices[d] = DeviceSpec{mflops[d], 1024, link, d, false};
  return pr;
}
template <std::size_t P>
constexpr bool starts_are(const PartitionResult<P>& r, const std::array<std::size_t, P>& first) {
  return r.feasible && r.first == first;
}

// Uniform costs on equal devices: equal stages.
constexpr auto uniform = make<8, 4>({1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000}, {1, 1, 1, 1});
static_assert(starts_are(solve_partition(uniform), {0, 2, 4, 6}));
static_assert(solve_partition(uniform).bottleneck_ps == 2000 * 1'000'000);
static_assert(starts_are(brute_force_partition(uniform), {0, 2, 4, 6}));

// One huge layer: it sets the bottleneck alone; of the splits that reach it, equal sums,
// so the earliest cut wins.
constexpr auto huge = make<5, 2>({1, 1, 100, 1, 1}, {1, 1});
static_assert(solve_partition(huge).bottleneck_ps == 102 * 1'000'000);
static_assert(starts_are(solve_partition(huge), {0, 2}));
static_assert(starts_are(brute_force_partition(huge), {0, 2}));

// Heterogeneous devices: the 3x faster one takes five of six equal layers (5/3 against 1).
constexpr auto hetero = make<6, 2>({3, 3, 3, 3, 3, 3}, {3, 1});
static_assert(starts_are(solve_partition(hetero), {0, 5}));
static_assert(solve_partition(hetero).bottleneck_ps == 5'000'000);

// Communication: a layer with a large output is not cut after, even though the compute
// split would be even there.
constexpr auto comm = [] {
  auto pr = make<4, 2>({10, 10, 10, 10}, {1, 1}, 0, 1);
  pr.layers[1].output_bytes = 100;  // cutting after layer 1 costs 2·100 bytes at 1 MB/s each way
  return pr;
}();
static_assert(starts_are(solve_partition(comm), {0, 1}) || starts_are(solve_partition(comm), {0, 3}));
static_assert(solve_partition(comm).bottleneck_ps == brute_force_partition(comm).bottleneck_ps);

// Memory: device 0 holds one layer's parameters at most, so it gets exactly one.
constexpr auto memory = [] {
  auto pr = make<4, 2>({1, 1, 1, 100}, {1, 1});
  for (auto& l : pr.layers) l.param_bytes = 64 << 20;  // ×4 (weights, grads, Adam's two) = 256 MiB per layer
  pr.devices[0].memory_mib = 300;
  pr.devices[1].memory_mib = 4096;
  return pr;
}();
static_assert(starts_are(solve_partition(memory), {0, 1}));
// ... and when nothing fits, there is no plan.
constexpr auto too_big = [] {
  auto pr = memory;
  pr.devices[1].memory_mib = 300;
  return pr;
}();
static_assert(!solve_partition(too_big).feasible && !brute_force_partition(too_big).feasible);

// Real networks.
using Deep = Net<Input<64>, Dense<256>, ReLU, Dense<256>, ReLU, Dense<256>, ReLU, Dense<256>, ReLU, Dense<10>>;
using TwoCores = Devices<CpuCore<0>, CpuCore<1>>;
using P2 = partition<Deep, TwoCores, Batch<32>>;
static_assert(P2::stage_count == 2);
static_assert(P2::stage<0>::first_layer == 0 && P2::stage<1>::last_layer == Deep::layer_count - 1);
static_assert(P2::stage<0>::last_layer + 1 == P2::stage<1>::first_layer);
static_assert(P2::bottleneck_ps ==
              brute_force_partition(partition_detail::make_problem<Deep, TwoCores, 32>()).bottleneck_ps);
// Dense<256> layers dominate: two of the three 256x256 products on each side, or as near as the cut allows.
static_assert(P2::stage<0>::last_layer >= 3 && P2::stage<0>::last_layer <= 5);

// Stages start where fusion-plan nodes start. Here moving the first Dense's 256 outputs between
// the cores costs more than any layer but that Dense: cut by layers, the best split cuts
// after the second Dense, before its ReLU (layer 3); cut by nodes, that ReLU stays with its
// Dense and stage 1 starts at layer 4.
using Head = Net<Input<512>, Dense<256>, ReLU, Dense<8>, ReLU, Dense<8>, ReLU>;
using PHead = partition<Head, TwoCores, Batch<16>>;
static_assert(PHead::stage<0>::last_layer == 3 && PHead::stage<1>::first_layer == 4);
constexpr auto head_problem = partition_detail::make_problem<Head, TwoCores, 16>();
static_assert(head_problem.inside_node[1] && head_problem.inside_node[3] && !head_problem.inside_node[2]);
static_assert(brute_force_partition(head_problem).first[1] == 4);
constexpr auto head_by_layers = [] {
  auto pr = head_problem;
  pr.inside_node = {};
  return pr;
}();
static_assert(solve_partition(head_by_layers).first[1] == 3 && brute_force_partition(head_by_layers).first[1] == 3);
static_assert(Deep::layer_count == 9 && P2::stage<1>::first_layer % 2 == 0);  // on a Dense

using Override = partition<Deep, Devices<CpuCore<0>, CpuCore<1>, CpuCore<2>>, Batch<8>, Cuts<3, 7>>;
static_assert(Override::stage<0>::last_layer == 2 && Override::stage<1>::first_layer == 3 &&
              Override::stage<1>::last_layer == 6 && Override::stage<2>::first_layer == 7);
static_assert(Override::bottleneck_ps >=
              partition<Deep, Devices<CpuCore<0>, CpuCore<1>, CpuCore<2>>, Batch<8>>::bottleneck_ps);

// CPU + GPU: the GPU (200x faster here) takes almost everything.
using Mixed = partition<Deep, Devices<CpuCore<0>, CudaDevice<0>>, Batch<256>>;
static_assert(Mixed::stage<0>::last_layer <= 1);

// 64 layers on 8 devices, within the default constexpr limits (also compiled by clang in
// compile_fail/partition_64x8_clang when clang++-14 is installed).
template <std::size_t... I>
auto deep_net(std::index_sequence<I...>) -> Net<Input<32>, std::conditional_t<I % 2 == 0, Dense<32 + 8 * (I % 5)>, ReLU>...>;
using Deep64 = decltype(deep_net(std::make_index_sequence<64>{}));
using Eight = Devices<CpuCore<0>, CpuCore<1>, CpuCore<2>, CpuCore<3>, CpuCore<4>, CpuCore<5>, CpuCore<6>, CpuCore<7>>;
using P64 = partition<Deep64, Eight, Batch<64>>;
static_assert(P64::stage_count == 8 && P64::stage<7>::last_layer == 63);

/// Outcome counts over all random instances, so the test can show it was not vacuous.
struct Tally {
  int instances = 0, feasible = 0;
};

template <std::size_t L, std::size_t P>
void random_instances(std::mt19937_64& rng, int count, Tally& tally) {
  for (int n = 0; n < count; ++n) {
    PartitionProblem<L, P> pr;
    std::uniform_int_distribution<std::uint64_t> flops(1, 4), scale(0, 3), bytes(0, 3), mf(1, 3), mem(1, 6), link(1, 4),
        room(8, 24);
    const std::uint64_t s = std::uint64_t{1} << (10 * scale(rng) / 3);  // mixes ties and distinct values
    std::uint64_t need = 0;
    for (auto& l : pr.layers) {
      l.forward_flops = flops(rng) * s * 1000;
      l.backward_flops = flops(rng) * s * 1000;
      l.param_bytes = mem(rng) << 20;
      l.output_bytes = bytes(rng) * 250;
      l.stored_bytes = bytes(rng) << 18;
      need += l.param_bytes * 4 + l.stored_bytes * P;
    }
    // Devices get 0.8 to 2.4 times an even share of the memory: mostly feasible, not always.
    for (std::size_t d = 0; d < P; ++d)
      pr.devices[d] = DeviceSpec{mf(rng) * 1000, ((need >> 20) * room(rng)) / (10 * P) + 1, link(rng), d, false};
    const auto dp = solve_partition(pr), bf = brute_force_partition(pr);
    ++tally.instances;
    ASSERT_EQ(dp.feasible, bf.feasible) << "L=" << L << " P=" << P << " instance " << n;
    if (!bf.feasible) continue;
    ++tally.feasible;
    ASSERT_EQ(dp.bottleneck_ps, bf.bottleneck_ps) << "L=" << L << " P=" << P << " instance " << n;
    ASSERT_EQ(dp.total_ps, bf.total_ps) << "L=" << L << " P=" << P << " instance " << n;
    ASSERT_EQ(dp.first, bf.first) << "L=" << L << " P=" << P << " instance " << n;
  }
}

template <std::size_t P, std::size_t... L>
void sweep_layers(std::mt19937_64& rng, int per, Tally& tally, std::index_sequence<L...>) {
  (
      [&] {
        if constexpr (L + 1 >= P) random_instances<L + 1, P>(rng, per, tally);
      }(),
      ...);
}
}  // namespace

TEST(Partition, DynamicProgrammeEqualsBruteForce) {
  std::mt19937_64 rng(2026);
  Tally tally;
  sweep_layers<1>(rng, 60, tally, std::make_index_sequence<12>{});
  sweep_layers<2>(rng, 250, tally, std::make_index_sequence<12>{});
  sweep_layers<3>(rng, 300, tally, std::make_index_sequence<12>{});
  sweep_layers<4>(rng, 400, tally, std::make_index_sequence<12>{});
  EXPECT_GE(tally.instances, 10'000);
  EXPECT_GT(tally.feasible, tally.instances * 6 / 10);   // mostly real splits ...
  EXPECT_LT(tally.feasible, tally.instances * 98 / 100);  // ... and some with no plan at all
}

TEST(Partition, CountsFeasibleAndTiedInstances) {
  // The random families above are not degenerate: many instances are feasible, some are
  // not, and ties in the bottleneck occur (so the tie-break rules are exercised).
  std::mt19937_64 rng(7);
  int feasible = 0, infeasible = 0, ties = 0;
  for (int n = 0; n < 2000; ++n) {
    PartitionProblem<8, 3> pr;
    std::uniform_int_distribution<std::uint64_t> small(1, 3), mem(1, 6), room(8, 24);
    std::uint64_t need = 0;
    for (auto& l : pr.layers) {
      l = LayerCost{small(rng) * 1000, small(rng) * 1000, mem(rng) << 20, 0, 0};
      need += l.param_bytes * 4;
    }
    for (std::size_t d = 0; d < 3; ++d) pr.devices[d] = DeviceSpec{1000, ((need >> 20) * room(rng)) / 30 + 1, 1, d, false};
    const auto r = solve_partition(pr);
    if (!r.feasible) {
      ++infeasible;
      continue;
    }
    ++feasible;
    // Count optimal splits by brute force enumeration of the second start.
    pr.prepare();
    int optimal = 0;
    for (std::size_t a = 1; a < 7; ++a)
      for (std::size_t b = a + 1; b < 8; ++b) {
        const auto e = evaluate_split(pr, std::array<std::size_t, 3>{0, a, b});
        optimal += e.feasible && e.bottleneck_ps == r.bottleneck_ps;
      }
    ties += optimal > 1;
  }
  EXPECT_GT(feasible, 1000);
  EXPECT_GT(infeasible, 20);
  EXPECT_GT(ties, 100);
}

TEST(Partition, TablePrintsEveryStage) {
  const std::string t = P2::table();
  EXPECT_NE(t.find("cpu"), std::string::npos);
  EXPECT_NE(t.find("bottleneck"), std::string::npos);
  EXPECT_EQ(std::count(t.begin(), t.end(), '\n'), 4);  // header, 2 stages, summary
}
