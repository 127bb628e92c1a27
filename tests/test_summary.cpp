// ctnn::summary: the table's rows and totals are the network's compile-time facts.
#include <gtest/gtest.h>

#include <sstream>

#include <ctnn/ctnn.hpp>

using namespace ctnn;
using LeNet = Net<Input<1, 28, 28>, Conv2D<6, 5, 1, 2>, ReLU, MaxPool2D<2>, Conv2D<16, 5>, ReLU, MaxPool2D<2>,
                  Flatten, Dense<120>, ReLU, Dense<84>, ReLU, Dense<10>>;

TEST(Summary, RowsAndTotals) {
  const Summary s = summary<LeNet>(32);
  ASSERT_EQ(s.layers.size(), 12u);
  EXPECT_EQ(s.input_shape, "[1, 28, 28]");
  EXPECT_EQ(s.layers[0].name, "ctnn::Conv2D<6, 5, 1, 2>");
  EXPECT_EQ(s.layers[0].output_shape, "[6, 28, 28]");
  EXPECT_EQ(s.layers[0].params, 6u * 25 + 6);
  EXPECT_EQ(s.layers[0].flops, 28u * 28 * (2 * 25 * 6 + 6));
  EXPECT_EQ(s.layers[6].name, "ctnn::Flatten");
  EXPECT_EQ(s.layers[6].output_shape, "[400]");
  EXPECT_EQ(s.layers[7].params, 400u * 120 + 120);
  EXPECT_EQ(s.layers[7].activation_bytes, 120u * 4);
  EXPECT_EQ(s.params, LeNet::param_count);
  EXPECT_EQ(s.params, 61706u);
  EXPECT_EQ(s.flops, LeNet::flops_forward);
  EXPECT_EQ(s.training_bytes, LeNet::training_workspace_bytes<32>);
  std::ostringstream os;
  os << s;
  const std::string t = os.str();
  EXPECT_NE(t.find("  7  ctnn::Dense<120>"), std::string::npos) << t;
  EXPECT_NE(t.find("48,120"), std::string::npos) << t;
  EXPECT_NE(t.find("parameters 61,706 (241.0 KiB)"), std::string::npos) << t;
  EXPECT_NE(t.find("training at batch 32"), std::string::npos) << t;
}

// A sequence network: the forward's activations are the layers' outputs; training also keeps
// each recurrent step's gates and state (saved values), so its figure is larger.
TEST(Summary, SequenceNetworkCountsSavedValuesInTrainingOnly) {
  using N = Net<Input<10, 2>, GRU<4>, Dense<1>>;
  const auto s = summary<N>(8);
  EXPECT_EQ(s.activation_bytes, (10 * 4 + 10 * 1) * sizeof(float));
  EXPECT_EQ(s.training_bytes, N::training_workspace_bytes<8>);
  EXPECT_EQ(N::saved_sizes[0], 10 * 5 * 4 + 4);
  EXPECT_GT(s.training_bytes, 8 * (s.activation_bytes + N::saved_sizes[0] * sizeof(float)));
}
