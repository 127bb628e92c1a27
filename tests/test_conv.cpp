// Convolutional layers on the reference backend: inferred shapes and footprints,
// hand-computed values (channels-last layout, padding, strides), pooling, Flatten and
// Dropout's mask (rate, scaling, reproducibility, identity in inference).
#include <gtest/gtest.h>

#include <cmath>
#include <ctnn/ctnn.hpp>
#include <memory>
#include <vector>

using namespace ctnn;

using LeNet = Net<Input<1, 28, 28>, Conv2D<16, 5, 1, 2>, ReLU, MaxPool2D<2>, Conv2D<32, 5>, ReLU, MaxPool2D<2>, Flatten,
                  Dense<128>, ReLU, Dense<10>>;

static_assert(std::is_same_v<LeNet::layer<0>::output_shape, Shape<16, 28, 28>>);
static_assert(std::is_same_v<LeNet::layer<2>::output_shape, Shape<16, 14, 14>>);
static_assert(std::is_same_v<LeNet::layer<3>::output_shape, Shape<32, 10, 10>>);
static_assert(std::is_same_v<LeNet::layer<5>::output_shape, Shape<32, 5, 5>>);
static_assert(std::is_same_v<LeNet::layer<6>::output_shape, Shape<800>>);
static_assert(LeNet::output_shape == Shape<10>{});
static_assert(LeNet::input_shape == Shape<1, 28, 28>{});
static_assert(LeNet::param_sizes[0] == 5 * 5 * 1 * 16 + 16);
static_assert(LeNet::param_sizes[3] == 5 * 5 * 16 * 32 + 32);
static_assert(LeNet::param_count == 416 + 12832 + 800 * 128 + 128 + 128 * 10 + 10);
static_assert(LeNet::layer<0>::flops == 28 * 28 * (2 * 25 * 16 + 16));
static_assert(LeNet::max_width == 16 * 28 * 28);
// Inference scratch: the zero-padded 32x32 input of the first convolution.
static_assert(LeNet::inference_scratch<1> == 32 * 32);
static_assert(LeNet::workspace_bytes<4> == (2 * 16 * 28 * 28 * 4 + 4 * 32 * 32) * sizeof(float));
// Strides, rectangular kernels and padding.
static_assert(Net<Input<3, 17, 13>, Conv2D<4, 3, 2, 1>>::output_shape == Shape<4, 9, 7>{});
static_assert(Net<Input<2, 7, 8>, Conv2DRect<3, 3, 2, 1, 2, 0, 1>>::output_shape == Shape<3, 5, 5>{});
static_assert(Net<Input<5, 9, 7>, MaxPool2D<3, 2>>::output_shape == Shape<5, 4, 3>{});
static_assert(Net<Input<5, 8, 8>, AvgPool2D<2>, Flatten>::output_shape == Shape<80>{});
static_assert(Net<Input<6>, Dropout<500>>::output_shape == Shape<6>{});

namespace {
template <class N>
std::vector<float> run(const N& net, const std::vector<float>& x) {
  const auto y = net.template forward<backend::scalar>(std::span<const float, N::input_size>(x.data(), N::input_size));
  return {y.begin(), y.end()};
}
}  // namespace

TEST(Conv, ValidConvolutionByHand) {
  // 3x3 image 1..9, 2x2 kernel [[1, 0], [0, 1]], bias 0.5: y = x[i][j] + x[i+1][j+1] + 0.5.
  Net<Input<1, 3, 3>, Conv2D<1, 2>> net;
  auto p = net.params();
  p[0] = 1, p[1] = 0, p[2] = 0, p[3] = 1, p[4] = 0.5f;
  EXPECT_EQ(run(net, {1, 2, 3, 4, 5, 6, 7, 8, 9}), (std::vector<float>{6.5f, 8.5f, 12.5f, 14.5f}));
}

TEST(Conv, ZeroPaddingCountsOnlyTheImage) {
  // All-ones 3x3 kernel over an all-ones 3x3 image, padding 1: corners see 4, edges 6, centre 9.
  Net<Input<1, 3, 3>, Conv2D<1, 3, 1, 1>> net;
  for (std::size_t k = 0; k < 9; ++k) net.params()[k] = 1.0f;
  EXPECT_EQ(run(net, std::vector<float>(9, 1.0f)), (std::vector<float>{4, 6, 4, 6, 9, 6, 4, 6, 4}));
}

TEST(Conv, StrideSkipsPositions) {
  // 1x5x5 image with value = index, 1x1 kernel of weight 2, stride 2: samples (0,0),(0,2),(0,4),(2,0)...
  Net<Input<1, 5, 5>, Conv2D<1, 1, 2>> net;
  net.params()[0] = 2.0f;
  std::vector<float> x(25);
  for (std::size_t i = 0; i < 25; ++i) x[i] = float(i);
  EXPECT_EQ(run(net, x), (std::vector<float>{0, 4, 8, 20, 24, 28, 40, 44, 48}));
}

