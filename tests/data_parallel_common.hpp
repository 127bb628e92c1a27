// Shared by the data-parallel test files: the network, the trainers and the data they train on.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <ctnn/ctnn.hpp>
#include <ctnn/parallel/data_parallel.hpp>
#include <memory>
#include <vector>

using namespace ctnn;

namespace dp_test {
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
}  // namespace dp_test
using namespace dp_test;
