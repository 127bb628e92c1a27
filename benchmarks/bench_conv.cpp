// Convolution kernels alone, to choose (and keep checking) the algorithm: ctnn's implicit
// GEMM (window rows read in place from the padded input) against an explicit im2col copy
// followed by the same GEMM micro-kernel, on the two LeNet layers at batch 1 and 64.
#include <vector>

#include "bench_common.hpp"

using namespace bench;

namespace {
using Conv1 = kernel::Window<1, 28, 28, 5, 5, 1, 1, 2, 2>;   // Conv2D<16, 5, 1, 2> on 1x28x28
using Conv2 = kernel::Window<16, 14, 14, 5, 5, 1, 1, 0, 0>;  // Conv2D<32, 5> on 16x14x14

template <class G, std::size_t Cout, std::size_t B>
void implicit_gemm(benchmark::State& state) {
  const auto W = random_inputs(G::patch * Cout, 1), b = random_inputs(Cout, 2), x = random_inputs(B * G::in_size, 3);
  std::vector<float> y(B * G::pixels * Cout), scratch(kernel::conv_scratch_floats<G, Cout, B, false> + 1);
  for (auto _ : state) {
    kernel::conv_act_forward<G, Cout, B, ReLU>(backend::native{}, W.data(), b.data(), x.data(), y.data(), nullptr,
                                               scratch.data());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  flops(state, double(B * G::pixels * Cout * (2 * G::patch + 1)));
}

template <class G, std::size_t Cout, std::size_t B>
void im2col_gemm(benchmark::State& state) {
  const auto W = random_inputs(G::patch * Cout, 1), b = random_inputs(Cout, 2), x = random_inputs(B * G::in_size, 3);
  std::vector<float> y(B * G::pixels * Cout), padded(B * G::padded_size), cols(B * G::pixels * G::patch);
  for (auto _ : state) {
    kernel::simd::pad_input<G, B>(x.data(), padded.data());
    float* c = cols.data();
    for (std::size_t m = 0; m < B * G::pixels; ++m) {
      const float* corner = padded.data() + kernel::simd::window_corner<G>(m);
      for (std::size_t kh = 0; kh < G::KH; ++kh, c += G::KW * G::C)
        std::copy_n(corner + kh * G::Wp * G::C, G::KW * G::C, c);
    }
    kernel::dense_act_forward<G::patch, Cout, B * G::pixels, ReLU>(backend::native{}, W.data(), b.data(), cols.data(),
                                                                   y.data(), nullptr);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  flops(state, double(B * G::pixels * Cout * (2 * G::patch + 1)));
}
}  // namespace

BENCHMARK(implicit_gemm<Conv1, 16, 1>)->Name("conv/lenet1_forward_b1/ctnn");
BENCHMARK(im2col_gemm<Conv1, 16, 1>)->Name("conv/lenet1_forward_b1/im2col");
BENCHMARK(implicit_gemm<Conv2, 32, 1>)->Name("conv/lenet2_forward_b1/ctnn");
BENCHMARK(im2col_gemm<Conv2, 32, 1>)->Name("conv/lenet2_forward_b1/im2col");
BENCHMARK(implicit_gemm<Conv1, 16, 64>)->Name("conv/lenet1_forward_b64/ctnn");
BENCHMARK(im2col_gemm<Conv1, 16, 64>)->Name("conv/lenet1_forward_b64/im2col");
BENCHMARK(implicit_gemm<Conv2, 32, 64>)->Name("conv/lenet2_forward_b64/ctnn");
BENCHMARK(im2col_gemm<Conv2, 32, 64>)->Name("conv/lenet2_forward_b64/im2col");
