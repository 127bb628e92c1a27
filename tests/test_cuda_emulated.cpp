// The CUDA kernels themselves (fused_mlp.cuh), compiled as C++ and run by the thread-block
// emulator (tests/cuda_emulator.hpp), against the scalar CPU reference: forward outputs and
// saved activations, the loss, every gradient through the persistent backward kernel with
// several tiles per block, the optimizer kernels, and the NaN flags. This checks the
// kernels' indexing, tiling, padding and reductions where no GPU is; tests/cuda/ repeats
// it on a GPU. Tolerances: |Δ| ≤ 1e-5·max(1, |y|) forward, ≤ 1e-5·max|g| gradients.
#include <gtest/gtest.h>

#include <cmath>
#include <ctnn/ctnn.hpp>
#include <memory>
#include <vector>

#include "cuda_emulator.hpp"
#include "cuda_test_data.hpp"

using namespace ctnn;
namespace k = ctnn::cuda::kernels;

namespace {
using Mixed = Net<Input<33>, Dense<48>, Tanh, Dense<40>, ReLU, Dense<17>, Sigmoid, Dense<5>>;
using Deep = Net<Input<20>, Dense<16>, ReLU, Dense<16>, ReLU, Dense<16>, ReLU, Dense<3>>;
using WithInput = Net<Input<21>, Dense<40>, GELU, Dense<17>, LeakyReLUSlope<-1, 2>, Dense<6>, GELU>;
using WithSiLU = Net<Input<21>, Dense<40>, SiLU, Dense<17>, GELU, Dense<6>, SiLU>;

using cuda_test_data::random_vector;

template <class N>
struct Emulated {
  using S = cuda::MlpSpec<N>;
  static constexpr int out_pad = int(S::padded[S::layers]), out = int(S::output_size);
  std::size_t n;
  std::vector<float> params = std::vector<float>(S::param_count), y, saved, dy, row_loss, partials, grad;
  std::vector<float> scalars = std::vector<float>(2);
  unsigned status = 0;
  unsigned blocks;

