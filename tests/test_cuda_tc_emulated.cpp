// The tensor-core kernel (fused_mlp_tc.cuh: forward, loss and backward in one kernel, FP16
// or BF16 operands, FP32 accumulation), compiled as C++ and run by the thread-block
// emulator (tests/cuda_emulator.hpp, with a stand-in for the WMMA calls), against two
// references:
//  - a scalar oracle that rounds exactly where the kernel rounds (inputs, weights, every
//    activation and every dz stored as the 16-bit type; products and sums in FP32):
//    |Δ| ≤ 1e-5·max(1, |y|) for outputs and ≤ 1e-4·max|g| for gradients, a bound on
//    summation order alone, so indexing, tiling, padding or a missed rounding shows;
//  - the FP32 CPU network and Trainer: the precision a user gets, within the bounds the
//    16-bit types allow (BF16 keeps 8 significant bits, FP16 11; see kTol below).
// tests/cuda/test_cuda_mlp.cu repeats the FP32-reference checks on a GPU.
#include <gtest/gtest.h>

#include <cmath>
#include <ctnn/ctnn.hpp>
#include <memory>
#include <vector>

#include "cuda_emulator.hpp"
#include "cuda_test_data.hpp"
#include "tc_oracle.hpp"

using namespace ctnn;
namespace k = ctnn::cuda::kernels;
namespace tc = ctnn::cuda::kernels::tc;

