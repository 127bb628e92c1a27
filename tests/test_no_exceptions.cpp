// Built with -fno-exceptions -fno-rtti: the whole library header set compiles, and
// batch-1 inference of an MLP (by the Net and by a Predictor) and a CNN runs and gives
// the hand-computed answers.
#include <cmath>
#include <cstdio>
#include <ctnn/ctnn.hpp>

#if defined(__cpp_exceptions) || defined(__EXCEPTIONS) || defined(__GXX_RTTI)
#error "this translation unit must be compiled with -fno-exceptions -fno-rtti"
#endif

using namespace ctnn;
using N = Net<Input<3>, Dense<2>, Tanh, Dense<1>, Sigmoid>;

int main() {
  static N net;
  // Layer 0: W [3][2], b [2]; layer 2: W [2][1], b [1].
  const float p[] = {0.1f, -0.2f, 0.3f, 0.4f, -0.5f, 0.6f, 0.05f, -0.05f, 1.5f, -2.0f, 0.25f};
  for (std::size_t k = 0; k < N::param_count; ++k) net.params()[k] = p[k];
  const std::array<float, 3> x{1.0f, 2.0f, 3.0f};
  const auto y = net.forward(x);
  const double h0 = std::tanh(1 * 0.1 + 2 * 0.3 - 3 * 0.5 + 0.05);
  const double h1 = std::tanh(-1 * 0.2 + 2 * 0.4 + 3 * 0.6 - 0.05);
  const double expected = 1.0 / (1.0 + std::exp(-(1.5 * h0 - 2.0 * h1 + 0.25)));
  if (std::abs(y[0] - expected) > 1e-6) {
    std::printf("FAIL: y=%.9f expected %.9f\n", static_cast<double>(y[0]), expected);
    return 1;
  }
  // The same network through a Predictor (packed batch-1 kernels on SIMD backends).
  static const Predictor<N> pred(net);
  const auto yp = pred.forward(x);
  if (std::abs(yp[0] - expected) > 1e-6) {
    std::printf("FAIL: predictor y=%.9f expected %.9f\n", static_cast<double>(yp[0]), expected);
    return 1;
  }
  // A CNN: a 1x3x3 image, one 2x2 kernel [[1, 0], [0, 1]] with bias 0.5, padding 0, then
  // max pooling over the 2x2 result and a Dense<1> of weight 2: 2·max(6.5, 8.5, 12.5, 14.5) = 29.
  using C = Net<Input<1, 3, 3>, Conv2D<1, 2>, ReLU, MaxPool2D<2>, Flatten, Dense<1>>;
  static C cnn;
  const float cp[] = {1, 0, 0, 1, 0.5f, 2, 0};
  for (std::size_t k = 0; k < C::param_count; ++k) cnn.params()[k] = cp[k];
  const std::array<float, 9> img{1, 2, 3, 4, 5, 6, 7, 8, 9};
  const auto c = cnn.forward(img);
  if (std::abs(c[0] - 29.0f) > 1e-5f) {
    std::printf("FAIL: cnn y=%.9f expected 29\n", static_cast<double>(c[0]));
    return 1;
  }
  std::printf("ok: batch-1 inference without exceptions or RTTI, y=%.6f, cnn y=%.3f\n", static_cast<double>(y[0]),
              static_cast<double>(c[0]));
  return 0;
}
