// Data-parallel training over threads: bad input is an error that changes nothing,
// overflowing gradients and huge inputs are caught in every panel, and step_rows equals
// step on the gathered batch. (Split from test_data_parallel.cpp to keep each unit small.)
#include "data_parallel_common.hpp"

TEST(DataParallelThreads, BadInputIsAnErrorAndChangesNothing) {
  Mlp net;
  net.init(1);
  const std::vector<float> before(net.params().begin(), net.params().end());
  EXPECT_THROW((DataParallel<SgdTrainer, Threads<0>, Chunks<4>>(net, {}, 5)), Error);  // 5 threads, 4 chunks
  EXPECT_THROW((DataParallel<SgdTrainer, Threads<0>, Chunks<4>>(net, {}, 0)), Error);
  DataParallel<SgdTrainer, Threads<0>, Chunks<4>> dp(net, {}, 2);
  std::vector<float> x(B * 20, 0.5f);
  std::vector<int> t(B, 1);
  EXPECT_THROW(dp.step(std::vector<float>(5), t), Error);
  t[7] = 9;
  EXPECT_THROW(dp.step(x, t), Error);
  t[7] = 1;
  x[100] = std::nanf("");
  EXPECT_THROW(dp.step(x, t), Error);
  EXPECT_EQ(std::vector<float>(net.params().begin(), net.params().end()), before);
  x[100] = 0.5f;
  EXPECT_NO_THROW(dp.step(x, t));
  EXPECT_NE(std::vector<float>(net.params().begin(), net.params().end()), before);
}

// A gradient that overflows while the loss stays finite: input feature r is huge but its
// first-layer weights are zero, so the forward pass never sees it; its weight-gradient row
// (x · dz summed over the batch) overflows to Inf. Whichever worker computes that row —
// the first panels, the last, the rest of the block — the step must refuse, name the
// parameter, and change nothing.
template <class N>
void overflow_case() {
  using T = Trainer<N, loss::MSE, optim::SGD, Batch<B>>;
  for (std::size_t row : {5u, 150u, 299u})
    for (std::size_t threads : {1u, 2u, 3u}) {
      auto net = std::make_unique<N>();
      net->init(2);
      for (std::size_t j = 0; j < 40; ++j) net->params()[row * 40 + j] = 0.0f;
      const std::vector<float> before(net->params().begin(), net->params().end());
      DataParallel<T, Threads<0>, Chunks<3>> dp(*net, {.lr = 1e-3f}, threads);
      std::vector<float> x(B * 300, 0.25f), t(B * 2, 1e9f);
      for (std::size_t s = 0; s < B; ++s) x[s * 300 + row] = 1e30f;
      try {
        dp.step(x, t);
        ADD_FAILURE() << "row " << row << ", " << threads << " threads: overflow was applied";
      } catch (const Error& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("non-finite gradient"), std::string::npos) << what;
        // the first Inf of row `row` (a column whose dz is 0 in every sample, e.g. under a
        // saturated tanh, has a finite 0 there)
        const std::size_t at = what.find("parameter ");
        ASSERT_NE(at, std::string::npos) << what;
        const std::size_t k = std::stoul(what.substr(at + 10));
        EXPECT_GE(k, row * 40) << what;
        EXPECT_LT(k, row * 40 + 40) << what;
      }
      EXPECT_EQ(std::vector<float>(net->params().begin(), net->params().end()), before);
      std::fill(t.begin(), t.end(), 0.5f);  // finite again: the next step trains
      for (std::size_t s = 0; s < B; ++s) x[s * 300 + row] = 0.25f;
      EXPECT_NO_THROW(dp.step(x, t));
    }
}

TEST(DataParallelThreads, OverflowingGradientIsCaughtInEveryPanel) {
  overflow_case<Net<Input<300>, Dense<40>, Tanh, Dense<2>>>();
  overflow_case<Net<Input<300>, Dense<40>, Tanh, Dense<24>, ReLU, Dense<2>>>();  // split by weights
}