namespace {
using Mixed = Net<Input<33>, Dense<48>, Tanh, Dense<40>, ReLU, Dense<17>, Sigmoid, Dense<5>>;
using Deep = Net<Input<20>, Dense<16>, ReLU, Dense<16>, ReLU, Dense<16>, ReLU, Dense<3>>;
using W64 = Net<Input<64>, Dense<64>, ReLU, Dense<64>, ReLU, Dense<64>, ReLU, Dense<64>, ReLU, Dense<64>>;

using cuda_test_data::random_vector;

/// The kernels on the emulator: weight conversion, the fused step, the loss sum, the reduce.
template <class N, class T>
struct Emulated {
  using S = cuda::MlpSpec<N>;
  using Lay = tc::Layout<S, T>;
  std::vector<float> params = std::vector<float>(S::param_count);
  std::vector<T> w_low = std::vector<T>(Lay::w_elems);
  explicit Emulated(const N& net) {
    S::pack(net.params(), params);
    emu::launch(unsigned((Lay::w_elems + 255) / 256), 256, 0,
                [&] { tc::to_low_kernel<S, T>(params.data(), w_low.data()); });
  }
  std::vector<float> infer(const std::vector<float>& x, std::size_t n, unsigned blocks) {
    std::vector<float> y(n * S::output_size, std::nanf(""));
    emu::launch(blocks, Lay::block_threads, Lay::bytes, [&] {
      tc::step_kernel<S, T, tc::Mode::infer>(w_low.data(), params.data(), x.data(), int(n), nullptr, nullptr, y.data(),
                                             nullptr, nullptr, nullptr);
    });
    return y;
  }
  struct Result {
    float loss = 0;
    unsigned status = 0;
    std::vector<float> grad, y, partials;
  };
  template <class Tt>
  Result train(const std::vector<float>& x, const std::vector<Tt>& t, std::size_t n, unsigned blocks) {
    constexpr bool xent = std::is_integral_v<Tt>;
    Result r;
    r.y.assign(n * S::output_size, std::nanf(""));
    r.partials.assign(blocks * Lay::groups * S::param_count, std::nanf(""));
    r.grad.assign(S::param_count, std::nanf(""));
    std::vector<float> row_loss(n, std::nanf("")), scalars(2);
    emu::launch(blocks, Lay::block_threads, Lay::bytes, [&] {
      if constexpr (xent)
        tc::step_kernel<S, T, tc::Mode::xent>(w_low.data(), params.data(), x.data(), int(n), nullptr, t.data(),
                                              r.y.data(), row_loss.data(), r.partials.data(), &r.status);
      else
        tc::step_kernel<S, T, tc::Mode::mse>(w_low.data(), params.data(), x.data(), int(n), t.data(), nullptr,
                                             r.y.data(), row_loss.data(), r.partials.data(), &r.status);
    });
    const float scale = 1.0f / (float(n) * float(xent ? 1 : S::output_size));
    emu::launch(1, k::threads, 0, [&] { k::sum_kernel(row_loss.data(), int(n), scale, scalars.data(), &r.status); });
    emu::launch(unsigned((S::param_count + 255) / 256), 256, 0, [&] {
      k::reduce_kernel(r.partials.data(), int(blocks) * Lay::groups, S::param_count, r.grad.data(), &r.status,
                       1.0f / float(n));
    });
    r.loss = scalars[0];
    return r;
  }
};

double max_abs(const std::vector<float>& v) {
  double m = 0;
  for (float x : v) m = std::max(m, double(std::abs(x)));
  return m;
}

template <class N, class T, class Ls, std::size_t B>
void check(unsigned blocks, const char* what) {
  using S = cuda::MlpSpec<N>;
  SCOPED_TRACE(std::string(tc_oracle::Tol<T>::name) + ", " + what);
  auto net = std::make_unique<N>();
  net->init(4);
  const auto x = random_vector(B * N::input_size, 3 + B);
  const auto [labels, values] =
      cuda_test_data::make_targets(B, N::output_size, 5, 1, cuda_test_data::Wave::cosine, 0.3f);

  Emulated<N, T> e(*net);
  tc_oracle::Oracle<N, T> oracle(*net);
  // Inference: against the oracle tightly, against the FP32 network within kTol.
  const auto y = e.infer(x, B, blocks);
  double vs_oracle = 0, vs_fp32 = 0;
  for (std::size_t s = 0; s < B; ++s) {
    const auto o = oracle.forward(x.data() + s * N::input_size)[S::layers];
    const auto ref = net->template forward<backend::scalar>(
        std::span<const float, N::input_size>(x.data() + s * N::input_size, N::input_size));
    for (std::size_t j = 0; j < N::output_size; ++j) {
      const double g = y[s * N::output_size + j];
      ASSERT_FALSE(std::isnan(g)) << "output " << s << "," << j << " not written";
      vs_oracle = std::max(vs_oracle, std::abs(g - o[j]) / std::max(1.0, std::abs(double(o[j]))));
      vs_fp32 = std::max(vs_fp32, std::abs(g - ref[j]) / std::max(1.0, std::abs(double(ref[j]))));
    }
  }
  EXPECT_LE(vs_oracle, 1e-5);
  EXPECT_LE(vs_fp32, tc_oracle::Tol<T>::bound(cuda::MlpSpec<N>::layers));

  // Training: loss and gradient against the oracle and against the FP32 Trainer.
  Trainer<N, Ls, optim::SGD, Batch<B>, backend::scalar> cpu(*net, {.lr = 0.0f});
  typename Emulated<N, T>::Result r;
  std::vector<float> og;
  float cpu_loss, oracle_loss;
  if constexpr (std::is_same_v<Ls, loss::SoftmaxCrossEntropy>) {
    cpu_loss = cpu.compute_gradients(x, labels);
    oracle_loss = oracle.gradients(x, labels, B, og);
    r = e.train(x, labels, B, blocks);
  } else {
    cpu_loss = cpu.compute_gradients(x, values);
    oracle_loss = oracle.gradients(x, values, B, og);
    r = e.train(x, values, B, blocks);
  }
  EXPECT_EQ(r.status, 0u);
  EXPECT_NEAR(r.loss, oracle_loss, 1e-5 * (1 + std::abs(oracle_loss)));
  EXPECT_NEAR(r.loss, cpu_loss, tc_oracle::Tol<T>::bound(cuda::MlpSpec<N>::layers) * (1 + std::abs(cpu_loss)));
  std::vector<float> cpu_g(S::param_count);
  S::pack(cpu.gradient_block(), cpu_g);
  const double gmax = max_abs(cpu_g);
  double g_oracle = 0, g_fp32 = 0;
  for (std::size_t i = 0; i < S::param_count; ++i) {
    g_oracle = std::max(g_oracle, std::abs(double(r.grad[i]) - og[i]));
    g_fp32 = std::max(g_fp32, std::abs(double(r.grad[i]) - cpu_g[i]));
  }
  EXPECT_GT(gmax, 1e-3);
  EXPECT_LE(g_oracle, 1e-4 * max_abs(og));
  EXPECT_LE(g_fp32, tc_oracle::Tol<T>::bound(cuda::MlpSpec<N>::layers) * gmax);
  // Padded weights and biases get exactly zero gradient.
  for (std::size_t l = 0; l < S::layers; ++l)
    for (std::size_t i = 0; i < S::padded[l]; ++i)
      for (std::size_t j = 0; j < S::padded[l + 1]; ++j)
        if (i >= S::width[l] || j >= S::width[l + 1]) {
          ASSERT_EQ(r.grad[S::w_offset[l] + i * S::padded[l + 1] + j], 0.0f) << "layer " << l << " w " << i << "," << j;
        }
  std::printf("%s %s: outputs vs oracle %.2e, vs FP32 %.2e; gradients vs oracle %.2e, vs FP32 %.2e (of max %.2e)\n",
              tc_oracle::Tol<T>::name, what, vs_oracle, vs_fp32, g_oracle, g_fp32, gmax);
}
}  // namespace

