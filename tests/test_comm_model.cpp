// The α-β-γ all-reduce model (comm_model.hpp): each formula against a hand computation,
// the choices it implies at the extremes, the bucket size, and the step estimate.
#include <gtest/gtest.h>

#include <ctnn/parallel/comm_model.hpp>

using namespace ctnn;

namespace {
constexpr LinkModel m{10e-6, 1e-9, 0.25e-9};  // 10 µs, 1 GB/s, 4 GB/s reduction
}

TEST(CommModel, FormulasByHand) {
  const double n = 1e6;  // bytes
  // p = 4 (L = 2): linear 2·3(α+nβ) + 3nγ; tree 2·2(α+nβ) + 2nγ; recursive doubling 2(α+nβ+nγ);
  // ring 2·3α + 2·¾nβ + ¾nγ; Rabenseifner 2·2α + 2·¾nβ + ¾nγ.
  EXPECT_NEAR(m.predict(Allreduce::linear, n, 4), 6 * (10e-6 + 1e-3) + 3 * 0.25e-3, 1e-12);
  EXPECT_NEAR(m.predict(Allreduce::tree, n, 4), 4 * (10e-6 + 1e-3) + 2 * 0.25e-3, 1e-12);
  EXPECT_NEAR(m.predict(Allreduce::recursive_doubling, n, 4), 2 * (10e-6 + 1e-3 + 0.25e-3), 1e-12);
  EXPECT_NEAR(m.predict(Allreduce::ring, n, 4), 6 * 10e-6 + 1.5e-3 + 0.75 * 0.25e-3, 1e-12);
  EXPECT_NEAR(m.predict(Allreduce::rabenseifner, n, 4), 4 * 10e-6 + 1.5e-3 + 0.75 * 0.25e-3, 1e-12);
  // p = 3 is not a power of two: recursive doubling folds one rank in and out (2(α+nβ) + nγ)
  // around one step on two ranks.
  EXPECT_NEAR(m.predict(Allreduce::recursive_doubling, n, 3), (10e-6 + 1e-3 + 0.25e-3) + 2 * (10e-6 + 1e-3) + 0.25e-3, 1e-12);
  EXPECT_EQ(m.predict(Allreduce::ring, n, 1), 0.0);
  EXPECT_EQ(m.predict(Allreduce::automatic, n, 4), m.predict(m.best(n, 4), n, 4));
}

TEST(CommModel, ChoosesByMessageSize) {
  // Latency-bound: the fewest messages (log p); bandwidth-bound: the least volume, with the
  // fewest messages among those.
  EXPECT_EQ(m.best(64, 64), Allreduce::recursive_doubling);
  EXPECT_EQ(m.best(64e6, 64), Allreduce::rabenseifner);
  constexpr LinkModel no_latency{0, 1e-9, 0.25e-9};
  EXPECT_EQ(no_latency.best(64e6, 7), Allreduce::ring);  // 7 ranks: Rabenseifner pays the fold
  static_assert(link_10g_20us.best(4096, 8) == Allreduce::recursive_doubling);
  for (int p : {2, 3, 4, 8, 17, 1024})
    for (double n : {4e3, 1e6, 64e6})
      for (Allreduce a : allreduce_algorithms) EXPECT_LE(m.predict(m.best(n, p), n, p), m.predict(a, n, p)) << p << " " << n;
}

TEST(CommModel, BucketSize) {
  // The latency terms within a tenth of the bandwidth terms, from 64 KiB up; capped by the total.
  const std::size_t b = m.bucket_bytes(std::size_t(1) << 30, 8);
  const Allreduce a = m.best(double(b), 8);
  const double bw = LinkModel{0, m.beta, m.gamma}.predict(a, double(b), 8);
  EXPECT_LE(m.predict(a, double(b), 8) - bw, 0.1 * bw);
  EXPECT_GE(b, std::size_t(64) * 1024);
  EXPECT_EQ(m.bucket_bytes(1000, 8), 1000u);
  EXPECT_GE(link_1g_200us.bucket_bytes(std::size_t(1) << 30, 8), link_10g_20us.bucket_bytes(std::size_t(1) << 30, 8));
}

TEST(CommModel, StepEstimate) {
  const StepEstimate one = data_parallel_step(m, 1e-3, 1e6, 1);
  EXPECT_EQ(one.efficiency(), 1.0);
  const StepEstimate many = data_parallel_step(m, 1e-3, 1e6, 16);
  EXPECT_NEAR(many.seconds(), 1e-3 + m.predict(Allreduce::automatic, 1e6, 16), 1e-15);
  EXPECT_LT(many.efficiency(), 1.0);
  EXPECT_LT(data_parallel_step(m, 1e-3, 1e6, 1024).efficiency(), many.efficiency());
}
