// Data-parallel training over threads: bit-identical weights for every thread count
// (uneven shares included), agreement with the single-threaded Trainer on the whole batch,
// the run-time thread count and dropout masks independent of the thread count.
// (Bad input, overflow and step_rows: test_data_parallel_errors.cpp.)
#include <string_view>

#include "data_parallel_common.hpp"

TEST(DataParallelThreads, BitIdenticalForEveryThreadCount) {
  const Data d(B);
  const optim::Adam::Options adam{.lr = 1e-2f};
  const auto one = run<AdamTrainer, Chunks<6>>(1, 30, d, adam);
  for (std::size_t n : {2, 3, 4, 5, 6}) {  // 4 and 5 threads share 6 chunks unevenly
    const auto many = run<AdamTrainer, Chunks<6>>(n, 30, d, adam);
    ASSERT_EQ(many, one) << n << " threads";
  }
}

TEST(DataParallelThreads, MatchesSingleThreadedTrainerOnTheWholeBatch) {
  const Data d(B);
  const optim::SGDOptions sgd{.lr = 0.05f, .momentum = 0.9f};
  for (std::size_t n : {1, 2, 4}) {
    auto seq = std::make_unique<Mlp>();
    seq->init(3);
    SgdTrainer ref(*seq, sgd);
    for (int s = 0; s < 50; ++s) ref.step(d.x[s % 4], d.t[s % 4]);
    const auto dp = run<SgdTrainer, Chunks<4>>(n, 50, d, sgd);
    double diff = 0, moved = 0;
    Mlp init;
    init.init(3);
    for (std::size_t k = 0; k < Mlp::param_count; ++k) {
      diff = std::max(diff, double(std::abs(dp[k] - seq->params()[k])));
      moved = std::max(moved, double(std::abs(seq->params()[k] - init.params()[k])));
    }
    EXPECT_LE(diff, 1e-5) << n << " threads";
    EXPECT_GT(moved, 1e-2);
  }
}

// Wide first layers: their weight gradient is computed by row groups over the whole batch
// (300 inputs: groups of 78/72/78/72 rows, each 24-row panels and a 6-row tail; an odd width:
// 0/192/0/8 rows, the boundaries on 64-float weight rows; 7 inputs: one short group).
// Threads 1..4 must agree bit for bit, and the gradient and weights must match Trainer's.
template <class N>
void wide_first_layer_case(const char* name, std::string_view strategy) {
  using T = Trainer<N, loss::SoftmaxCrossEntropy, optim::Adam, Batch<B>>;
  EXPECT_EQ(std::string_view(DataParallel<T, Threads<0>, Chunks<4>>::strategy()), strategy) << name;
  const Data d(B, N::input_size, int(N::output_size));
  const optim::Adam::Options adam{.lr = 1e-2f};
  auto train = [&](std::size_t threads, std::vector<float>* grads) {
    auto net = std::make_unique<N>();
    net->init(8);
    DataParallel<T, Threads<0>, Chunks<4>> dp(*net, adam, threads, 5);
    dp.keep_gradients(grads != nullptr);
    for (int s = 0; s < 20; ++s) dp.step(d.x[s % 4], d.t[s % 4]);
    EXPECT_EQ(dp.deferred_steps(), 0u) << name;  // every panel applied as computed
    if (grads) grads->assign(dp.gradients().begin(), dp.gradients().end());
    return std::vector<float>(net->params().begin(), net->params().end());
  };
  std::vector<float> g1;
  const auto one = train(1, &g1);
  for (std::size_t n : {2, 3, 4}) ASSERT_EQ(train(n, nullptr), one) << name << ", " << n << " threads";

  auto net = std::make_unique<N>();
  net->init(8);
  T ref(*net, adam, 5);
  for (int s = 0; s < 20; ++s) ref.step(d.x[s % 4], d.t[s % 4]);
  double gd = 0, gm = 0, wd = 0;
  for (std::size_t k = 0; k < N::param_count; ++k) {
    gd = std::max(gd, double(std::abs(g1[k] - ref.gradients()[k])));
    gm = std::max(gm, double(std::abs(ref.gradients()[k])));
    wd = std::max(wd, double(std::abs(one[k] - net->params()[k])));
  }
  EXPECT_GT(gm, 1e-3) << name;
  EXPECT_LE(gd, 1e-5 * gm) << name;
  EXPECT_LE(wd, 1e-4) << name;  // 20 Adam steps of 1e-2 each
}

