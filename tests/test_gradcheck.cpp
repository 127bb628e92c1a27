// Finite-difference gradient checks for every dense layer, activation and loss (method in gradcheck.hpp).
#include "gradcheck.hpp"

using namespace ctnn;
using ctnn_test::check;

// (in, hidden, out) geometries with odd sizes; at least 2 outputs, since a softmax over one
// output is constant and its gradient identically zero.
template <class Act, class L>
void all_shapes() {
  check<Net<Input<1>, Dense<3>, Act, Dense<2>>, L, 1>();
  check<Net<Input<3>, Dense<17>, Act, Dense<2>>, L, 3>();
  check<Net<Input<17>, Dense<33>, Act, Dense<5>>, L, 2>();
  check<Net<Input<33>, Dense<100>, Act, Dense<3>>, L, 1>();
  check<Net<Input<100>, Dense<1>, Act, Dense<4>>, L, 3>();
}

TEST(GradCheck, DenseIdentityMse) { all_shapes<Identity, loss::MSE>(); }
TEST(GradCheck, ReLUMse) { all_shapes<ReLU, loss::MSE>(); }
TEST(GradCheck, LeakyReLUCrossEntropy) { all_shapes<LeakyReLU, loss::SoftmaxCrossEntropy>(); }
TEST(GradCheck, TanhCrossEntropy) { all_shapes<Tanh, loss::SoftmaxCrossEntropy>(); }
TEST(GradCheck, SigmoidMse) { all_shapes<Sigmoid, loss::MSE>(); }
TEST(GradCheck, GELUCrossEntropy) { all_shapes<GELU, loss::SoftmaxCrossEntropy>(); }
TEST(GradCheck, SiLUMse) { all_shapes<SiLU, loss::MSE>(); }
TEST(GradCheck, ReLUCrossEntropy) { all_shapes<ReLU, loss::SoftmaxCrossEntropy>(); }

TEST(GradCheck, SoftmaxLayerWithMse) {
  check<Net<Input<3>, Dense<2>, Softmax>, loss::MSE, 2>();
  check<Net<Input<1>, Dense<3>, Softmax>, loss::MSE, 1>();
  check<Net<Input<17>, Dense<33>, Softmax>, loss::MSE, 3>();
  check<Net<Input<5>, Dense<100>, Softmax>, loss::MSE, 1>();
}

TEST(GradCheck, DeepStackOfEveryActivation) {
  check<Net<Input<7>, Dense<9>, GELU, Dense<8>, Tanh, Dense<6>, Sigmoid, Dense<5>, LeakyReLU, Dense<4>, ReLU,
            Dense<3>>,
        loss::SoftmaxCrossEntropy, 4>(3);
}

// User-defined activations written as expressions (ctnn::Custom).
namespace {
using namespace ctnn::expr;
inline constexpr auto swish = x * sigmoid(x);
inline constexpr auto dswish = sigmoid(x) * (1.0f + x * (1.0f - sigmoid(x)));
inline constexpr auto softsign_like = x / (1.0f + x * x);
inline constexpr auto dsoftsign_like = (1.0f - x * x) / ((1.0f + x * x) * (1.0f + x * x));
using Swish = Custom<swish, dswish>;
using Soft = Custom<softsign_like, dsoftsign_like>;
using WrongSwish = Custom<swish, sigmoid(x)>;  // a plausible mistake: the derivative of x·σ(x) is not σ(x)

template <class A>
double max_derivative_error() {
  double worst = 0;
  for (double v = -4.0; v <= 4.0; v += 0.173) {
    const double h = 1e-6;
    const double numeric = (A::value(v + h) - A::value(v - h)) / (2 * h);
    worst = std::max(worst, std::abs(A::derivative(v, A::value(v)) - numeric));
  }
  return worst;
}
}  // namespace

TEST(GradCheck, CustomExpressionActivations) {
  EXPECT_LT(max_derivative_error<Swish>(), 1e-6);
  EXPECT_LT(max_derivative_error<Soft>(), 1e-6);
  EXPECT_GT(max_derivative_error<WrongSwish>(), 0.1) << "the check must catch a wrong derivative";
  all_shapes<Swish, loss::SoftmaxCrossEntropy>();
  all_shapes<Soft, loss::MSE>();
}
