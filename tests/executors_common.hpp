// Shared by the tests that run one activation or optimizer through every CPU executor
// (a user optimizer and each built-in extension): seeded batches, the single-threaded Trainer as
// the reference, and DataParallel and the pipeline compared with it.
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <ctnn/ctnn.hpp>
#include <ctnn/parallel/data_parallel.hpp>
#include <ctnn/parallel/pipeline.hpp>
#include <memory>
#include <span>
#include <vector>

namespace executors {
using namespace ctnn;
constexpr std::size_t B = 24;

inline std::vector<float> random(std::size_t n, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = rng.uniform(1.0f);
  return v;
}
inline double max_abs_diff(std::span<const float> a, std::span<const float> b) {
  double m = 0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, double(std::abs(a[i] - b[i])));
  return m;
}

/// Four seeded batches of B samples with class labels.
struct Batches {
  std::vector<std::vector<float>> x;
  std::vector<std::vector<int>> t;
  Batches(std::size_t in, std::size_t classes) {
    for (int i = 0; i < 4; ++i) {
      x.push_back(random(B * in, 50 + i));
      std::vector<int> ti(B);
      for (std::size_t k = 0; k < B; ++k) ti[k] = int((k * 3 + i) % classes);
      t.push_back(ti);
    }
  }
};

/// Weights after `steps` single-threaded Trainer steps from seed 3 (the reference).
template <class N, class O>
std::vector<float> trained_by_trainer(int steps, const Batches& d, typename O::Options opts) {
  auto net = std::make_unique<N>();
  net->init(3);
  Trainer<N, loss::SoftmaxCrossEntropy, O, Batch<B>> tr(*net, opts);
  for (int s = 0; s < steps; ++s) tr.step(d.x[s % 4], d.t[s % 4]);
  return {net->params().begin(), net->params().end()};
}

/// The reference moved the weights (so agreement with it means something).
template <class N>
void expect_moved(const std::vector<float>& trained, const char* name) {
  N init;
  init.init(3);
  EXPECT_GT(max_abs_diff(trained, init.params()), 1e-2) << name << ": training moved the weights";
}

/// DataParallel over 1..3 threads: bit-identical across thread counts, and equal to the
/// Trainer up to the order of the gradient sums (20 steps). Its path follows the network: a
/// first layer that is not Dense runs chunks of the batch ("chunked"), a Dense first layer is
/// split by rows ("row split"), three Dense nodes by their weights ("weight split").
template <class N, class O>
void data_parallel_matches(typename O::Options opts, const char* name) {
  const Batches d(N::input_size, N::output_size);
  const auto ref = trained_by_trainer<N, O>(20, d, opts);
  std::vector<float> first;
  for (std::size_t threads : {1, 2, 3}) {
    auto net = std::make_unique<N>();
    net->init(3);
    DataParallel<Trainer<N, loss::SoftmaxCrossEntropy, O, Batch<B>>, Threads<0>, Chunks<4>> dp(*net, opts, threads);
    for (int s = 0; s < 20; ++s) dp.step(d.x[s % 4], d.t[s % 4]);
    const std::vector<float> w(net->params().begin(), net->params().end());
    if (first.empty()) first = w;
    ASSERT_EQ(w, first) << name << ", " << threads << " threads";
  }
  EXPECT_LE(max_abs_diff(first, ref), 1e-4) << name;
  expect_moved<N>(ref, name);
}

/// A two-stage pipeline of 4 micro-batches against the Trainer (20 steps).
template <class N, class O>
void pipeline_matches(typename O::Options opts, const char* name) {
  using PlanT = partition<N, Devices<CpuCore<0>, CpuCore<1>>, Batch<B / 4>>;
  static_assert(PlanT::stage_count == 2);
  const Batches d(N::input_size, N::output_size);
  const auto ref = trained_by_trainer<N, O>(20, d, opts);
  auto net = std::make_unique<N>();
  net->init(3);
  PipelineTrainer<PlanT, loss::SoftmaxCrossEntropy, O, 4> pipeline(*net, opts);
  for (int s = 0; s < 20; ++s) pipeline.step(d.x[s % 4], d.t[s % 4]);
  EXPECT_LE(max_abs_diff(net->params(), ref), 1e-4) << name;
  expect_moved<N>(ref, name);
}
}  // namespace executors