  Emulated(const N& net, std::size_t batch, unsigned backward_blocks)
      : n(batch), y(batch * out, std::nanf("")), saved(batch * S::saved_per_sample, std::nanf("")),
        dy(batch * out_pad), row_loss(batch), partials(backward_blocks * S::param_count, std::nanf("")),
        grad(S::param_count), blocks(backward_blocks) {
    S::pack(net.params(), params);
  }
  void forward(const std::vector<float>& x) {
    const unsigned tiles = unsigned((n + k::tile_rows - 1) / k::tile_rows);
    emu::launch(tiles, k::threads, k::Smem<S>::bytes,
                [&] { k::forward_kernel<S, true>(params.data(), x.data(), int(n), y.data(), saved.data()); });
  }
  template <class Tt>
  void loss_and_backward(const std::vector<float>& x, const std::vector<Tt>& t) {
    const unsigned g = unsigned((n + 255) / 256);
    if constexpr (std::is_integral_v<Tt>)
      emu::launch(g, 256, 0, [&] {
        k::softmax_xent_kernel<out, out_pad>(y.data(), t.data(), int(n), row_loss.data(), dy.data(), &status);
      });
    else
      emu::launch(g, 256, 0, [&] { k::mse_kernel<out, out_pad>(y.data(), t.data(), int(n), row_loss.data(), dy.data(), &status); });
    const float scale = 1.0f / (float(n) * float(std::is_integral_v<Tt> ? 1 : out));
    emu::launch(1, k::threads, 0, [&] { k::sum_kernel(row_loss.data(), int(n), scale, scalars.data(), &status); });
    emu::launch(blocks, k::threads, k::Smem<S>::bytes, [&] {
      k::backward_kernel<S>(params.data(), x.data(), int(n), saved.data(), dy.data(), partials.data());
    });
    emu::launch(unsigned((S::param_count + 255) / 256), 256, 0,
                [&] { k::reduce_kernel(partials.data(), int(blocks), S::param_count, grad.data(), &status); });
  }
};

template <class N, class L, std::size_t B>
void compare_with_cpu(unsigned blocks, const char* name) {
  using S = cuda::MlpSpec<N>;
  auto net = std::make_unique<N>();
  net->init(4);
  const auto x = random_vector(B * N::input_size, 3 + B);
  const auto [labels, values] =
      cuda_test_data::make_targets(B, N::output_size, 5, 1, cuda_test_data::Wave::cosine, 0.3f);

  Emulated<N> e(*net, B, blocks);
  e.forward(x);
  // Outputs against the CPU, sample by sample.
  double worst = 0;
  for (std::size_t s = 0; s < B; ++s) {
    const auto ref = net->template forward<backend::scalar>(
        std::span<const float, N::input_size>(x.data() + s * N::input_size, N::input_size));
    for (std::size_t j = 0; j < N::output_size; ++j)
      worst = std::max(worst, std::abs(double(e.y[s * N::output_size + j]) - ref[j]) / std::max(1.0, std::abs(double(ref[j]))));
  }
  EXPECT_LE(worst, 1e-5) << name;
  // Saved activations (and pre-activations where the derivative needs them): every value
  // written; padded units exactly 0.
  for (std::size_t l = 1; l <= S::layers; ++l)
    for (std::size_t part = 0; part < (S::needs_input[l - 1] ? 2u : 1u); ++part) {
      const std::size_t off = S::saved_offset[l - 1] + part * S::padded[l];
      for (std::size_t s = 0; s < B; ++s)
        for (std::size_t j = 0; j < S::padded[l]; ++j) {
          const float v = e.saved[B * off + s * S::padded[l] + j];
          ASSERT_FALSE(std::isnan(v)) << name << ": layer " << l << " not saved (part " << part << ")";
          if (j >= S::width[l]) {
            ASSERT_EQ(v, 0.0f) << name << ": padded unit of layer " << l << " (part " << part << ")";
          }
        }
    }

  Trainer<N, L, optim::SGD, Batch<B>, backend::scalar> ref(*net, {.lr = 0.0f});
  float cpu_loss;
  if constexpr (std::is_same_v<L, loss::SoftmaxCrossEntropy>) {
    cpu_loss = ref.compute_gradients(x, labels);
    e.loss_and_backward(x, labels);
  } else {
    cpu_loss = ref.compute_gradients(x, values);
    e.loss_and_backward(x, values);
  }
  EXPECT_EQ(e.status, 0u) << name;
  EXPECT_NEAR(e.scalars[0], cpu_loss, 1e-5 * (1 + std::abs(cpu_loss))) << name;
  std::vector<float> cpu_g(S::param_count);
  S::pack(ref.gradient_block(), cpu_g);
  double gmax = 0, gworst = 0;
  for (float v : cpu_g) gmax = std::max(gmax, double(std::abs(v)));
  for (std::size_t i = 0; i < cpu_g.size(); ++i) gworst = std::max(gworst, std::abs(double(e.grad[i]) - cpu_g[i]));
  EXPECT_GT(gmax, 1e-4) << name;
  EXPECT_LE(gworst, 1e-5 * gmax) << name << ", " << blocks << " backward blocks";
}
}  // namespace

TEST(CudaKernelsEmulated, ForwardAndGradientsMatchCpu) {
  compare_with_cpu<Mixed, loss::SoftmaxCrossEntropy, 7>(1, "mixed, CE, batch 7");
  compare_with_cpu<Mixed, loss::SoftmaxCrossEntropy, 130>(2, "mixed, CE, batch 130, 3 tiles on 2 blocks");
  compare_with_cpu<Mixed, loss::MSE, 64>(1, "mixed, MSE, batch 64");
  compare_with_cpu<Deep, loss::MSE, 200>(3, "deep, MSE, batch 200, 4 tiles on 3 blocks");
  compare_with_cpu<Deep, loss::SoftmaxCrossEntropy, 1>(1, "deep, CE, batch 1");
  // Activations whose derivative needs the pre-activation, saved beside the output.
  compare_with_cpu<WithInput, loss::SoftmaxCrossEntropy, 70>(2, "GELU and a negative slope, CE, batch 70");
  compare_with_cpu<WithInput, loss::MSE, 5>(1, "GELU and a negative slope, MSE, batch 5");
  compare_with_cpu<WithSiLU, loss::SoftmaxCrossEntropy, 70>(2, "SiLU and GELU, CE, batch 70");
  compare_with_cpu<WithSiLU, loss::MSE, 5>(1, "SiLU and GELU, MSE, batch 5");
}

