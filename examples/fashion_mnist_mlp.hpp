// Shared by the Fashion-MNIST MLP example's translation units: the network, the
// options, and the training routine, which is explicitly instantiated once per
// (batch, optimizer, backend) in its own translation unit (fashion_mnist_mlp_train.cpp)
// so that no single unit compiles more than one trainer.
#pragma once
#include <cstddef>
#include <ctnn/ctnn.hpp>
#include <ctnn/io/fashion_mnist.hpp>
#include <optional>
#include <string>

namespace example {
using namespace ctnn;
using Mlp = Net<Input<784>, Dense<256>, ReLU, Dense<128>, ReLU, Dense<10>>;

struct Options {
  int epochs = 10;
  int batch = 64;
  std::string optimizer = "adam";
  std::optional<float> lr;
  float momentum = 0.9f;
  std::uint64_t seed = 42;
  std::string data = io::default_fashion_mnist_dir;
  std::string metrics;
  std::size_t limit = 0;
  std::string schedule = "cosine";
  std::string backend = "simd";
};

/// Trains a fresh network as `o` says and prints the per-epoch and result lines.
template <std::size_t B, class Opt, class Be>
int train(const Options& o, const io::FashionMnist& data, typename Opt::Options opt_options);
}  // namespace example
