// Checkpoints: training resumed from one continues bit for bit (Trainer and DataParallel,
// Adam's step count and Dropout's masks included); a checkpoint from another network,
// optimizer or thread count, or a damaged one, is a clear error that changes nothing.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <ctnn/ctnn.hpp>
#include <ctnn/io.hpp>
#include <ctnn/parallel/data_parallel.hpp>

#include "error_of.hpp"

using namespace ctnn;
namespace fs = std::filesystem;

using Mlp = Net<Input<20>, Dense<64>, ReLU, Dropout<100>, Dense<33>, Tanh, Dense<5>>;
constexpr std::size_t B = 8;
using AdamTrainer = Trainer<Mlp, loss::SoftmaxCrossEntropy, optim::Adam, Batch<B>>;

namespace {
struct Data {
  std::vector<float> x;
  std::vector<int> y;
};
Data batch(int step) {
  Rng r(100 + static_cast<std::uint64_t>(step));
  Data d{std::vector<float>(B * 20), std::vector<int>(B)};
  for (auto& v : d.x) v = r.uniform(1.0f);
  for (auto& v : d.y) v = static_cast<int>(r.below(5));
  return d;
}
template <class T>
void train(T& t, int from, int to) {
  for (int s = from; s < to; ++s) {
    const Data d = batch(s);
    t.step(d.x, d.y);
  }
}
bool same(std::span<const float> a, std::span<const float> b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}
std::string path(const std::string& name) {
  return (fs::temp_directory_path() / ("ctnn_ckpt_" + std::to_string(::getpid()) + "_" + name)).string();
}
}  // namespace

TEST(Checkpoint, TrainerResumesBitForBit) {
  static Mlp straight, first, resumed;
  straight.init(1);
  first.init(1);
  resumed.init(99);  // overwritten by the checkpoint
  AdamTrainer a{straight, {.lr = 3e-3f}, 7};
  train(a, 0, 12);

  AdamTrainer b{first, {.lr = 3e-3f}, 7};
  train(b, 0, 5);
  io::TrainingPosition pos{.epoch = 2, .step_in_epoch = 1, .rng = Rng(5).state(), .order = {3, 1, 2},
                           .extra = {{"note", "five steps"}}};
  const auto file = path("trainer.safetensors");
  io::save_checkpoint(b, pos, file);

  AdamTrainer c{resumed, {.lr = 3e-3f}, 7};
  const io::TrainingPosition back = io::load_checkpoint(c, file);
  EXPECT_EQ(c.steps(), 5u);
  EXPECT_EQ(c.optimizer().steps(), 5u);  // Adam's bias correction continues
  EXPECT_EQ(back.epoch, 2u);
  EXPECT_EQ(back.step_in_epoch, 1u);
  EXPECT_EQ(back.rng, pos.rng);
  EXPECT_EQ(back.order, pos.order);
  EXPECT_EQ(back.extra.at("note"), "five steps");
  Rng continued = Rng::from_state(back.rng), original(5);
  EXPECT_EQ(continued.next(), original.next());
  train(c, 5, 12);
  EXPECT_TRUE(same(resumed.params(), straight.params()));
  // A checkpoint is also a weight file.
  static Mlp w;
  io::load(w, file);
  EXPECT_EQ(io::read_metadata(file).at("ctnn.steps"), "5");
  fs::remove(file);
}

// Every DataParallel path: the generic chunked one (Dropout) and the split three-Dense MLP.
template <class NetT>
void data_parallel_resumes() {
  using T = Trainer<NetT, loss::SoftmaxCrossEntropy, optim::Adam, Batch<B>>;
  using DP = DataParallel<T, Threads<0>, Chunks<4>>;
  static NetT straight, first, resumed;
  straight.init(2);
  first.init(2);
  resumed.init(3);
  DP a{straight, {.lr = 3e-3f}, 2, 9};
  train(a, 0, 10);
  DP b{first, {.lr = 3e-3f}, 2, 9};
  train(b, 0, 4);
  const auto file = path("dp.safetensors");
  io::save_checkpoint(b, {}, file);
  DP c{resumed, {.lr = 3e-3f}, 2, 9};
  io::load_checkpoint(c, file);
  train(c, 4, 10);
  EXPECT_TRUE(same(resumed.params(), straight.params()));

  // Another thread count lays the state out differently: refused, nothing changed.
  static NetT other;
  other.init(4);
  const NetT before = other;
  DP d{other, {.lr = 3e-3f}, 1, 9};
  const std::string m = error_of([&] { io::load_checkpoint(d, file); });
  EXPECT_NE(m.find("is for state layout ctnn::DataParallel threads=2 chunks=4, not ctnn::DataParallel threads=1"),
            std::string::npos)
      << m;
  EXPECT_TRUE(same(other.params(), before.params()));
  fs::remove(file);
}

TEST(Checkpoint, DataParallelResumesBitForBit) { data_parallel_resumes<Mlp>(); }
TEST(Checkpoint, DataParallelSplitMlpResumesBitForBit) {
  data_parallel_resumes<Net<Input<20>, Dense<64>, ReLU, Dense<33>, ReLU, Dense<5>>>();
}

