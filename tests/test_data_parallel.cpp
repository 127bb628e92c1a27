// Data-parallel training over threads: bit-identical weights for every thread count
// (uneven shares included), agreement with the single-threaded Trainer on the whole batch,
// the run-time thread count, dropout masks independent of the thread count, and bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <ctnn/ctnn.hpp>
#include <ctnn/parallel/data_parallel.hpp>
#include <memory>
#include <vector>

using namespace ctnn;

namespace {
using Mlp = Net<Input<20>, Dense<32>, Tanh, Dense<24>, ReLU, Dense<5>>;
constexpr std::size_t B = 24;
using SgdTrainer = Trainer<Mlp, loss::SoftmaxCrossEntropy, optim::SGD, Batch<B>>;
using AdamTrainer = Trainer<Mlp, loss::SoftmaxCrossEntropy, optim::Adam, Batch<B>>;

struct Data {
  std::vector<std::vector<float>> x;
  std::vector<std::vector<int>> t;
  explicit Data(std::size_t batch, std::size_t in = 20, int classes = 5) {
    for (int i = 0; i < 4; ++i) {
      Rng rng(50 + i);
      std::vector<float> xi(batch * in);
      for (auto& v : xi) v = rng.uniform(1.0f);
      std::vector<int> ti(batch);
      for (std::size_t k = 0; k < batch; ++k) ti[k] = int((k * 3 + i) % classes);
      x.push_back(xi);
      t.push_back(ti);
    }
  }
};

template <class TrainerT, class ChunksT>
std::vector<float> run(std::size_t threads, int steps, const Data& d, typename DataParallel<TrainerT, Threads<0>, ChunksT>::O::Options opts) {
  auto net = std::make_unique<Mlp>();
  net->init(3);
  DataParallel<TrainerT, Threads<0>, ChunksT> dp(*net, opts, threads, 11);
  EXPECT_EQ(dp.threads(), threads);
  for (int s = 0; s < steps; ++s) dp.step(d.x[s % 4], d.t[s % 4]);
  return {net->params().begin(), net->params().end()};
}
}  // namespace

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
void wide_first_layer_case(const char* name) {
  using T = Trainer<N, loss::SoftmaxCrossEntropy, optim::Adam, Batch<B>>;
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
  wide_first_layer_case<Net<Input<300>, Dense<40>, ReLU, Dense<10>>>("300x40");
  wide_first_layer_case<Net<Input<200>, Dense<33>, Tanh, Dense<17>, Sigmoid, Dense<3>>>("200x33");
  wide_first_layer_case<Net<Input<7>, Dense<17>, GELU, Dense<5>>>("7x17");
  wide_first_layer_case<Net<Input<50>, Dense<6>>>("50x6, one node");
  // Three nodes: split by the weights of the first two (33 hidden rows in groups of
  // 16/0/16/1), activations whose derivative needs the pre-activation, and one after the last.
  wide_first_layer_case<Net<Input<7>, Dense<33>, GELU, Dense<9>, GELU, Dense<4>, Tanh>>("7x33x9, GELU");
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