// A huge but finite input on a row whose weights are zero: its weight-gradient row is
// finite, but the pre-check cannot prove it (B · max|x| · max|dz| is past FLT_MAX / 4), so
// that step applies the first layer only after the whole step's check — and still trains
// like Trainer, bit-identically for every thread count. Every other step applies each
// panel as it is computed.
template <class N>
void huge_input_case() {
  using T = Trainer<N, loss::MSE, optim::SGD, Batch<B>>;
  constexpr std::size_t row = 150;
  std::vector<std::vector<float>> xs(6, std::vector<float>(B * 300));
  for (std::size_t s = 0; s < xs.size(); ++s)
    for (std::size_t k = 0; k < xs[s].size(); ++k) xs[s][k] = float((k * 7 + s * 13) % 17) / 17.0f - 0.4f;
  for (auto& x : xs)
    for (std::size_t i = 0; i < B; ++i) x[i * 300 + row] = 0.0f;
  xs[3][5 * 300 + row] = 3e38f;  // sample 5 of step 3
  const std::vector<float> t(B * 2, 3.0f);
  auto fresh = [] {
    auto net = std::make_unique<N>();
    net->init(4);
    for (std::size_t j = 0; j < 40; ++j) net->params()[row * 40 + j] = 0.0f;
    return net;
  };
  auto train = [&](std::size_t threads) {
    auto net = fresh();
    DataParallel<T, Threads<0>, Chunks<3>> dp(*net, {.lr = 1e-3f}, threads);
    for (std::size_t s = 0; s < xs.size(); ++s) {
      dp.step(xs[s], t);
      EXPECT_EQ(dp.deferred_steps(), s < 3 ? 0u : 1u) << threads << " threads, step " << s;
    }
    return std::vector<float>(net->params().begin(), net->params().end());
  };
  const auto one = train(1);
  for (std::size_t threads : {2u, 3u}) EXPECT_EQ(train(threads), one) << threads << " threads";
  auto net = fresh();
  T ref(*net, {.lr = 1e-3f});
  for (const auto& x : xs) ref.step(x, t);
  double worst = 0, moved = 0;
  for (std::size_t k = 0; k < N::param_count; ++k) {
    const double r = net->params()[k];
    worst = std::max(worst, std::abs(one[k] - r) / (1e-3 + std::abs(r)));
  }
  for (std::size_t j = 0; j < 40; ++j) moved = std::max(moved, double(std::abs(one[row * 40 + j])));
  EXPECT_LE(worst, 1e-4);
  EXPECT_GT(moved, 1e30);  // the huge step was applied
}

TEST(DataParallelThreads, HugeFiniteInputDefersTheFirstLayerUpdateAndStillTrains) {
  huge_input_case<Net<Input<300>, Dense<40>, Tanh, Dense<2>>>();
  huge_input_case<Net<Input<300>, Dense<40>, Tanh, Dense<24>, ReLU, Dense<2>>>();  // split by weights
}

// step_rows trains exactly like step on the batch gathered by hand, for 1–3 threads: the
// split MLP and a two-node net (first layers split by rows: the samples read where they
// lie, through the indices) and a net whose first layer is not Dense (each worker copies
// its chunks' samples). A row past the data set or a bad label at a chosen row is an error
// that changes nothing.
template <class N>
void step_rows_case(const char* name) {
  using T = Trainer<N, loss::SoftmaxCrossEntropy, optim::Adam, Batch<B>>;
  constexpr std::size_t samples = 100, in = N::input_size;
  Data src(samples, in, int(N::output_size));  // 4 sets of 100 samples; the first is the data set
  std::vector<std::uint32_t> rows(B);
  for (std::size_t threads : {1u, 2u, 3u}) {
    auto a = std::make_unique<N>(), b = std::make_unique<N>();
    a->init(6);
    *b = *a;
    DataParallel<T, Threads<0>, Chunks<3>> by_rows(*a, {.lr = 1e-2f}, threads, 1);
    DataParallel<T, Threads<0>, Chunks<3>> by_hand(*b, {.lr = 1e-2f}, threads, 1);
    std::vector<float> x(B * in);
    std::vector<int> t(B);
    for (int s = 0; s < 8; ++s) {
      for (std::size_t k = 0; k < B; ++k) rows[k] = std::uint32_t((k * 37 + 11 * s) % samples);
      for (std::size_t k = 0; k < B; ++k) {
        std::copy_n(src.x[0].data() + rows[k] * in, in, x.data() + k * in);
        t[k] = src.t[0][rows[k]];
      }
      const float l1 = by_rows.step_rows(src.x[0], src.t[0], rows), l2 = by_hand.step(x, t);
      ASSERT_EQ(l1, l2) << name << ", " << threads << " threads, step " << s;
    }
    EXPECT_TRUE(std::equal(a->params().begin(), a->params().end(), b->params().begin())) << name << ", " << threads << " threads";
    const std::vector<float> before(a->params().begin(), a->params().end());
    rows[5] = samples;  // past the end
    EXPECT_THROW(by_rows.step_rows(src.x[0], src.t[0], rows), Error);
    rows[5] = 3;
    auto labels = src.t[0];
    labels[3] = int(N::output_size) + 2;
    EXPECT_THROW(by_rows.step_rows(src.x[0], labels, rows), Error);
    EXPECT_TRUE(std::equal(before.begin(), before.end(), a->params().begin())) << name;
  }
}

TEST(DataParallelThreads, StepRowsEqualsStepOnTheGatheredBatch) {
  step_rows_case<Mlp>("20x32x24x5, split by weights");
  step_rows_case<Net<Input<20>, Dense<32>, Tanh, Dense<5>>>("20x32x5, first layer by rows");
  step_rows_case<Net<Input<20>, Tanh, Dense<16>, ReLU, Dense<5>>>("20, Tanh first: chunks gathered");
}
