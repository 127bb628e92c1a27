// The pipeline executor: schedules and their simulated bubble, training through 1, 2 and
// 4 stages with 1, 2, 4 and 8 micro-batches (GPipe and 1F1B) against sequential training
// on the same batches, streaming inference, a CNN split across stages, and bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <ctnn/ctnn.hpp>
#include <ctnn/parallel/pipeline.hpp>
#include <memory>
#include <vector>

using namespace ctnn;

namespace {
using Mlp = Net<Input<20>, Dense<32>, Tanh, Dense<24>, ReLU, Dense<16>, Tanh, Dense<5>>;
using Cores1 = Devices<CpuCore<0>>;
using Cores2 = Devices<CpuCore<0>, CpuCore<1>>;
using Cores4 = Devices<CpuCore<0>, CpuCore<1>, CpuCore<2>, CpuCore<3>>;
constexpr std::size_t B = 16;  // samples per optimizer step

std::vector<float> random(std::size_t n, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = rng.uniform(1.0f);
  return v;
}

double max_abs_diff(std::span<const float> a, std::span<const float> b) {
  double m = 0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, double(std::abs(a[i] - b[i])));
  return m;
}
double max_abs(std::span<const float> a) {
  double m = 0;
  for (float v : a) m = std::max(m, double(std::abs(v)));
  return m;
}

template <class Devs, std::size_t M, Schedule Sc>
void matches_sequential() {
  SCOPED_TRACE(testing::Message() << "stages " << Devs::count << ", micro-batches " << M << ", "
                                  << (Sc == Schedule::gpipe ? "GPipe" : "1F1B"));
  using PlanT = partition<Mlp, Devs, Batch<B / M>>;
  static_assert(PlanT::stage_count == Devs::count);
  auto seq = std::make_unique<Mlp>(), pip = std::make_unique<Mlp>();
  seq->init(5);
  *pip = *seq;
  const optim::SGDOptions opts{.lr = 0.05f, .momentum = 0.9f};
  Trainer<Mlp, loss::SoftmaxCrossEntropy, optim::SGD, Batch<B>> reference(*seq, opts);
  PipelineTrainer<PlanT, loss::SoftmaxCrossEntropy, optim::SGD, M, Sc> pipeline(*pip, opts);
  std::vector<std::vector<float>> xs;
  std::vector<std::vector<int>> ts;
  for (int i = 0; i < 4; ++i) {
    xs.push_back(random(B * 20, 100 + i));
    std::vector<int> t(B);
    for (std::size_t k = 0; k < B; ++k) t[k] = int((k * 7 + i) % 5);
    ts.push_back(t);
  }
  for (int step = 0; step < 50; ++step) {
    const float lr = reference.step(xs[step % 4], ts[step % 4]);
    const float lp = pipeline.step(xs[step % 4], ts[step % 4]);
    if (step == 0) {
      ASSERT_NEAR(lp, lr, 1e-6 * (1 + std::abs(lr)));
      const double g = max_abs(reference.gradients());
      ASSERT_GT(g, 1e-3);
      ASSERT_LE(max_abs_diff(pipeline.gradients(), reference.gradients()), 1e-6 * g) << "first-step gradients";
    }
  }
  EXPECT_LE(max_abs_diff(pip->params(), seq->params()), 1e-5) << "weights after 50 steps";
  EXPECT_GT(max_abs_diff(seq->params(), [] {
              Mlp m;
              m.init(5);
              return std::vector<float>(m.params().begin(), m.params().end());
            }()),
            1e-2);  // training moved the weights
  for (const auto& st : pipeline.stage_stats()) EXPECT_GT(st.busy_seconds, 0.0);
}
}  // namespace

TEST(PipelineSchedule, OneFOneBOrder) {
  constexpr auto s0 = schedule_ops<4>(Schedule::one_f_one_b, 2, 0);
  constexpr auto s1 = schedule_ops<4>(Schedule::one_f_one_b, 2, 1);
  const std::array<PipelineOp, 8> e0{{{true, 0}, {true, 1}, {false, 0}, {true, 2}, {false, 1}, {true, 3}, {false, 2}, {false, 3}}};
  const std::array<PipelineOp, 8> e1{{{true, 0}, {false, 0}, {true, 1}, {false, 1}, {true, 2}, {false, 2}, {true, 3}, {false, 3}}};
  EXPECT_EQ(s0, e0);
  EXPECT_EQ(s1, e1);
  constexpr auto g = schedule_ops<3>(Schedule::gpipe, 4, 2);
  const std::array<PipelineOp, 6> eg{{{true, 0}, {true, 1}, {true, 2}, {false, 0}, {false, 1}, {false, 2}}};
  EXPECT_EQ(g, eg);
}

template <std::size_t P, std::size_t M>
void bubble_is_exact() {
  for (Schedule sc : {Schedule::gpipe, Schedule::one_f_one_b})
    for (auto [tf, tb] : {std::pair<std::uint64_t, std::uint64_t>{1, 1}, {1, 2}, {3, 5}}) {
      const auto r = simulate_schedule<P, M>(sc, tf, tb);
      // idle / total == (p−1)/(m+p−1), exactly: cross-multiplied integers.
      EXPECT_EQ(r.idle() * (M + P - 1), r.total() * (P - 1)) << "p=" << P << " m=" << M << " tf=" << tf << " tb=" << tb;
      EXPECT_EQ(r.busy, P * M * (tf + tb));
      if (sc == Schedule::gpipe)
        EXPECT_EQ(r.max_in_flight, M);
      else
        EXPECT_LE(r.max_in_flight, std::min(P, M));
    }
}

