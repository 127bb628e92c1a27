// A virtual-analog effect: a GRU learns a drive pedal from audio, then runs it one sample
// at a time as an audio callback would.
//
// The "pedal" is written below: a one-pole low-pass filter followed by a tanh waveshaper
// whose drive is a knob. Plucked-string notes at 48 kHz go through it; a GRU with 16 units
// and a Dense(1) output (`Net<Input<T, 1>, GRU<16>, Dense<1>>`) is trained on windows of T
// samples to reproduce the pedal's output, by backpropagation through time. Then
// `ctnn::Stream` runs the trained model sample by sample over held-out audio, from a zero
// state, and the example prints
//
//   result esr=... realtime_factor=...
//
// esr is the error-to-signal ratio Σ(y - ŷ)² / Σ y² on the held-out audio (0 is perfect;
// amp-modelling work calls ≤ 0.01 inaudible for most material), realtime_factor the time
// the stream took per second of audio (below 1: faster than real time). Exits 1 when
// esr > --max-esr (0.01).
//
// With --tbptt the windows are consecutive instead of random: 32 streams, each a 32nd of the
// training audio, are cut into windows of T samples, and the GRU carries its state from one
// window to the next (truncated backpropagation through time, `Trainer::carry_state`).
#include <CLI/CLI.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctnn/ctnn.hpp>
#include <memory>
#include <numbers>
#include <vector>

using namespace ctnn;

