// Finite-difference gradient checks for the convolutional layers (method in gradcheck.hpp):
// Conv2D (square and rectangular, strided, padded), MaxPool2D, AvgPool2D, Flatten and
// Dropout (with a fixed training mask), over odd geometries.
#include "gradcheck.hpp"

using namespace ctnn;
using ctnn_test::check;
using CE = loss::SoftmaxCrossEntropy;

TEST(GradCheckConv, StridedPaddedOnTinyImage) {
  // 1x5x5 input, 3x3 kernel, stride 2, padding 1 -> 2x3x3.
  check<Net<Input<1, 5, 5>, Conv2D<2, 3, 2, 1>, Tanh, Flatten, Dense<3>>, CE, 2>();
  check<Net<Input<1, 5, 5>, Conv2D<1, 3, 2, 1>, Flatten, Dense<2>>, loss::MSE, 1>();
}

TEST(GradCheckConv, OddImageTwoConvolutions) {
  // 3x17x13 input; the second convolution's input gradient reaches the first one's parameters.
  check<Net<Input<3, 17, 13>, Conv2D<4, 3>, ReLU, Conv2D<2, 5, 1, 2>, Flatten, Dense<2>>, CE, 2>(5);
}

TEST(GradCheckConv, Rectangular) {
  // 2x7x8 input, 3x2 kernel, strides 1 and 2, padding 0 and 1 -> 3x5x5.
  check<Net<Input<2, 7, 8>, Conv2DRect<3, 3, 2, 1, 2, 0, 1>, Sigmoid, Conv2D<2, 1>, Flatten, Dense<2>>, CE, 3>();
}

TEST(GradCheckConv, MaxPool) {
  check<Net<Input<2, 8, 6>, Conv2D<3, 3, 1, 1>, ReLU, MaxPool2D<2>, Conv2D<2, 3>, Flatten, Dense<2>>, CE, 2>();
  // Overlapping windows (3x3, stride 2).
  check<Net<Input<1, 9, 7>, Conv2D<3, 3, 1, 1>, Tanh, MaxPool2D<3, 2>, Flatten, Dense<3>>, loss::MSE, 2>(9);
}

TEST(GradCheckConv, AvgPool) {
  check<Net<Input<3, 7, 7>, Conv2D<2, 3, 1, 1>, GELU, AvgPool2D<3, 2>, Flatten, Dense<2>>, CE, 2>();
  check<Net<Input<1, 6, 6>, Conv2D<5, 1>, AvgPool2D<2>, Conv2D<2, 3>, Flatten, Dense<2>>, loss::MSE, 1>(4);
}

TEST(GradCheckConv, DropoutWithFixedMask) {
  PassContext ctx;
  ctx.training = true;
  ctx.seed = 7;
  ctx.step = 3;
  check<Net<Input<12>, Dense<17>, Tanh, Dropout<300>, Dense<3>>, CE, 3>(1, ctx);
  check<Net<Input<2, 6, 5>, Conv2D<3, 3, 1, 1>, ReLU, Dropout<500>, MaxPool2D<2, 1>, Flatten, Dense<2>>, CE, 2>(2, ctx);
}

TEST(GradCheckConv, SmallLeNet) {
  check<Net<Input<1, 12, 12>, Conv2D<4, 5, 1, 2>, ReLU, MaxPool2D<2>, Conv2D<6, 3>, ReLU, MaxPool2D<2>, Flatten,
            Dense<8>, ReLU, Dense<3>>,
        CE, 2>(11);
}
