// ctnn::data: seeded shuffling, batches, the last partial batch (dropped, or trained on with
// only its real samples counted), prefetching, and restoring a loader's state.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <vector>

#include <ctnn/ctnn.hpp>
#include <ctnn/data/loader.hpp>

using namespace ctnn;

namespace {
struct Set {
  std::vector<float> x;
  std::vector<int> y;
  data::Dataset<int> view() const { return {x, y, 3}; }
};
Set make(std::size_t n) {
  Set s{std::vector<float>(n * 3), std::vector<int>(n)};
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t f = 0; f < 3; ++f) s.x[i * 3 + f] = static_cast<float>(i) + 0.25f * static_cast<float>(f);
    s.y[i] = static_cast<int>(i % 4);
  }
  return s;
}
template <class L>
std::vector<std::vector<std::uint32_t>> epoch_rows(L& loader) {
  std::vector<std::vector<std::uint32_t>> out;
  while (auto b = loader.next()) {
    out.emplace_back(b->rows.begin(), b->rows.end());
    // the gathered samples are the rows' samples
    for (std::size_t s = 0; s < b->count; ++s) {
      EXPECT_EQ(b->inputs[s * 3 + 1], static_cast<float>(b->rows[s]) + 0.25f);
      EXPECT_EQ(b->targets[s], static_cast<int>(b->rows[s] % 4));
    }
  }
  return out;
}
}  // namespace

TEST(Loader, EpochsCoverTheDataOnceInASeededOrder) {
  const Set d = make(37);
  data::Loader<8, int> a(d.view(), {.seed = 5}), b(d.view(), {.seed = 5}), c(d.view(), {.seed = 6});
  EXPECT_EQ(a.batches_per_epoch(), 4u);  // 37 / 8, the last 5 dropped
  const auto e1 = epoch_rows(a), e1b = epoch_rows(b), e1c = epoch_rows(c);
  EXPECT_EQ(e1, e1b);
  EXPECT_NE(e1, e1c);
  std::set<std::uint32_t> seen;
  for (const auto& batch : e1) seen.insert(batch.begin(), batch.end());
  EXPECT_EQ(seen.size(), 32u);
  const auto e2 = epoch_rows(a);
  EXPECT_EQ(e2.size(), 4u);
  EXPECT_NE(e1, e2);  // reshuffled
  EXPECT_EQ(a.epoch(), 2u);
  // The order is Fisher–Yates with ctnn::Rng, cumulative over epochs, as the examples do.
  std::vector<std::uint32_t> order(37);
  for (std::uint32_t i = 0; i < 37; ++i) order[i] = i;
  Rng r(5);
  for (int e = 0; e < 2; ++e)
    for (std::size_t k = 36; k > 0; --k) std::swap(order[k], order[r.below(k + 1)]);
  EXPECT_TRUE(std::equal(order.begin(), order.begin() + 8, e2[0].begin()));
}

TEST(Loader, KeepsTheLastPartialBatch) {
  const Set d = make(37);
  data::Loader<8, int> a(d.view(), {.shuffle = false, .last = data::LastBatch::keep});
  const auto e = epoch_rows(a);
  ASSERT_EQ(e.size(), 5u);
  EXPECT_EQ(e.back().size(), 5u);
  EXPECT_EQ(e.back().front(), 32u);
  data::Loader<64, int> none(d.view(), {});  // fewer samples than a batch, dropped: empty epochs
  EXPECT_FALSE(none.next().has_value());
}

TEST(Loader, PrefetchingGivesTheSameBatches) {
  const Set d = make(1001);
  data::Loader<16, int> a(d.view(), {.seed = 9, .last = data::LastBatch::keep});
  data::Loader<16, int> b(d.view(), {.seed = 9, .last = data::LastBatch::keep, .prefetch = true});
  for (int e = 0; e < 3; ++e) EXPECT_EQ(epoch_rows(a), epoch_rows(b));
}

TEST(Loader, RestoreContinuesTheSameSequence) {
  const Set d = make(50);
  data::Loader<8, int> a(d.view(), {.seed = 3});
  epoch_rows(a);
  epoch_rows(a);
  const auto rng = a.rng_state();
  const std::vector<std::uint32_t> order(a.order().begin(), a.order().end());
  const auto third = epoch_rows(a);
  data::Loader<8, int> b(d.view(), {.seed = 777});
  b.restore(2, rng, order);
  EXPECT_EQ(epoch_rows(b), third);
  EXPECT_EQ(b.epoch(), 3u);
  EXPECT_THROW(b.restore(1, rng, std::vector<std::uint32_t>(3)), Error);
}

TEST(Loader, DatasetSizesMustAgree) {
  std::vector<float> x(10);
  std::vector<int> y(3);
  EXPECT_THROW((data::Loader<2, int>(data::Dataset<int>{x, y, 3})), Error);
}

// A partial batch trains like a batch of exactly its samples: the same loss and gradients.
TEST(TrainerPartialBatch, CountsOnlyTheRealSamples) {
  using N = Net<Input<3>, Dense<7>, Tanh, Dense<4>>;
  static N a, b;
  a.init(4);
  b.init(4);
  const Set d = make(3);
  Trainer<N, loss::SoftmaxCrossEntropy, optim::SGD, Batch<8>> big{a, {.lr = 0.1f}};
  Trainer<N, loss::SoftmaxCrossEntropy, optim::SGD, Batch<3>> exact{b, {.lr = 0.1f}};
  const float l1 = big.step(d.x, d.y);
  const float l2 = exact.step(d.x, d.y);
  EXPECT_NEAR(l1, l2, 1e-6f);
  for (std::size_t k = 0; k < N::param_count; ++k)
    ASSERT_NEAR(big.gradients()[k], exact.gradients()[k], 1e-6f) << k;
  EXPECT_EQ(big.outputs().size(), 3u * 4);
  // MSE too (targets are values).
  Trainer<N, loss::MSE, optim::SGD, Batch<8>> mse8{a, {}};
  Trainer<N, loss::MSE, optim::SGD, Batch<3>> mse3{b, {}};
  std::vector<float> t(12, 0.5f);
  EXPECT_NEAR(mse8.step(d.x, t), mse3.step(d.x, t), 1e-6f);
  for (std::size_t k = 0; k < N::param_count; ++k) ASSERT_NEAR(mse8.gradients()[k], mse3.gradients()[k], 1e-6f) << k;
  std::vector<float> too_many(9 * 3);
  std::vector<int> labels(9);
  EXPECT_THROW(big.step(too_many, labels), Error);
}