TEST(DataParallelThreads, WideFirstLayerSplitByRowPanels) {
  wide_first_layer_case<Net<Input<300>, Dense<40>, ReLU, Dense<10>>>("300x40", "first-layer rows");
  wide_first_layer_case<Net<Input<200>, Dense<33>, Tanh, Dense<17>, Sigmoid, Dense<3>>>("200x33", "weights");
  wide_first_layer_case<Net<Input<7>, Dense<17>, GELU, Dense<5>>>("7x17", "first-layer rows");
  wide_first_layer_case<Net<Input<50>, Dense<6>>>("50x6, one node", "first-layer rows");
  // Runs of Dense nodes split by the weights of the first two (33 hidden rows in groups of
  // 16/0/16/1), activations whose derivative needs the pre-activation, and one after the
  // last; then tails of two and three nodes (the gradient between tail nodes in two buffers
  // taken in turn), and a tail too costly to copy on every worker.
  wide_first_layer_case<Net<Input<7>, Dense<33>, GELU, Dense<9>, GELU, Dense<4>, Tanh>>("7x33x9, GELU", "weights");
  wide_first_layer_case<Net<Input<60>, Dense<40>, ReLU, Dense<24>, GELU, Dense<9>, Tanh, Dense<4>>>("60x40x24x9x4",
                                                                                                      "weights");
  wide_first_layer_case<Net<Input<90>, Dense<48>, Sigmoid, Dense<40>, ReLU, Dense<8>, GELU, Dense<6>, SiLU, Dense<3>>>(
      "90x48x40x8x6x3", "weights");
  wide_first_layer_case<Net<Input<16>, Dense<8>, ReLU, Dense<8>, ReLU, Dense<40>, ReLU, Dense<3>>>(
      "16x8x8x40x3, costly tail", "first-layer rows");
}

TEST(DataParallelThreads, CompileTimeThreadCountAndLoss) {
  const Data d(B);
  auto a = std::make_unique<Mlp>(), b = std::make_unique<Mlp>();
  a->init(3);
  *b = *a;
  DataParallel<SgdTrainer, Threads<2>> dp(*a);
  dp.keep_gradients(true);
  SgdTrainer ref(*b);
  EXPECT_EQ(dp.threads(), 2u);
  const float l1 = dp.step(d.x[0], d.t[0]), l2 = ref.step(d.x[0], d.t[0]);
  EXPECT_NEAR(l1, l2, 1e-6 * (1 + std::abs(l2)));
  double gd = 0, gm = 0;
  for (std::size_t k = 0; k < Mlp::param_count; ++k) {
    gd = std::max(gd, double(std::abs(dp.gradients()[k] - ref.gradients()[k])));
    gm = std::max(gm, double(std::abs(ref.gradients()[k])));
  }
  EXPECT_LE(gd, 1e-6 * gm);
  const auto out = dp.outputs();
  ASSERT_EQ(out.size(), B * 5);
  for (std::size_t i = 0; i < out.size(); ++i) EXPECT_NEAR(out[i], ref.outputs()[i], 1e-5);
}

// outputs() is the last batch's outputs in sample order, on both engines: the split MLP
// (SIMD, the first worker's logits) and the chunked one (scalar backend, each chunk's
// activation block), for thread counts that split the chunks unevenly.
template <class Be>
void outputs_case(std::size_t threads, const char* name) {
  using T = Trainer<Mlp, loss::SoftmaxCrossEntropy, optim::SGD, Batch<B>, Be>;
  const Data d(B);
  auto a = std::make_unique<Mlp>(), b = std::make_unique<Mlp>();
  a->init(6);
  *b = *a;
  DataParallel<T, Threads<0>, Chunks<4>> dp(*a, {.lr = 0.05f}, threads);
  T ref(*b, {.lr = 0.05f});
  for (int s = 0; s < 3; ++s) {
    dp.step(d.x[s], d.t[s]);
    ref.step(d.x[s], d.t[s]);
    const std::span<const float> out = dp.outputs();
    ASSERT_EQ(out.size(), B * 5) << name;
    double mag = 0;
    for (std::size_t i = 0; i < out.size(); ++i) {
      EXPECT_NEAR(out[i], ref.outputs()[i], 1e-4 * (1 + std::abs(ref.outputs()[i]))) << name << " step " << s << " " << i;
      mag += std::abs(out[i]);
    }
    EXPECT_GT(mag, 0.1) << name;
  }
}

TEST(DataParallelThreads, OutputsAreTheLastBatchInSampleOrder) {
  outputs_case<backend::native>(1, "simd, 1 thread");
  outputs_case<backend::native>(3, "simd, 3 threads");
  outputs_case<backend::scalar>(1, "scalar, 1 thread");
  outputs_case<backend::scalar>(3, "scalar, 3 threads");
}

TEST(DataParallelThreads, DropoutMasksDoNotDependOnTheThreadCount) {
  using N = Net<Input<20>, Dense<32>, ReLU, Dropout<300>, Dense<5>>;
  using T = Trainer<N, loss::SoftmaxCrossEntropy, optim::SGD, Batch<B>>;
  const Data d(B);
  auto train = [&](std::size_t threads) {
    auto net = std::make_unique<N>();
    net->init(4);
    DataParallel<T, Threads<0>, Chunks<4>> dp(*net, {.lr = 0.1f}, threads, 99);
    for (int s = 0; s < 10; ++s) dp.step(d.x[s % 4], d.t[s % 4]);
    return std::vector<float>(net->params().begin(), net->params().end());
  };
  EXPECT_EQ(train(1), train(3));
}


TEST(DataParallelThreads, StrategyFollowsTheFusionPlan) {
  using Tanh20 = Net<Input<20>, Tanh, Dense<16>, ReLU, Dense<5>>;  // no Dense first: chunks
  using T = Trainer<Tanh20, loss::SoftmaxCrossEntropy, optim::SGD, Batch<B>>;
  EXPECT_EQ(std::string_view(DataParallel<T, Threads<2>>::strategy()), "chunks");
  EXPECT_EQ(std::string_view(DataParallel<SgdTrainer, Threads<2>>::strategy()), "weights");  // 20-32-24-5
}
