// Peer: Eigen 3.4 written by hand as a careful user would: fixed-size matrices for
// batch 1, dynamic matrices and Eigen's GEMM for batches.
#include <benchmark/benchmark.h>

// Fixed-size 256x784 weights exceed Eigen's stack-object limit; they live in a heap-allocated
// struct here, so lift the check.
#define EIGEN_STACK_ALLOCATION_LIMIT 0
#include <Eigen/Dense>
#include <memory>

#include "workloads.hpp"

namespace {
template <int In, int Out>
struct Layer {
  Eigen::Matrix<float, Out, In> W = Eigen::Matrix<float, Out, In>::Random() * 0.1f;
  Eigen::Matrix<float, Out, 1> b = Eigen::Matrix<float, Out, 1>::Random() * 0.1f;
};

struct EigenW1 {
  Layer<16, 64> l1;
  Layer<64, 64> l2;
  Layer<64, 16> l3;
  Eigen::Matrix<float, 16, 1> forward(const Eigen::Matrix<float, 16, 1>& x) const {
    const Eigen::Matrix<float, 64, 1> h1 = (l1.W * x + l1.b).array().tanh();
    const Eigen::Matrix<float, 64, 1> h2 = (l2.W * h1 + l2.b).array().tanh();
    return l3.W * h2 + l3.b;
  }
};

struct EigenW2 {
  Layer<784, 256> l1;
  Layer<256, 128> l2;
  Layer<128, 10> l3;
  Eigen::Matrix<float, 10, 1> forward(const Eigen::Matrix<float, 784, 1>& x) const {
    const Eigen::Matrix<float, 256, 1> h1 = (l1.W * x + l1.b).cwiseMax(0.0f);
    const Eigen::Matrix<float, 128, 1> h2 = (l2.W * h1 + l2.b).cwiseMax(0.0f);
    return l3.W * h2 + l3.b;
  }
};

void w1(benchmark::State& state) {
  auto net = std::make_unique<EigenW1>();
  const Eigen::Matrix<float, 16, 1> x = Eigen::Matrix<float, 16, 1>::Random();
  for (auto _ : state) {
    auto y = net->forward(x);
    benchmark::DoNotOptimize(y.data());
  }
}

void w2(benchmark::State& state) {
  auto net = std::make_unique<EigenW2>();
  const Eigen::Matrix<float, 784, 1> x = Eigen::Matrix<float, 784, 1>::Random();
  for (auto _ : state) {
    auto y = net->forward(x);
    benchmark::DoNotOptimize(y.data());
  }
}

void w3(benchmark::State& state) {
  constexpr int B = 256;
  const Eigen::MatrixXf W1 = Eigen::MatrixXf::Random(256, 784), W2 = Eigen::MatrixXf::Random(128, 256),
                        W3 = Eigen::MatrixXf::Random(10, 128);
  const Eigen::VectorXf b1 = Eigen::VectorXf::Random(256), b2 = Eigen::VectorXf::Random(128),
                        b3 = Eigen::VectorXf::Random(10);
  const Eigen::MatrixXf X = Eigen::MatrixXf::Random(784, B);
  Eigen::MatrixXf H1(256, B), H2(128, B), Y(10, B);
  for (auto _ : state) {
    H1.noalias() = W1 * X;
    H1 = (H1.colwise() + b1).cwiseMax(0.0f);
    H2.noalias() = W2 * H1;
    H2 = (H2.colwise() + b2).cwiseMax(0.0f);
    Y.noalias() = W3 * H2;
    Y.colwise() += b3;
    benchmark::DoNotOptimize(Y.data());
  }
  state.counters["FLOP/s"] = benchmark::Counter(static_cast<double>(bench::W2::flops_forward * B),
                                                benchmark::Counter::kIsIterationInvariantRate);
}
}  // namespace

BENCHMARK(w1)->Name("W1/forward_b1/eigen");
BENCHMARK(w2)->Name("W2/forward_b1/eigen");
BENCHMARK(w3)->Name("W3/forward_b256/eigen");