TEST(Checkpoint, MismatchedOrDamagedIsAnErrorAndChangesNothing) {
  static Mlp net, target;
  net.init(5);
  AdamTrainer t{net, {}, 1};
  train(t, 0, 3);
  const auto bytes = io::checkpoint_bytes(t, {.epoch = 1});
  target.init(6);
  const Mlp before = target;
  auto unchanged = [&] { return same(target.params(), before.params()); };

  Trainer<Mlp, loss::SoftmaxCrossEntropy, optim::SGD, Batch<B>> sgd{target, {}};
  std::string m = error_of([&] { io::load_checkpoint(sgd, bytes, "ck"); });
  EXPECT_NE(m.find("is for optimizer ctnn::optim::detail::AdamImpl<false>, not ctnn::optim::SGD"), std::string::npos) << m;
  EXPECT_TRUE(unchanged());
  EXPECT_EQ(sgd.steps(), 0u);

  using Other = Net<Input<20>, Dense<64>, ReLU, Dropout<100>, Dense<33>, Tanh, Dense<6>>;
  static Other o;
  Trainer<Other, loss::SoftmaxCrossEntropy, optim::Adam, Batch<B>> ot{o, {}};
  m = error_of([&] { io::load_checkpoint(ot, bytes, "ck"); });
  EXPECT_NE(m.find("is for network ctnn::Net<ctnn::Input<20>"), std::string::npos) << m;

  AdamTrainer fresh{target, {}};
  for (std::size_t cut : {std::size_t{3}, bytes.size() / 2, bytes.size() - 1}) {
    m = error_of([&] { io::load_checkpoint(fresh, std::span<const std::byte>(bytes.data(), cut), "ck"); });
    EXPECT_NE(m.find("'ck'"), std::string::npos) << m;
    EXPECT_TRUE(unchanged());
    EXPECT_EQ(fresh.steps(), 0u);
  }
  auto flipped = bytes;
  flipped[20] = std::byte{'#'};  // inside the JSON header
  EXPECT_FALSE(error_of([&] { io::load_checkpoint(fresh, flipped, "ck"); }).empty());
  const auto weights_only = io::to_bytes(net);
  m = error_of([&] { io::load_checkpoint(fresh, weights_only, "w"); });
  EXPECT_NE(m.find("lacks 'ctnn.checkpoint_version'"), std::string::npos) << m;
  EXPECT_TRUE(unchanged());
  io::load_checkpoint(fresh, bytes, "ck");  // the control
  EXPECT_TRUE(same(target.params(), net.params()));
  EXPECT_EQ(fresh.steps(), 3u);
}

// Truncated BPTT: the carried states are in the checkpoint, so the streams continue bit for bit
// after resuming; a checkpoint saved without them starts the streams from zero.
TEST(Checkpoint, TruncatedBpttResumesBitForBit) {
  using Seq = Net<Input<6, 1>, Conv1D<3, 2, 2>, Tanh, GRU<4>, Dense<1>>;
  using SeqTrainer = Trainer<Seq, loss::MSE, optim::Adam, Batch<3>>;
  static Seq straight, first, resumed;
  straight.init(2);
  first.init(2);
  resumed.init(77);
  auto window = [](int w) {
    std::vector<float> x(3 * 6), y(3 * 6);
    for (std::size_t i = 0; i < x.size(); ++i) {
      x[i] = std::sin(0.3f * static_cast<float>(i + 18 * static_cast<std::size_t>(w)));
      y[i] = 0.5f * x[i];
    }
    return std::pair{x, y};
  };
  auto run = [&](SeqTrainer& t, int from, int to) {
    for (int w = from; w < to; ++w) {
      const auto [x, y] = window(w);
      t.step(x, y);
    }
  };
  SeqTrainer a{straight, {.lr = 1e-2f}};
  a.carry_state(true);
  run(a, 0, 7);
  SeqTrainer b{first, {.lr = 1e-2f}};
  b.carry_state(true);
  run(b, 0, 4);
  const auto file = path("tbptt.safetensors");
  io::save_checkpoint(b, {}, file);
  SeqTrainer c{resumed, {.lr = 1e-2f}};
  c.carry_state(true);
  io::load_checkpoint(c, file);
  for (std::size_t k = 0; k < c.carried_state().size(); ++k) ASSERT_EQ(c.carried_state()[k], b.carried_state()[k]);
  run(c, 4, 7);
  for (std::size_t k = 0; k < Seq::param_count; ++k) ASSERT_EQ(resumed.params()[k], straight.params()[k]) << k;

  // Saved while not carrying: no states in the file, and loading zeroes the trainer's.
  b.carry_state(false);
  io::save_checkpoint(b, {}, file);
  io::load_checkpoint(c, file);
  for (float v : c.carried_state()) ASSERT_EQ(v, 0.0f);
  fs::remove(file);
}
