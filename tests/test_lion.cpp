// Lion, an optimizer added in one file: its rule by hand, and training by DataParallel's
// three paths and the pipeline as by Trainer; a NaN step is refused. (Its rule in the CUDA
// update kernel: test_cuda_emulated; over MPI: test_mpi; a quadratic: test_optimizers.)
#include "executors_common.hpp"

using namespace executors;

// Lion's rule by hand on three parameters over three steps: every update is ±lr (plus decay).
TEST(Lion, RuleByHand) {
  optim::Lion lion({.lr = 0.1f, .beta1 = 0.9f, .beta2 = 0.99f, .weight_decay = 0.5f});
  std::vector<float> p{1.0f, -2.0f, 3.0f}, state(3, 0.0f);
  const std::vector<float> g{0.5f, 0.0f, -1.0f};
  double m[3] = {0, 0, 0}, q[3] = {1.0, -2.0, 3.0};
  for (int step = 0; step < 3; ++step) {
    lion.update(p, g, state);
    for (int k = 0; k < 3; ++k) {
      const double u = 0.9 * m[k] + 0.1 * g[k];
      q[k] -= 0.1 * ((u > 0) - (u < 0) + 0.5 * q[k]);
      m[k] = 0.99 * m[k] + 0.01 * g[k];
      EXPECT_NEAR(p[k], q[k], 1e-6) << "step " << step << " k " << k;
      EXPECT_NEAR(state[k], m[k], 1e-7);
    }
  }
  EXPECT_EQ(lion.steps(), 3u);
  static_assert(Optimizer<optim::Lion> && optim::Lion::state_blocks == 1);
}

// Lion's sign makes every step exactly ±lr, so the executors agree with Trainer to a few
// roundings of the weights (20 steps of 1e-3).
TEST(Lion, EveryExecutor) {
  const optim::LionOptions lion{.lr = 1e-3f, .weight_decay = 0.1f};
  data_parallel_matches<Net<Input<20>, LayerNorm, Dense<32>, Tanh, Dense<24>, ReLU, Dense<5>>, optim::Lion>(lion, "chunked");
  data_parallel_matches<Net<Input<300>, Dense<40>, ReLU, Dense<10>>, optim::Lion>(lion, "row split");
  data_parallel_matches<Net<Input<7>, Dense<33>, Tanh, Dense<9>, ReLU, Dense<4>>, optim::Lion>(lion, "weight split");
  pipeline_matches<Net<Input<20>, Dense<32>, Tanh, Dense<24>, ReLU, Dense<16>, Tanh, Dense<5>>, optim::Lion>(lion,
                                                                                                          "pipeline");
}

// A NaN gradient stops Lion's step like any other optimizer's (its sign would turn NaN into
// a zero update and hide it).
TEST(Lion, RefusesANaNStep) {
  using Mlp = Net<Input<20>, Dense<32>, Tanh, Dense<5>>;
  auto net = std::make_unique<Mlp>();
  net->init(3);
  Trainer<Mlp, loss::SoftmaxCrossEntropy, optim::Lion, Batch<B>> tr(*net);
  const Batches d(Mlp::input_size, Mlp::output_size);
  auto x = d.x[0];
  x[5] = std::nanf("");
  const std::vector<float> before(net->params().begin(), net->params().end());
  EXPECT_THROW(tr.step(x, d.t[0]), Error);
  EXPECT_EQ(max_abs_diff(net->params(), before), 0.0);
}
