// ctnn on every workload, with the scalar reference backend beside the SIMD one.
#include <benchmark/benchmark.h>

#include "bench_common.hpp"

using namespace bench;

namespace {
using Simd = backend::native;
using Scalar = backend::scalar;
using CE = loss::SoftmaxCrossEntropy;
}  // namespace

BENCHMARK(predict_b1<W1, Predictor<W1, Simd>>)->Name("W1/forward_b1/ctnn");
BENCHMARK(forward_b1<W1, Simd>)->Name("W1/forward_b1/ctnn_net");
// W1's shapes without the tanh: what the products and layer hand-offs cost alone.
BENCHMARK(predict_b1<W1Linear, Predictor<W1Linear, Simd>>)->Name("W1/forward_b1/ctnn_without_tanh");
BENCHMARK(forward_b1<W1, Scalar>)->Name("W1/forward_b1/scalar");
BENCHMARK(predict_b1<W2, Predictor<W2, Simd>>)->Name("W2/forward_b1/ctnn");
BENCHMARK(forward_b1<W2, Simd>)->Name("W2/forward_b1/ctnn_net");
BENCHMARK(forward_b1<W2, Scalar>)->Name("W2/forward_b1/scalar");
// Reduced precision at batch 1 (bf16 weights; int8 weights with inputs quantized per call).
BENCHMARK(predict_b1<W1, BF16Predictor<W1>>)->Name("W1/forward_b1/ctnn_bf16");
BENCHMARK(predict_b1<W1, Int8Predictor<W1>>)->Name("W1/forward_b1/ctnn_int8");
BENCHMARK(predict_b1<W2, BF16Predictor<W2>>)->Name("W2/forward_b1/ctnn_bf16");
BENCHMARK(predict_b1<W2, Int8Predictor<W2>>)->Name("W2/forward_b1/ctnn_int8");
BENCHMARK(forward_batch<W2, 256, Simd>)->Name("W3/forward_b256/ctnn");
BENCHMARK(forward_batch<W2, 256, Scalar>)->Name("W3/forward_b256/scalar");
BENCHMARK(train_step<W2, CE, 64, Simd>)->Name("W4/train_step_b64/ctnn");
BENCHMARK(train_step<W2, CE, 64, Scalar>)->Name("W4/train_step_b64/scalar");
BENCHMARK(train_step<W5, loss::MSE, 16, Simd>)->Name("W5/train_step_b16/ctnn");
BENCHMARK(train_step<W5, loss::MSE, 16, Scalar>)->Name("W5/train_step_b16/scalar");
BENCHMARK(train_step<W5, loss::MSE, 256, Simd>)->Name("W5/train_step_b256/ctnn");
BENCHMARK(train_step<W5, loss::MSE, 256, Scalar>)->Name("W5/train_step_b256/scalar");

// The loss alone: softmax cross-entropy with its gradient over the Fashion-MNIST MLP's
// logits (64 samples × 10 classes), the SIMD kernel the trainers use against the scalar loop.
namespace {
template <class Be>
void softmax_xent(benchmark::State& state) {
  constexpr std::size_t B = 64, N = 10;
  const auto z = random_inputs(B * N, 5);
  std::vector<std::uint8_t> labels(B);
  for (std::size_t s = 0; s < B; ++s) labels[s] = static_cast<std::uint8_t>(s % N);
  std::vector<float> dz(B * N);
  for (auto _ : state) {
    benchmark::DoNotOptimize(detail::loss_value_and_gradient<CE, Be, N, B>(z.data(), labels.data(), dz.data()));
    benchmark::ClobberMemory();
  }
}
}  // namespace
BENCHMARK(softmax_xent<Simd>)->Name("loss/softmax_xent_b64x10/ctnn");
BENCHMARK(softmax_xent<Scalar>)->Name("loss/softmax_xent_b64x10/scalar");
