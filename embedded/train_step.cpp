// On-device learning: SGD on a mean squared error, 8 samples a step, with every buffer inside
// the trainer object (storage::InPlace) and no heap. The task is a fixed smooth map from 8
// inputs to 4 outputs; the program prints the loss every 25 steps and the trained outputs on
// fixed inputs, for the host to compare, and fails unless the loss fell tenfold.
#include "nets.hpp"
#include "platform.hpp"

namespace {

using Trainer = ctnn::Trainer<embedded::Learner, ctnn::loss::MSE, ctnn::optim::SGD, ctnn::Batch<embedded::learner_batch>,
                              ctnn::default_backend, ctnn::storage::InPlace>;

embedded::Learner net;
constinit std::array<float, 8 * embedded::learner_batch> inputs{};
constinit std::array<float, 4 * embedded::learner_batch> targets{};

/// The map to learn: a fixed linear map squashed by a rational sigmoid-like curve.
void make_batch(std::size_t step) {
  for (std::size_t s = 0; s < embedded::learner_batch; ++s) {
    const auto x = embedded::probe<8>(step % 16 * embedded::learner_batch + s);
    for (std::size_t i = 0; i < 8; ++i) inputs[s * 8 + i] = x[i] * 0.5f;
    for (std::size_t o = 0; o < 4; ++o) {
      float a = 0.0f;
      for (std::size_t i = 0; i < 8; ++i) a += x[i] * static_cast<float>(static_cast<int>((o * 8 + i) * 5 % 7) - 3) * 0.125f;
      targets[s * 4 + o] = a / (1.0f + (a < 0.0f ? -a : a));
    }
  }
}

}  // namespace

int main() {
  net.init(ctnn::init::XavierUniform{}, 3);
  static Trainer trainer(net, {.lr = 0.1f});
  float first = 0.0f, loss = 0.0f;
  for (std::size_t step = 0; step < 200; ++step) {
    make_batch(step);
    loss = trainer.step(inputs, targets);
    if (step == 0) first = loss;
    if (step % 25 == 0) platform::print_floats("loss", &loss, 1);
  }
  platform::print_floats("loss", &loss, 1);
  for (std::size_t k = 0; k < 4; ++k) {
    const auto y = net.forward(embedded::probe<8>(100 + k));
    platform::print_floats("y", y.data(), 4);
  }
  platform::finish(loss < first / 10.0f);
}