// The update kernel applies each optimizer's own rule, as the CPU does (three steps from the
// same state), and does nothing at all once a flag is set.
template <class O>
void update_kernel_matches_cpu(typename O::Options opts, const char* name) {
  constexpr std::size_t n = 300;
  const auto g = random_vector(n, 8);
  std::vector<float> cpu = random_vector(n, 9), gpu = cpu, state(2 * n, 0.0f), gstate(2 * n, 0.0f);
  O on_cpu(opts), on_gpu(opts);
  unsigned status = 0;
  for (int step = 0; step < 3; ++step) {
    on_cpu.update(cpu, g, std::span<float>(state).first(O::state_blocks * n));
    const auto rule = on_gpu.step_rule();
    emu::launch(2, 256, 0, [&] {
      k::update_kernel(rule.rule, rule.states, gpu.data(), g.data(), gstate.data(), gstate.data() + n, n, &status);
    });
  }
  for (std::size_t i = 0; i < n; ++i) ASSERT_NEAR(gpu[i], cpu[i], 1e-6f * (1 + std::abs(cpu[i]))) << name << " " << i;
  for (std::size_t i = 0; i < O::state_blocks * n; ++i) ASSERT_NEAR(gstate[i], state[i], 1e-6f * (1 + std::abs(state[i]))) << name;
  EXPECT_NE(gpu, random_vector(n, 9)) << name << ": the steps changed nothing";
  status = k::bad_gradient;
  const auto before = gpu;
  const auto rule = on_gpu.step_rule();
  emu::launch(2, 256, 0, [&] {
    k::update_kernel(rule.rule, rule.states, gpu.data(), g.data(), gstate.data(), gstate.data() + n, n, &status);
  });
  EXPECT_EQ(gpu, before) << name;
}

TEST(CudaKernelsEmulated, OptimizerKernelsMatchCpuAndRespectTheFlag) {
  update_kernel_matches_cpu<optim::SGD>({.lr = 0.1f, .momentum = 0.9f, .nesterov = true, .weight_decay = 1e-3f},
                                        "sgd nesterov");
  update_kernel_matches_cpu<optim::SGD>({.lr = 0.1f}, "plain sgd");
  update_kernel_matches_cpu<optim::Adam>({.lr = 1e-2f, .weight_decay = 1e-3f}, "adam");
  update_kernel_matches_cpu<optim::AdamW>({.lr = 1e-2f}, "adamw");
  update_kernel_matches_cpu<optim::Lion>({.lr = 1e-2f, .weight_decay = 0.1f}, "lion");
}

// NaN in an input poisons the loss and the gradient sum; both flags are raised.
TEST(CudaKernelsEmulated, NaNRaisesTheFlags) {
  auto net = std::make_unique<Deep>();
  net->init(2);
  auto x = random_vector(10 * Deep::input_size, 5);
  x[17] = std::nanf("");
  std::vector<std::int32_t> t(10, 1);
  Emulated<Deep> e(*net, 10, 1);
  e.forward(x);
  e.loss_and_backward(x, t);
  EXPECT_TRUE(e.status & k::bad_loss);
  EXPECT_TRUE(e.status & k::bad_gradient);
  t[4] = 3;  // 3 classes: out of range
  Emulated<Deep> f(*net, 10, 1);
  x[17] = 0.5f;
  f.forward(x);
  f.loss_and_backward(x, t);
  EXPECT_TRUE(f.status & k::bad_label);
}