TEST(PipelineSchedule, SimulatedBubbleIsExactlyTheFormula) {
  bubble_is_exact<1, 1>();
  bubble_is_exact<1, 8>();
  bubble_is_exact<2, 1>();
  bubble_is_exact<2, 8>();
  bubble_is_exact<3, 5>();
  bubble_is_exact<4, 4>();
  bubble_is_exact<4, 16>();
  bubble_is_exact<8, 8>();
}

TEST(PipelineTraining, OneStage) {
  matches_sequential<Cores1, 1, Schedule::one_f_one_b>();
  matches_sequential<Cores1, 4, Schedule::gpipe>();
  matches_sequential<Cores1, 8, Schedule::one_f_one_b>();
}
TEST(PipelineTraining, TwoStages) {
  matches_sequential<Cores2, 1, Schedule::one_f_one_b>();
  matches_sequential<Cores2, 2, Schedule::gpipe>();
  matches_sequential<Cores2, 2, Schedule::one_f_one_b>();
  matches_sequential<Cores2, 4, Schedule::one_f_one_b>();
  matches_sequential<Cores2, 8, Schedule::gpipe>();
  matches_sequential<Cores2, 8, Schedule::one_f_one_b>();
}
TEST(PipelineTraining, FourStages) {
  matches_sequential<Cores4, 1, Schedule::gpipe>();
  matches_sequential<Cores4, 2, Schedule::one_f_one_b>();
  matches_sequential<Cores4, 4, Schedule::gpipe>();
  matches_sequential<Cores4, 4, Schedule::one_f_one_b>();
  matches_sequential<Cores4, 8, Schedule::one_f_one_b>();
}

TEST(PipelineTraining, CnnAcrossStages) {
  using Cnn = Net<Input<1, 12, 12>, Conv2D<4, 3, 1, 1>, ReLU, MaxPool2D<2>, Conv2D<6, 3>, ReLU, Flatten, Dense<10>>;
  using PlanT = partition<Cnn, Cores2, Batch<4>, Cuts<3>>;  // the second convolution starts stage 1
  auto seq = std::make_unique<Cnn>(), pip = std::make_unique<Cnn>();
  seq->init(9);
  *pip = *seq;
  Trainer<Cnn, loss::SoftmaxCrossEntropy, optim::Adam, Batch<8>> reference(*seq);
  PipelineTrainer<PlanT, loss::SoftmaxCrossEntropy, optim::Adam, 2> pipeline(*pip);
  const auto x = random(8 * 144, 3);
  const std::vector<int> t{0, 1, 2, 3, 4, 5, 6, 7};
  for (int s = 0; s < 20; ++s) ASSERT_NEAR(pipeline.step(x, t), reference.step(x, t), 1e-4);
  EXPECT_LE(max_abs_diff(pip->params(), seq->params()), 1e-5);
}

TEST(PipelineInferenceTest, StreamsLikeBatchedForward) {
  using PlanT = partition<Mlp, Cores2, Batch<4>>;
  auto net = std::make_unique<Mlp>();
  net->init(2);
  PipelineInference<PlanT> pipe(*net);
  constexpr std::size_t n = 9;  // micro-batches of 4
  const auto x = random(n * 4 * 20, 4);
  std::vector<float> y(n * 4 * 5), ref(n * 4 * 5);
  pipe.run(x, y, n);
  auto ws = std::make_unique<Workspace<Mlp, Batch<4>>>();
  for (std::size_t k = 0; k < n; ++k)
    net->forward<4>(*ws, std::span<const float, 80>(x.data() + k * 80, 80), std::span<float, 20>(ref.data() + k * 20, 20));
  EXPECT_EQ(y, ref);
  pipe.run(x, y, 3);  // the crew is reusable
  for (const auto& st : pipe.stage_stats()) EXPECT_GT(st.busy_seconds, 0.0);
}

TEST(PipelineTraining, BadInputIsAnErrorAndChangesNothing) {
  using PlanT = partition<Mlp, Cores2, Batch<8>>;
  Mlp net;
  net.init(1);
  const std::vector<float> before(net.params().begin(), net.params().end());
  PipelineTrainer<PlanT, loss::SoftmaxCrossEntropy, optim::SGD, 2> pipeline(net);
  std::vector<float> x(B * 20, 0.5f);
  std::vector<int> t(B, 1);
  EXPECT_THROW(pipeline.step(std::vector<float>(7), t), Error);
  t[3] = 5;  // outside [0, 5)
  EXPECT_THROW(pipeline.step(x, t), Error);
  t[3] = 1;
  x[17] = std::nanf("");
  EXPECT_THROW(pipeline.step(x, t), Error);
  EXPECT_EQ(std::vector<float>(net.params().begin(), net.params().end()), before);
  x[17] = 0.5f;
  EXPECT_NO_THROW(pipeline.step(x, t));
}
