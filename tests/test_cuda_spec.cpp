// The CUDA backend's compile-time view of a network and its device parameter layout:
// widths padded to 16, the activation fused behind each Dense, offsets, and packing
// to and from the CPU parameter order. Plain C++, so it runs where no GPU is.
#include <gtest/gtest.h>

#include <ctnn/backends/cuda/mlp_spec.hpp>
#include <ctnn/ctnn.hpp>
#include <vector>

using namespace ctnn;

namespace {
using Fashion = Net<Input<784>, Dense<256>, ReLU, Dense<128>, ReLU, Dense<10>>;
using W8 = Net<Input<64>, Dense<64>, ReLU, Dense<64>, ReLU, Dense<64>, ReLU, Dense<64>, ReLU, Dense<64>>;
using Odd = Net<Input<33>, Dense<48>, Tanh, Dense<17>, Sigmoid, Dense<3>, Identity>;
}  // namespace

TEST(CudaSpec, WidthsActivationsAndLayout) {
  using S = cuda::MlpSpec<Fashion>;
  static_assert(S::layers == 3);
  EXPECT_EQ(S::width, (std::array<std::size_t, 4>{784, 256, 128, 10}));
  EXPECT_EQ(S::padded, (std::array<std::size_t, 4>{784, 256, 128, 16}));
  static_assert(std::is_same_v<S::activation<0>, ReLU> && std::is_same_v<S::activation<1>, ReLU> &&
                std::is_same_v<S::activation<2>, Identity>);
  EXPECT_EQ(S::needs_input, (std::array<bool, 3>{false, false, false}));
  EXPECT_EQ(S::max_width, 256u);
  EXPECT_EQ(S::w_offset[1], 784u * 256 + 256);
  EXPECT_EQ(S::b_offset[2], S::w_offset[2] + 128u * 16);
  EXPECT_EQ(S::param_count, 784u * 256 + 256 + 256 * 128 + 128 + 128 * 16 + 16);
  EXPECT_EQ(S::saved_per_sample, 256u + 128 + 16);

  using O = cuda::MlpSpec<Odd>;
  EXPECT_EQ(O::padded, (std::array<std::size_t, 4>{48, 48, 32, 16}));
  static_assert(std::is_same_v<O::activation<0>, Tanh> && std::is_same_v<O::activation<1>, Sigmoid> &&
                std::is_same_v<O::activation<2>, Identity>);
  // An activation whose derivative needs its input has its pre-activation saved too.
  using G = cuda::MlpSpec<Net<Input<33>, Dense<48>, GELU, Dense<17>, LeakyReLUSlope<-1, 2>, Dense<3>>>;
  EXPECT_EQ(G::needs_input, (std::array<bool, 3>{true, true, false}));
  EXPECT_EQ(G::saved_offset, (std::array<std::size_t, 4>{0, 96, 160, 176}));
  EXPECT_EQ(G::saved_per_sample, 2u * 48 + 2 * 32 + 16);
  EXPECT_EQ(cuda::MlpSpec<W8>::layers, 5u);
  EXPECT_EQ(cuda::MlpSpec<W8>::param_count, W8::param_count);  // 64-wide: no padding at all
}

// pack then unpack gives the CPU parameters back exactly; every padded slot is zero and
// every real weight lands at [i][j] of its padded matrix.
TEST(CudaSpec, PackUnpackRoundTripWithZeroPadding) {
  using S = cuda::MlpSpec<Odd>;
  Odd net;
  net.init(7);
  std::vector<float> dev(S::param_count, 123.0f);
  S::pack(net.params(), dev);
  for (std::size_t l = 0; l < S::layers; ++l) {
    const std::size_t in = S::width[l], out = S::width[l + 1], ip = S::padded[l], op = S::padded[l + 1];
    const float* w = net.params().data() + Odd::param_offsets[2 * l];
    for (std::size_t i = 0; i < ip; ++i)
      for (std::size_t j = 0; j < op; ++j) {
        const float v = dev[S::w_offset[l] + i * op + j];
        if (i < in && j < out)
          ASSERT_EQ(v, w[i * out + j]) << "layer " << l << " [" << i << "][" << j << "]";
        else
          ASSERT_EQ(v, 0.0f) << "padding, layer " << l;
      }
    for (std::size_t j = 0; j < op; ++j) ASSERT_EQ(dev[S::b_offset[l] + j], j < out ? w[in * out + j] : 0.0f);
  }
  Odd back;
  back.init(99);
  S::unpack(dev, back.params());
  EXPECT_TRUE(std::equal(back.params().begin(), back.params().end(), net.params().begin()));
}
