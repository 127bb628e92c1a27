// Deploying a PyTorch model with ctnn: loads the Fashion-MNIST MLP that
// examples/pytorch_import.py trained and exported, evaluates it on the test set, and compares
// with the accuracy PyTorch measured (recorded in the file's metadata). Prints
//   result test_accuracy=... pytorch_accuracy=... difference=...
// and exits 1 if the two differ by more than 0.001.
#include <CLI/CLI.hpp>

#include <cmath>
#include <cstdio>
#include <string>

#include <ctnn/ctnn.hpp>
#include <ctnn/io.hpp>

using namespace ctnn;
using Mlp = Net<Input<784>, Dense<256>, ReLU, Dense<128>, ReLU, Dense<10>>;

int main(int argc, char** argv) {
  CLI::App app{"Evaluates a PyTorch-trained Fashion-MNIST MLP (examples/pytorch_import.py) in ctnn"};
  std::string weights = "fmnist_torch.safetensors", data = io::default_fashion_mnist_dir;
  app.add_option("--weights", weights, "safetensors file written by examples/pytorch_import.py")->capture_default_str();
  app.add_option("--data", data, "Fashion-MNIST folder")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  try {
    static Mlp net;
    io::load(net, weights);  // PyTorch's names, [out, in] weights: converted on load
    const auto meta = io::read_metadata(weights);
    std::printf("loaded %s\n  into %s\n", weights.c_str(), net_name<Mlp>().c_str());
    const auto ds = io::load_fashion_mnist(data);
    const double acc = accuracy(net, std::span<const float>(ds.test.images), std::span<const std::uint8_t>(ds.test.labels));
    const auto it = meta.find("pytorch_test_accuracy");
    if (it == meta.end()) {
      std::printf("result test_accuracy=%.4f (the file records no PyTorch accuracy to compare with)\n", acc);
      return 0;
    }
    const double theirs = std::stod(it->second), diff = std::fabs(acc - theirs);
    std::printf("result test_accuracy=%.4f pytorch_accuracy=%.4f difference=%.4f\n", acc, theirs, diff);
    if (diff > 0.001) {
      std::fprintf(stderr, "ctnn and PyTorch disagree by more than 0.001\n");
      return 1;
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
