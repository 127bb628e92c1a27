// Shape inference, parameter layout and compile-time footprints.
#include <gtest/gtest.h>

#include <ctnn/ctnn.hpp>

using namespace ctnn;

using Mlp = Net<Input<784>, Dense<256>, ReLU, Dense<128>, ReLU, Dense<10>>;

static_assert(Mlp::input_shape == Shape<784>{});
static_assert(Mlp::output_shape == Shape<10>{});
static_assert(!(Mlp::output_shape == Shape<11>{}));
static_assert(Mlp::input_size == 784 && Mlp::output_size == 10);
static_assert(Mlp::layer_count == 5);
static_assert(Mlp::param_count == 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10);
static_assert(Mlp::param_offsets[0] == 0);
static_assert(Mlp::param_offsets[1] == 784 * 256 + 256);
static_assert(Mlp::param_offsets[2] == 784 * 256 + 256);
static_assert(Mlp::param_offsets[4] == 784 * 256 + 256 + 256 * 128 + 128);
static_assert(Mlp::param_sizes[1] == 0 && Mlp::param_sizes[3] == 0);
// Dense: 2·in·out + out; activations: one per element.
static_assert(Mlp::flops_forward == (2 * 784 * 256 + 256) + 256 + (2 * 256 * 128 + 128) + 128 + (2 * 128 * 10 + 10));
static_assert(Mlp::max_width == 784);
static_assert(Mlp::workspace_bytes<64> == 2 * 784 * 64 * sizeof(float));
static_assert(Workspace<Mlp, Batch<64>>::bytes == Mlp::workspace_bytes<64>);
static_assert(Mlp::activation_count == 256 + 256 + 128 + 128 + 10);
static_assert(Mlp::training_workspace_bytes<2> == (778 + 10 + 2 * 784) * 2 * sizeof(float));

// Each layer is bound to the shape the previous one produced.
static_assert(std::is_same_v<Mlp::layer<0>::input_shape, Shape<784>>);
static_assert(std::is_same_v<Mlp::layer<2>::input_shape, Shape<256>>);
static_assert(std::is_same_v<Mlp::layer<3>::output_shape, Shape<128>>);
static_assert(Mlp::layer<4>::in == 128 && Mlp::layer<4>::out == 10);
static_assert(TrainableLayer<Mlp::layer<0>> && !TrainableLayer<Mlp::layer<1>>);

// Activation-only and single-layer nets are fine; shapes of any rank pass through activations.
using Act = Net<Input<2, 3>, Tanh>;
static_assert(Act::param_count == 0 && Act::output_shape == Shape<2, 3>{} && Act::output_size == 6);
using One = Net<Input<1>, Dense<1>>;
static_assert(One::param_count == 2 && One::flops_forward == 3);
using WithSoftmax = Net<Input<5>, Dense<4>, Sigmoid, Dense<3>, Softmax>;
static_assert(WithSoftmax::flops_forward == (2 * 5 * 4 + 4) + 4 + (2 * 4 * 3 + 3) + 4 * 3);

TEST(Shapes, ParamsSpanCoversTheBlockAndIsAligned) {
  static Mlp net;
  EXPECT_EQ(net.params().size(), Mlp::param_count);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(net.params().data()) % alignment, 0u);
  auto l4 = net.layer_params<4>();
  EXPECT_EQ(l4.size(), 128u * 10 + 10);
  EXPECT_EQ(l4.data(), net.params().data() + Mlp::param_offsets[4]);
  EXPECT_TRUE(net.layer_params<1>().empty());
}

TEST(Shapes, NetHoldsOnlyItsParameters) {
  // Inference pays for parameters alone: the object is the aligned block, nothing more.
  EXPECT_EQ(sizeof(One), 64u);
  EXPECT_LE(sizeof(Mlp), Mlp::param_count * sizeof(float) + alignment);
}

TEST(Shapes, TypeListIndexing) {
  using L = TypeList<int, float, double>;
  static_assert(std::is_same_v<type_at_t<0, L>, int>);
  static_assert(std::is_same_v<type_at_t<2, L>, double>);
  EXPECT_EQ(L::size, 3u);
}