TEST(Conv, ChannelsLastLayout) {
  // Input<2, 1, 2>: two pixels of two channels, stored pixel by pixel [p0c0, p0c1, p1c0, p1c1].
  // A 1x1 convolution to 2 channels with W[c][o]: out(p, o) = Σ_c x(p, c)·W[c][o].
  Net<Input<2, 1, 2>, Conv2D<2, 1>> net;
  auto p = net.params();
  p[0] = 1, p[1] = 10, p[2] = 100, p[3] = 1000;  // W[0][0], W[0][1], W[1][0], W[1][1]
  EXPECT_EQ(run(net, {1, 2, 3, 4}), (std::vector<float>{201, 2010, 403, 4030}));
}

TEST(Pool, MaxAndAverageByHand) {
  const std::vector<float> x{1, 5, 2, 0,  //
                             3, 4, 8, 6,  //
                             0, 0, 1, 1,  //
                             9, 0, 1, 3};
  Net<Input<1, 4, 4>, MaxPool2D<2>> mx;
  EXPECT_EQ(run(mx, x), (std::vector<float>{5, 8, 9, 3}));
  Net<Input<1, 4, 4>, AvgPool2D<2>> avg;
  EXPECT_EQ(run(avg, x), (std::vector<float>{3.25f, 4, 2.25f, 1.5f}));
  Net<Input<1, 4, 4>, MaxPool2D<3, 1>> overlap;
  EXPECT_EQ(run(overlap, x), (std::vector<float>{8, 8, 9, 8}));
}

TEST(Pool, MaxGradientGoesToTheFirstMaximum) {
  using G = kernel::Window<1, 2, 2, 2, 2, 2, 2, 0, 0>;
  const float x[4] = {7, 7, 1, 7}, y[1] = {7}, dy[1] = {3};
  float dx[4] = {9, 9, 9, 9};
  kernel::max_pool_backward<G, 1>(backend::scalar{}, x, y, dy, dx);
  EXPECT_EQ(std::vector<float>(dx, dx + 4), (std::vector<float>{3, 0, 0, 0}));
}

TEST(Flatten, KeepsMemoryOrder) {
  Net<Input<2, 2, 2>, Flatten> net;
  const std::vector<float> x{1, 2, 3, 4, 5, 6, 7, 8};
  EXPECT_EQ(run(net, x), x);
}

TEST(Dropout, IdentityInInference) {
  Net<Input<100>, Dropout<500>> net;
  std::vector<float> x(100);
  for (std::size_t i = 0; i < 100; ++i) x[i] = float(i) - 50.0f;
  EXPECT_EQ(run(net, x), x);
}

TEST(Dropout, TrainingMaskRateScaleAndReproducibility) {
  using D = Dropout<300>::bind<Shape<1000>>;
  constexpr std::size_t B = 100, n = B * 1000;
  std::vector<float> x(n, 2.0f), y(n), y2(n), y3(n), y4(n);
  const float* no_params = nullptr;
  float* no_grads = nullptr;
  PassContext ctx;
  ctx.training = true;
  ctx.seed = 42;
  ctx.step = 5;
  ctx.layer = 3;
  D::forward<B>(backend::scalar{}, no_params, x.data(), y.data(), ctx);
  std::size_t dropped = 0;
  for (float v : y) {
    if (v == 0.0f)
      ++dropped;
    else
      ASSERT_FLOAT_EQ(v, 2.0f / 0.7f);
  }
  // Binomial(100000, 0.3): sd = 145; allow 5 sd.
  EXPECT_NEAR(double(dropped), 30000.0, 725.0);
  D::forward<B>(backend::scalar{}, no_params, x.data(), y2.data(), ctx);
  EXPECT_EQ(y, y2) << "same seed, step and layer: same mask";
  ctx.step = 6;
  D::forward<B>(backend::scalar{}, no_params, x.data(), y3.data(), ctx);
  EXPECT_NE(y, y3) << "a new step draws a new mask";
  ctx.step = 5;
  ctx.layer = 4;
  D::forward<B>(backend::scalar{}, no_params, x.data(), y4.data(), ctx);
  EXPECT_NE(y, y4) << "another layer draws another mask";

  // Backward applies the same mask and scale to the gradient.
  ctx.layer = 3;
  std::vector<float> dx(n);
  D::backward<B>(backend::scalar{}, no_params, x.data(), y.data(), x.data(), dx.data(), no_grads, ctx);
  EXPECT_EQ(dx, y);
}

TEST(Dropout, TrainerSeedChangesTheRun) {
  using N = Net<Input<8>, Dense<32>, ReLU, Dropout<500>, Dense<2>>;
  const std::vector<float> x{1, -2, 3, 0.5f, -1, 2, 0.25f, 1};
  const std::vector<int> t{1};
  auto train = [&](std::uint64_t seed) {
    N net;
    net.init(1);
    Trainer<N, loss::SoftmaxCrossEntropy, optim::SGD, Batch<1>> tr(net, {.lr = 0.1f}, seed);
    for (int i = 0; i < 3; ++i) tr.step(x, t);
    return std::vector<float>(net.params().begin(), net.params().end());
  };
  EXPECT_EQ(train(1), train(1));
  EXPECT_NE(train(1), train(2));
}