TEST(CudaTensorCoreEmulated, SixteenBitConversionsRoundToNearestEven) {
  EXPECT_EQ(k::from_float<k::half_t>(1.0f).bits, 0x3c00);
  EXPECT_EQ(k::from_float<k::half_t>(-2.0f).bits, 0xc000);
  EXPECT_EQ(k::from_float<k::half_t>(65504.0f).bits, 0x7bff);
  EXPECT_EQ(k::from_float<k::half_t>(65520.0f).bits, 0x7c00);  // rounds past the largest half
  EXPECT_EQ(k::from_float<k::half_t>(1.0f / 3.0f).bits, 0x3555);
  EXPECT_EQ(k::from_float<k::half_t>(std::ldexp(1.0f, -24)).bits, 0x0001);
  EXPECT_EQ(k::from_float<k::half_t>(1.0f + std::ldexp(1.0f, -11)).bits, 0x3c00);  // tie to even
  EXPECT_EQ(k::to_float(k::half_t{0x0001}), std::ldexp(1.0f, -24));
  EXPECT_TRUE(std::isnan(k::to_float(k::from_float<k::half_t>(std::nanf("")))));
  EXPECT_EQ(k::from_float<k::bf16_t>(1.0f).bits, 0x3f80);
  EXPECT_EQ(k::from_float<k::bf16_t>(1.0f / 3.0f).bits, 0x3eab);
  EXPECT_EQ(k::from_float<k::bf16_t>(1.0f + std::ldexp(1.0f, -8)).bits, 0x3f80);  // tie to even
  EXPECT_TRUE(std::isnan(k::to_float(k::from_float<k::bf16_t>(std::nanf("")))));
  for (float v : {0.1f, -3.75f, 1e-3f, 1234.5f}) {
    EXPECT_NEAR(k::to_float(k::from_float<k::bf16_t>(v)), v, std::abs(v) * 0x1p-8f);  // unit roundoff 2^-8
    EXPECT_NEAR(k::to_float(k::from_float<k::half_t>(v)), v, std::abs(v) * 0x1p-11f);  // 2^-11
  }
}

TEST(CudaTensorCoreEmulated, MatchesOracleAndFp32Cpu) {
  check<Mixed, k::bf16_t, loss::SoftmaxCrossEntropy, 7>(1, "mixed, CE, batch 7");
  check<Mixed, k::bf16_t, loss::SoftmaxCrossEntropy, 130>(2, "mixed, CE, batch 130, 3 tiles on 2 blocks");
  check<Mixed, k::half_t, loss::MSE, 64>(1, "mixed, MSE, batch 64");
  check<Deep, k::half_t, loss::MSE, 200>(3, "deep, MSE, batch 200, 4 tiles on 3 blocks");
  check<Deep, k::bf16_t, loss::SoftmaxCrossEntropy, 1>(1, "deep, CE, batch 1");
  check<W64, k::bf16_t, loss::MSE, 200>(1, "64 wide, MSE, batch 200, 4 tiles on 1 block of 2 groups");
}

// A label out of range raises its flag; NaN in an input poisons the loss and the gradient.
TEST(CudaTensorCoreEmulated, BadLabelAndNaNRaiseTheFlags) {
  auto net = std::make_unique<Deep>();
  net->init(2);
  auto x = random_vector(10 * Deep::input_size, 5);
  std::vector<std::int32_t> t(10, 1);
  Emulated<Deep, k::bf16_t> e(*net);
  t[4] = 3;  // 3 classes
  EXPECT_TRUE(e.train(x, t, 10, 1).status & k::bad_label);
  t[4] = 2;
  EXPECT_EQ(e.train(x, t, 10, 1).status, 0u);
  x[17] = std::nanf("");
  const auto r = e.train(x, t, 10, 1);
  EXPECT_TRUE(r.status & k::bad_loss);
  EXPECT_TRUE(r.status & k::bad_gradient);
}

// The layout's group count: the most warps per multiprocessor within its shared memory.
TEST(CudaTensorCoreEmulated, GroupsFillTheMultiprocessor) {
  using L64 = tc::Layout<cuda::MlpSpec<W64>, k::bf16_t>;
  static_assert(L64::fits);
  EXPECT_EQ(L64::groups, 2);  // one group takes 117 KiB: two share the weights in 188 KiB
  EXPECT_LE(L64::bytes, tc::smem_limit);
  EXPECT_EQ(L64::block_threads, 256);
  using LDeep = tc::Layout<cuda::MlpSpec<Deep>, k::half_t>;
  EXPECT_EQ(LDeep::groups, 1);  // small: four blocks of one group already fill the registers
  using Wide = Net<Input<784>, Dense<256>, ReLU, Dense<128>, ReLU, Dense<10>>;
  static_assert(!tc::Layout<cuda::MlpSpec<Wide>, k::bf16_t>::fits);
}