namespace {

constexpr double rate = 48000.0;  // samples per second
constexpr std::size_t window = 96;  // training sequence: 2 ms
constexpr std::size_t batch = 32;
using Model = Net<Input<window, 1>, GRU<16>, Dense<1>>;

/// Plucked notes: every 40-250 ms a new note of 2-6 harmonics decaying at their own rates, at
/// a random pitch (E2..E5) and loudness; the notes ring over one another.
std::vector<float> guitar(double seconds, std::uint64_t seed) {
  Rng rng(seed);
  const std::size_t n = static_cast<std::size_t>(seconds * rate);
  std::vector<float> x(n, 0.0f);
  for (std::size_t start = 0; start < n;) {
    const double f0 = 82.4 * std::pow(2.0, 3.0 * rng.uniform());  // E2 .. E5
    const double loud = 0.15 + 0.85 * rng.uniform();
    const int harmonics = 2 + static_cast<int>(rng.below(5));
    for (int h = 1; h <= harmonics; ++h) {
      const double amp = loud / h, decay = (3.0 + 4.0 * rng.uniform()) * h;
      const double phase = 2 * std::numbers::pi * rng.uniform();
      for (std::size_t t = start; t < n && t < start + static_cast<std::size_t>(rate); ++t) {
        const double s = static_cast<double>(t - start) / rate;
        x[t] += static_cast<float>(amp * std::exp(-decay * s) * std::sin(2 * std::numbers::pi * f0 * h * s + phase));
      }
    }
    start += static_cast<std::size_t>((0.04 + 0.21 * rng.uniform()) * rate);
  }
  for (auto& v : x) v *= 0.5f;
  return x;
}

/// The pedal: a one-pole low-pass at `cutoff` Hz, then tanh(drive · v) / tanh(drive).
std::vector<float> pedal(const std::vector<float>& x, double drive, double cutoff) {
  const double a = 1.0 - std::exp(-2.0 * std::numbers::pi * cutoff / rate);
  std::vector<float> y(x.size());
  double v = 0;
  for (std::size_t t = 0; t < x.size(); ++t) {
    v += a * (x[t] - v);
    y[t] = static_cast<float>(std::tanh(drive * v) / std::tanh(drive));
  }
  return y;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Train a GRU to model a drive pedal, then stream it sample by sample"};
  double drive = 4.0, cutoff = 3000.0, train_seconds = 20.0, test_seconds = 2.0, max_esr = 0.01;
  float lr = 0.01f;
  std::size_t steps = 1500;
  std::uint64_t seed = 1;
  bool tbptt = false;
  app.add_option("--drive", drive, "the pedal's drive knob (gain into the tanh)")->check(CLI::Range(0.1, 50.0));
  app.add_option("--cutoff", cutoff, "the pedal's low-pass cutoff in Hz")->check(CLI::Range(20.0, 20000.0));
  app.add_option("--steps", steps, "training steps (batches of 32 windows of 96 samples)")->check(CLI::PositiveNumber);
  app.add_option("--lr", lr, "Adam's peak learning rate (cosine decay)")->check(CLI::PositiveNumber);
  app.add_option("--train-seconds", train_seconds, "seconds of training audio")->check(CLI::Range(0.1, 600.0));
  app.add_option("--test-seconds", test_seconds, "seconds of held-out audio")->check(CLI::Range(0.1, 600.0));
  app.add_option("--max-esr", max_esr, "exit 1 when the held-out error-to-signal ratio is above this");
  app.add_option("--seed", seed, "seed of the audio and the initial weights");
  app.add_flag("--tbptt", tbptt, "consecutive windows of 32 streams with the state carried (truncated BPTT)");
  CLI11_PARSE(app, argc, argv);

  const auto x_train = guitar(train_seconds, seed), y_train = pedal(x_train, drive, cutoff);
  const auto x_test = guitar(test_seconds, seed + 1000), y_test = pedal(x_test, drive, cutoff);
  std::printf("model: %s, %zu parameters\n", net_name<Model>().c_str(), Model::param_count);
  std::printf("audio: %.1f s to train on, %.1f s held out, 48 kHz; pedal drive %.1f, low-pass %.0f Hz\n",
              train_seconds, test_seconds, drive, cutoff);

  auto net = make_unique_net<Model>();
  net->init(seed);
  Trainer<Model, loss::MSE, optim::Adam, Batch<batch>> trainer(*net, {.lr = lr});
  const lr::WarmupCosine schedule{.base = lr, .warmup = steps / 20 + 1, .total = steps, .min = lr / 50};
  Rng rng(seed + 7);
  std::vector<float> xs(batch * window), ys(batch * window);
  const std::size_t windows_per_stream = x_train.size() / batch / window;  // --tbptt
  if (tbptt && windows_per_stream == 0) {
    std::fprintf(stderr, "error: --tbptt needs at least %zu samples of training audio\n", batch * window);
    return 2;
  }
  trainer.carry_state(tbptt);
  const auto t0 = std::chrono::steady_clock::now();
  double running = 0;
  for (std::size_t s = 0; s < steps; ++s) {
    const std::size_t w = tbptt ? s % windows_per_stream : 0;
    if (tbptt && w == 0) trainer.reset_state();  // every stream starts again from its beginning
    for (std::size_t b = 0; b < batch; ++b) {  // random windows, or window w of each stream
      const std::size_t at = tbptt ? (b * windows_per_stream + w) * window : rng.below(x_train.size() - window);
      std::copy_n(x_train.begin() + static_cast<std::ptrdiff_t>(at), window, xs.begin() + static_cast<std::ptrdiff_t>(b * window));
      std::copy_n(y_train.begin() + static_cast<std::ptrdiff_t>(at), window, ys.begin() + static_cast<std::ptrdiff_t>(b * window));
    }
    lr::apply(trainer, schedule);
    const float loss = trainer.step(xs, ys);
    running = s == 0 ? loss : 0.98 * running + 0.02 * loss;
    if ((s + 1) % (steps / 10 == 0 ? 1 : steps / 10) == 0) std::printf("step %5zu  loss %.3e\n", s + 1, running);
  }
  const double train_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("trained %zu steps in %.1f s (%.0f windows/s)\n", steps, train_s,
              static_cast<double>(steps * batch) / train_s);

  // The audio callback: one sample in, one sample out, from a zero state.
  auto stream = std::make_unique<Stream<Model>>(*net);
  std::vector<float> out(x_test.size());
  const auto t1 = std::chrono::steady_clock::now();
  for (std::size_t t = 0; t < x_test.size(); ++t) out[t] = stream->step(x_test[t]);
  const double stream_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
  double err = 0, sig = 0;
  for (std::size_t t = 0; t < x_test.size(); ++t) {
    err += (static_cast<double>(y_test[t]) - out[t]) * (static_cast<double>(y_test[t]) - out[t]);
    sig += static_cast<double>(y_test[t]) * y_test[t];
  }
  const double esr = err / sig, rtf = stream_s / test_seconds;
  std::printf("streamed %zu samples in %.4f s: %.1f ns a sample\n", x_test.size(), stream_s,
              1e9 * stream_s / static_cast<double>(x_test.size()));
  std::printf("result esr=%.5f realtime_factor=%.5f\n", esr, rtf);
  if (!(esr <= max_esr)) {
    std::fprintf(stderr, "error: esr %.5f is above --max-esr %.5f\n", esr, max_esr);
    return 1;
  }
  return 0;
}
