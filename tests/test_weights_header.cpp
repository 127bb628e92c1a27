// Weights compiled into a header (ctnn_weights_header): the networks are built by the
// compiler from constexpr arrays, so they live in read-only memory (checked on the binary by
// tests/check_sections.cmake), and they equal the networks io::load reads from the same
// files, bit for bit, parameters and outputs.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>

#include <ctnn/io.hpp>

#include "lenet_weights.hpp"
#include "mlp_weights.hpp"
#include "weights_nets.hpp"

using test_nets::LeNet;
using test_nets::Mlp;

// No constructor runs at start-up: constinit proves the object is built at compile time.
constinit const LeNet embedded_lenet{lenet_weights::params};
constinit const Mlp embedded_mlp{mlp_weights::params};
static_assert(lenet_weights::param_count == LeNet::param_count);

template <class NetT>
void expect_same(const NetT& embedded, const std::string& file) {
  static NetT loaded;
  ctnn::io::load(loaded, file);
  ASSERT_EQ(std::memcmp(embedded.params().data(), loaded.params().data(), NetT::param_count * sizeof(float)), 0);
  std::mt19937 gen(5);
  std::uniform_real_distribution<float> u(0, 1);
  for (int sample = 0; sample < 20; ++sample) {
    std::array<float, NetT::input_size> x;
    for (auto& v : x) v = u(gen);
    const auto a = embedded.forward(x);
    const auto b = loaded.forward(x);
    ASSERT_EQ(std::memcmp(a.data(), b.data(), sizeof a), 0) << sample;
    bool nonzero = false;
    for (float v : a) nonzero = nonzero || v != 0.0f;
    ASSERT_TRUE(nonzero);
  }
}

TEST(WeightsHeader, LeNetEqualsTheLoadedFileBitForBit) {
  expect_same(embedded_lenet, CTNN_TEST_WEIGHTS_DIR "/lenet.safetensors");
  EXPECT_STREQ(lenet_weights::network, ctnn::net_name<LeNet>().c_str());
}

TEST(WeightsHeader, MlpEqualsTheLoadedFileBitForBit) {
  expect_same(embedded_mlp, CTNN_TEST_WEIGHTS_DIR "/mlp.safetensors");
}
