// A user-defined activation written as an expression of x (value and derivative), fused
// into the Dense epilogue on the SIMD backend, trained on y = sin(3x) + 0.5x².
#include <cmath>
#include <cstdio>
#include <ctnn/ctnn.hpp>
#include <vector>

using namespace ctnn;
using namespace ctnn::expr;

// Swish: x·σ(x), and its derivative σ(x)·(1 + x·(1 − σ(x))).
inline constexpr auto swish = x * sigmoid(x);
inline constexpr auto dswish = sigmoid(x) * (1.0f + x * (1.0f - sigmoid(x)));
using Swish = Custom<swish, dswish>;

using Model = Net<Input<1>, Dense<32>, Swish, Dense<32>, Swish, Dense<1>>;
static_assert(FusionPlan<Model>::count == 3, "both Dense+Swish pairs fuse");

int main() {
  Model net;
  net.init(init::XavierUniform{}, 1);
  Trainer<Model, loss::MSE, optim::Adam, Batch<32>> trainer{net, {.lr = 3e-3f}};
  Rng rng(7);
  std::vector<float> xs(32), ts(32);
  float loss = 0;
  for (int step = 1; step <= 4000; ++step) {
    for (std::size_t k = 0; k < 32; ++k) {
      xs[k] = rng.uniform(1.5f);
      ts[k] = std::sin(3.0f * xs[k]) + 0.5f * xs[k] * xs[k];
    }
    loss = trainer.step(xs, ts);
    if (step % 1000 == 0) std::printf("step %4d  loss %.5f\n", step, static_cast<double>(loss));
  }
  double sum = 0;
  int n = 0;
  for (float v = -1.4f; v <= 1.4f; v += 0.01f, ++n) {
    const auto y = net.forward(std::array<float, 1>{v});
    sum += std::abs(static_cast<double>(y[0]) - (std::sin(3.0 * v) + 0.5 * v * v));
  }
  const double mean_abs = sum / n;
  std::printf("result final_loss=%.5f mean_abs_error=%.4f\n", static_cast<double>(loss), mean_abs);
  return mean_abs < 0.05 ? 0 : 1;  // the exit code is the test
}
