// Finite-difference gradient checks for every layer, activation and loss.
//
// Method: the network runs in double precision through the same reference kernels
// (they are templates on the value type). The analytic parameter gradient from
// backward_pass is compared with central differences (L(p+h) - L(p-h)) / 2h, h = 1e-6.
// Truncation error is O(h²) ≈ 1e-12 and rounding error ≈ 1e-16/h = 1e-10, so the stated
// tolerance is |analytic - numeric| <= 1e-6 · max(1, |analytic|). The float path is then
// checked against the double analytic gradient with relative tolerance 1e-3 (of the
// largest gradient). Kinks (ReLU at 0) are avoided: pre-activations lie within h of 0
// with probability ~1e-6 per value.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <ctnn/ctnn.hpp>
#include <type_traits>
#include <vector>

using namespace ctnn;

template <class N, class L, std::size_t B>
struct GradCase {
  static constexpr std::size_t P = N::param_count;
  static constexpr std::size_t targets = B * L::template targets_per_sample<N::output_size>;
  using target_t = std::conditional_t<std::is_same_v<L, loss::MSE>, double, int>;

  std::vector<double> p = std::vector<double>(P), x = std::vector<double>(B * N::input_size);
  std::vector<target_t> t = std::vector<target_t>(targets);

  explicit GradCase(std::uint64_t seed) {
    Rng rng(seed);
    for (auto& v : p) v = rng.uniform(1.0f);
    for (auto& v : x) v = rng.uniform(1.5f);
    for (auto& v : t) {
      if constexpr (std::is_same_v<target_t, int>)
        v = static_cast<int>(rng.below(N::output_size));
      else
        v = rng.uniform(1.0f);
    }
  }

  template <class T, class Tt>
  static T loss_of(const std::vector<T>& params, const std::vector<T>& in, const std::vector<Tt>& tg,
                   std::vector<T>* grads = nullptr) {
    std::vector<T> outs(N::activation_count * B), dout(N::output_size * B), s0(N::max_width * B),
        s1(N::max_width * B);
    forward_pass_saving<N, B>(backend::scalar{}, params.data(), in.data(), outs.data());
    const T* y = outs.data() + N::activation_offsets[N::layer_count - 1] * B;
    const T l = L::template value_and_gradient<N::output_size, B>(y, tg.data(), grads ? dout.data() : nullptr);
    if (grads) {
      grads->assign(params.size(), T(0));
      backward_pass<N, B>(backend::scalar{}, params.data(), in.data(), outs.data(), dout.data(), grads->data(),
                          s0.data(), s1.data());
    }
    return l;
  }

  void run() {
    std::vector<double> g;
    loss_of(p, x, t, &g);
    const double h = 1e-6;
    double max_abs = 0;
    for (std::size_t k = 0; k < P; ++k) {
      auto pp = p, pm = p;
      pp[k] += h;
      pm[k] -= h;
      const double numeric = (loss_of(pp, x, t) - loss_of(pm, x, t)) / (2 * h);
      ASSERT_NEAR(g[k], numeric, 1e-6 * std::max(1.0, std::abs(g[k])))
          << "parameter " << k << " of " << P << " in " << typeid(N).name();
      max_abs = std::max(max_abs, std::abs(g[k]));
    }
    EXPECT_GT(max_abs, 0.0) << "all gradients zero: the check would be vacuous";

    // The float instantiation agrees with the double one.
    std::vector<float> pf(p.begin(), p.end()), xf(x.begin(), x.end()), gf;
    std::vector<std::conditional_t<std::is_same_v<target_t, int>, int, float>> tf(t.begin(), t.end());
    loss_of(pf, xf, tf, &gf);
    for (std::size_t k = 0; k < P; ++k) ASSERT_NEAR(gf[k], g[k], 1e-3 * std::max(1.0, max_abs)) << "float k=" << k;
  }
};

template <class N, class L, std::size_t B>
void check(std::uint64_t seed = 1) {
  SCOPED_TRACE(testing::Message() << "batch " << B << ", net " << typeid(N).name());
  GradCase<N, L, B>(seed).run();
}

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
