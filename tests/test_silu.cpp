// SiLU, a built-in activation added in one file: its values and derivative, fused on SIMD
// against the scalar backend (forward and one step's gradients), known to the cost model,
// and trained by DataParallel's three paths and the pipeline as by Trainer. (The CUDA
// kernels: test_cuda_emulated; the SIMD epilogue on odd shapes: test_simd; finite
// differences through networks: test_gradcheck.)
#include "executors_common.hpp"

using namespace executors;

TEST(SiLU, ValuesAndDerivativeAgainstFiniteDifferences) {
  EXPECT_NEAR(SiLU::value(1.0), 0.7310585786300049, 1e-15);    // 1·σ(1)
  EXPECT_NEAR(SiLU::value(-2.0), -0.2384058440442351, 1e-15);  // -2·σ(-2)
  EXPECT_EQ(SiLU::value(0.0), 0.0);
  EXPECT_NEAR(SiLU::value(-100.0f), 0.0f, 1e-30f);  // no overflow in the tail
  EXPECT_EQ(SiLU::value(100.0f), 100.0f);
  EXPECT_TRUE(std::isnan(SiLU::value(std::nanf(""))));
  for (double x : {-7.5, -2.0, -0.3, 0.0, 0.4, 1.0, 3.0, 9.0}) {
    const double h = 1e-6, fd = (SiLU::value(x + h) - SiLU::value(x - h)) / (2 * h);
    EXPECT_NEAR(SiLU::derivative(x, SiLU::value(x)), fd, 1e-8 * (1 + std::abs(x))) << x;  // roundoff ε·|x|/h
  }
  static_assert(FusableActivation<SiLU> && SiLU::needs_input);
}

TEST(SiLU, FusesOnSimdAndMatchesTheScalarBackend) {
  using N = Net<Input<17>, Dense<33>, SiLU, Dense<31>, SiLU, Dense<5>>;
  static_assert(FusionPlan<N>::count == 3 && FusionPlan<N>::length[0] == 2 && FusionPlan<N>::length[1] == 2);
  static_assert(kernel::simd::vector_activation<SiLU>::supported && kernel::simd::vector_activation<SiLU>::needs_input);
  constexpr std::size_t Bf = 7;
  auto net = std::make_unique<N>();
  net->init(3);
  const auto x = random(Bf * N::input_size, 4);
  auto ws = std::make_unique<Workspace<N, Batch<Bf>>>();
  std::vector<float> ys(Bf * N::output_size), yv(Bf * N::output_size);
  net->template forward<Bf, backend::scalar>(*ws, std::span<const float, Bf * N::input_size>(x.data(), x.size()),
                                             std::span<float, Bf * N::output_size>(ys.data(), ys.size()));
  net->template forward<Bf, backend::native>(*ws, std::span<const float, Bf * N::input_size>(x.data(), x.size()),
                                             std::span<float, Bf * N::output_size>(yv.data(), yv.size()));
  EXPECT_GT(max_abs_diff(ys, std::vector<float>(ys.size(), 0.0f)), 1e-2);
  EXPECT_LE(max_abs_diff(yv, ys), 1e-5);
  // One training step's gradients, SIMD against scalar.
  std::vector<int> labels(Bf);
  for (std::size_t s = 0; s < Bf; ++s) labels[s] = int(s % N::output_size);
  auto a = std::make_unique<N>(), b = std::make_unique<N>();
  a->init(8);
  *b = *a;
  Trainer<N, loss::SoftmaxCrossEntropy, optim::SGD, Batch<Bf>, backend::scalar> scalar(*a);
  Trainer<N, loss::SoftmaxCrossEntropy, optim::SGD, Batch<Bf>, backend::native> simd(*b);
  scalar.step(x, labels);
  simd.step(x, labels);
  double gmax = 0;
  for (float g : scalar.gradients()) gmax = std::max(gmax, double(std::abs(g)));
  ASSERT_GT(gmax, 1e-3);
  EXPECT_LE(max_abs_diff(simd.gradients(), scalar.gradients()), 1e-5 * gmax);
}

TEST(SiLU, KnownToTheCostModel) {
  using N = Net<Input<10>, Dense<20>, SiLU, Dense<3>>;
  constexpr auto c = network_costs<N, 4>();
  EXPECT_EQ(c[1].forward_flops, 4u * 20 * 4);  // 4 FLOPs per element, 20 elements, micro-batch 4
  EXPECT_EQ(c[1].backward_flops, c[1].forward_flops);
  EXPECT_EQ(N::flops_forward, (Net<Input<10>, Dense<20>, Dense<3>>::flops_forward) + 4 * 20);
}

TEST(SiLU, EveryExecutor) {
  const optim::SGDOptions sgd{.lr = 0.05f, .momentum = 0.9f};
  data_parallel_matches<Net<Input<20>, LayerNorm, Dense<32>, SiLU, Dense<24>, Tanh, Dense<5>>, optim::SGD>(sgd, "chunked");
  data_parallel_matches<Net<Input<300>, Dense<40>, SiLU, Dense<10>>, optim::SGD>(sgd, "row split");
  data_parallel_matches<Net<Input<7>, Dense<33>, SiLU, Dense<9>, SiLU, Dense<4>>, optim::SGD>(sgd, "weight split");
  pipeline_matches<Net<Input<20>, Dense<32>, SiLU, Dense<24>, SiLU, Dense<16>, Tanh, Dense<5>>, optim::SGD>(sgd, "pipeline");
}
