// Peer: OpenBLAS cblas_sgemm layer by layer, with bias and ReLU in a second pass.
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <algorithm>
#include <vector>

#include "workloads.hpp"

namespace {
template <int B>
void w2_forward(benchmark::State& state) {
  const auto W1 = bench::random_inputs(784 * 256, 1), W2 = bench::random_inputs(256 * 128, 2),
             W3 = bench::random_inputs(128 * 10, 3), b1 = bench::random_inputs(256, 4),
             b2 = bench::random_inputs(128, 5), b3 = bench::random_inputs(10, 6), X = bench::random_inputs(B * 784, 7);
  std::vector<float> H1(B * 256), H2(B * 128), Y(B * 10);
  auto layer = [](const float* x, const float* w, const float* b, float* y, int in, int out, bool relu) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, out, in, 1.0f, x, in, w, out, 0.0f, y, out);
    for (int s = 0; s < B; ++s)
      for (int j = 0; j < out; ++j) {
        const float v = y[s * out + j] + b[j];
        y[s * out + j] = relu ? std::max(v, 0.0f) : v;
      }
  };
  for (auto _ : state) {
    layer(X.data(), W1.data(), b1.data(), H1.data(), 784, 256, true);
    layer(H1.data(), W2.data(), b2.data(), H2.data(), 256, 128, true);
    layer(H2.data(), W3.data(), b3.data(), Y.data(), 128, 10, false);
    benchmark::DoNotOptimize(Y.data());
  }
  state.counters["FLOP/s"] = benchmark::Counter(static_cast<double>(bench::W2::flops_forward * B),
                                                benchmark::Counter::kIsIterationInvariantRate);
}
}  // namespace

BENCHMARK(w2_forward<1>)->Name("W2/forward_b1/openblas");
BENCHMARK(w2_forward<256>)->Name("W3/forward_b256/openblas");
