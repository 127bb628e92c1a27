// Latency-critical inference: a small tanh MLP (16-64-64-16, the size of a control or
// audio model) is trained to imitate a known map, then served sample by sample through
// ctnn::Predictor, whose weights are packed for the batch-1 kernels. Prints the time per
// sample of the Predictor and of Net::forward on a stream of independent inputs and in a
// feedback loop, and how far apart their answers are.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctnn/ctnn.hpp>
#include <vector>

using namespace ctnn;
using Model = Net<Input<16>, Dense<64>, Tanh, Dense<64>, Tanh, Dense<16>>;

namespace {
// The map to learn: each output a smooth function of two neighbouring inputs.
void target(const float* x, float* t) {
  for (std::size_t j = 0; j < 16; ++j) t[j] = 0.5f * std::sin(2.0f * x[j]) + 0.3f * x[(j + 1) % 16];
}

// Median over 15 rounds of the mean time of `calls` consecutive calls, in ns.
template <class F>
double median_ns(F&& f, int calls) {
  std::vector<double> rounds;
  for (int r = 0; r < 15; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int c = 0; c < calls; ++c) f(c);
    const std::chrono::duration<double, std::nano> dt = std::chrono::steady_clock::now() - t0;
    rounds.push_back(dt.count() / calls);
  }
  std::nth_element(rounds.begin(), rounds.begin() + 7, rounds.end());
  return rounds[7];
}
}  // namespace

int main() {
  static Model net;
  net.init(init::XavierUniform{}, 5);
  Trainer<Model, loss::MSE, optim::Adam, Batch<32>> trainer{net, {.lr = 2e-3f}};
  Rng rng(9);
  std::vector<float> xs(32 * 16), ts(32 * 16);
  float loss = 0;
  for (int step = 1; step <= 3000; ++step) {
    for (float& v : xs) v = rng.uniform(1.0f);
    for (std::size_t s = 0; s < 32; ++s) target(&xs[s * 16], &ts[s * 16]);
    loss = trainer.step(xs, ts);
  }

  static const Predictor<Model> pred(net);  // snapshot of the trained weights, packed
  std::vector<std::array<float, 16>> inputs(256);
  for (auto& x : inputs)
    for (float& v : x) v = rng.uniform(1.0f);
  double max_diff = 0, err = 0;
  for (const auto& x : inputs) {
    const auto a = pred.forward(x), b = net.forward(x);
    std::array<float, 16> t;
    target(x.data(), t.data());
    for (std::size_t j = 0; j < 16; ++j) {
      max_diff = std::max(max_diff, static_cast<double>(std::abs(a[j] - b[j])));
      err += std::abs(static_cast<double>(a[j]) - t[j]) / (16.0 * static_cast<double>(inputs.size()));
    }
  }
  // A stream: each call's input is the next frame, independent of the last output (a
  // feed-forward model on a signal), so consecutive calls can overlap in the core.
  float sink = 0;
  const double pred_stream = median_ns([&](int c) { sink += pred.forward(inputs[c & 255])[0]; }, 200000);
  const double net_stream = median_ns([&](int c) { sink += net.forward(inputs[c & 255])[0]; }, 200000);
  // A feedback loop: each input depends on the previous output (a controller), so every
  // call waits for the one before: pure latency.
  std::array<float, 16> state = inputs[0];
  auto feedback = [&](const std::array<float, 16>& y) {
    for (std::size_t j = 0; j < 16; ++j) state[j] = 1e-3f * y[j] + inputs[1][j];
  };
  const double pred_loop = median_ns([&](int) { feedback(pred.forward(state)); }, 200000);
  const double net_loop = median_ns([&](int) { feedback(net.forward(state)); }, 200000);
  std::printf("stream: predictor %.1f ns, net %.1f ns per sample; feedback loop: predictor %.1f ns, net %.1f ns "
              "(checksum %.3g)\n",
              pred_stream, net_stream, pred_loop, net_loop, static_cast<double>(sink + state[0]));
  std::printf("result final_loss=%.5f mean_abs_error=%.4f predictor_stream_ns=%.1f max_diff=%.2e\n",
              static_cast<double>(loss), err, pred_stream, max_diff);
  return (max_diff < 1e-5 && err < 0.05) ? 0 : 1;  // the exit code is the test: same answers, and it learned
}
