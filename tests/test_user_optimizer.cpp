// An optimizer written by a user as one rule (docs/training.md's SignSGD: no state, a sign
// in its rule) satisfies Optimizer and runs on every CPU executor: its update over odd
// sizes (the SIMD lanes and the scalar tail), Trainer, DataParallel's three paths, the
// pipeline. Also: every trainer is a LocalTrainer.
#include "executors_common.hpp"

using namespace executors;

namespace {
struct SignSGDOptions {
  float lr = 1e-3f;
};
struct SignSGD : optim::RuleOptimizer<SignSGD, SignSGDOptions, 0> {
  using RuleOptimizer::RuleOptimizer;
  struct Rule {
    float lr;
    template <class T>
    CTNN_HOST_DEVICE void operator()(T& p, T g, T&, T&) const noexcept {
      p -= T(lr) * math::sign(g);
    }
  };
  static Rule rule(const Options& o, std::size_t) noexcept { return {o.lr}; }
};
static_assert(Optimizer<SignSGD> && SignSGD::state_blocks == 0);
static_assert(Optimizer<optim::SGD> && Optimizer<optim::Adam> && Optimizer<optim::AdamW>);

using Mlp = Net<Input<20>, Dense<32>, Tanh, Dense<24>, ReLU, Dense<5>>;
static_assert(LocalTrainer<Trainer<Mlp, loss::SoftmaxCrossEntropy, SignSGD, Batch<B>>> &&
              LocalTrainer<DataParallel<Trainer<Mlp, loss::SoftmaxCrossEntropy, SignSGD, Batch<B>>>>);
}  // namespace

TEST(UserOptimizer, RuleOnOddSizesOnEveryLane) {
  for (std::size_t n : {1, 3, 17, 33, 100}) {
    SignSGD o({.lr = 0.5f});
    std::vector<float> p(n, 1.0f), g(n);
    for (std::size_t k = 0; k < n; ++k) g[k] = float(int(k % 3) - 1);  // -1, 0, 1, ...
    o.update(p, g, {});
    for (std::size_t k = 0; k < n; ++k) ASSERT_EQ(p[k], 1.0f - 0.5f * g[k]) << n << " " << k;
    EXPECT_EQ(o.steps(), 1u);
  }
}

TEST(UserOptimizer, EveryExecutor) {
  data_parallel_matches<Net<Input<20>, LayerNorm, Dense<32>, Tanh, Dense<5>>, SignSGD>({.lr = 1e-3f}, "chunked");
  data_parallel_matches<Net<Input<300>, Dense<40>, Tanh, Dense<10>>, SignSGD>({.lr = 1e-3f}, "row split");
  data_parallel_matches<Net<Input<7>, Dense<33>, Tanh, Dense<9>, ReLU, Dense<4>>, SignSGD>({.lr = 1e-3f}, "weight split");
  pipeline_matches<Mlp, SignSGD>({.lr = 1e-3f}, "pipeline");
}

// DataParallel's step in two halves (what mpi::Distributed calls) matches its whole step.
TEST(UserOptimizer, DataParallelInTwoHalvesMatchesItsStep) {
  const Batches d(Mlp::input_size, Mlp::output_size);
  auto whole = std::make_unique<Mlp>(), halves = std::make_unique<Mlp>();
  whole->init(3);
  halves->init(3);
  using DP = DataParallel<Trainer<Mlp, loss::SoftmaxCrossEntropy, optim::Adam, Batch<B>>, Threads<0>, Chunks<4>>;
  DP a(*whole, {.lr = 1e-2f}, 2), b(*halves, {.lr = 1e-2f}, 2);
  for (int s = 0; s < 10; ++s) {
    const float la = a.step(d.x[s % 4], d.t[s % 4]);
    const float lb = b.compute_gradients(d.x[s % 4], d.t[s % 4]);
    b.apply_gradients(lb);
    ASSERT_EQ(la, lb) << s;
  }
  EXPECT_LE(max_abs_diff(whole->params(), halves->params()), 1e-6);
  EXPECT_EQ(b.steps(), 10u);
  // A NaN gradient: apply_gradients refuses and changes nothing.
  auto x = d.x[0];
  x[7] = std::nanf("");
  const std::vector<float> before(halves->params().begin(), halves->params().end());
  const float loss = b.compute_gradients(x, d.t[0]);
  EXPECT_THROW(b.apply_gradients(loss), Error);
  EXPECT_EQ(max_abs_diff(halves->params(), before), 0.0);
  // A batch refused by compute_gradients (a label out of range) leaves the next step a
  // whole step: it updates the weights.
  auto bad = d.t[0];
  bad[2] = 99;
  EXPECT_THROW(b.compute_gradients(d.x[0], bad), Error);
  b.step(d.x[1], d.t[1]);
  EXPECT_GT(max_abs_diff(halves->params(), before), 0.0);
  EXPECT_EQ(b.steps(), 11u);
}
