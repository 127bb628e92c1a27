// The C++ half of the PyTorch interop test (tests/interop/test_torch_interop.py):
//   interop_tool name NET                               prints ctnn::net_name<NET>()
//   interop_tool forward NET WEIGHTS INPUTS OUTPUTS     loads WEIGHTS, runs each sample of INPUTS
//   interop_tool train NET WEIGHTS_OUT INPUTS OUTPUTS   trains NET a few steps, saves, runs INPUTS
//   interop_tool schedules all                          prints 100 steps of three lr schedules
// INPUTS/OUTPUTS are safetensors files with one F32 tensor, "x" [N, ...] (channels-last for
// images, as ctnn stores them) and "y" [N, outputs].
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <ctnn/ctnn.hpp>
#include <ctnn/io.hpp>

using namespace ctnn;

using Mlp = Net<Input<784>, Dense<256>, ReLU, Dense<128>, ReLU, Dense<10>>;
using LeNet = Net<Input<1, 28, 28>, Conv2D<6, 5, 1, 2>, ReLU, MaxPool2D<2>, Conv2D<16, 5>, ReLU, MaxPool2D<2>,
                  Flatten, Dense<120>, ReLU, Dense<84>, ReLU, Dense<10>>;
// Three input channels: the channels-last layouts of Conv2D and of the Flatten before a Dense.
using Rgb = Net<Input<3, 8, 8>, Conv2D<4, 3, 1, 1>, Tanh, AvgPool2D<2>, Flatten, Dense<5>>;
// Activations PyTorch names as modules of their own (nn.SiLU, nn.GELU, nn.Sigmoid).
using Acts = Net<Input<12>, Dense<16>, SiLU, Dense<8>, GELU, Dense<6>, Sigmoid, Dense<3>>;

namespace {

std::vector<float> read_inputs(const std::string& path, std::size_t per_sample) {
  const auto bytes = io::detail::read_file(path, std::size_t(1) << 32, "input file");
  const auto view = io::SafetensorsView::parse(bytes, path);
  const io::TensorEntry* x = view.find("x");
  if (x == nullptr || x->shape.empty()) detail::raise("'" + path + "' has no tensor 'x' [N, ...]");
  if (x->elements() % per_sample != 0 || x->elements() / x->shape[0] != per_sample)
    detail::raise("'" + path + "': 'x' has shape " + io::shape_string(x->shape) + ", expected [N, " +
                  std::to_string(per_sample) + " values]");
  std::vector<float> out(x->elements());
  view.read_floats(*x, out);
  return out;
}

template <class NetT>
void write_outputs(const NetT& net, const std::vector<float>& x, const std::string& path) {
  const std::size_t n = x.size() / NetT::input_size;
  io::TensorToWrite y{"y", {n, NetT::output_size}, std::vector<float>(n * NetT::output_size)};
  for (std::size_t i = 0; i < n; ++i)
    net.forward(std::span<const float, NetT::input_size>(x.data() + i * NetT::input_size, NetT::input_size),
                std::span<float, NetT::output_size>(y.values.data() + i * NetT::output_size, NetT::output_size));
  const auto bytes = io::encode_safetensors({y}, {});
  io::detail::write_file_atomic(path, bytes);
}

template <class NetT>
int run(const std::string& cmd, char** args, int nargs) {
  static NetT net;
  if (cmd == "name") {
    std::printf("%s\n", net_name<NetT>().c_str());
    return 0;
  }
  if (nargs != 3) return 2;
  const auto x = read_inputs(args[1], NetT::input_size);
  if (cmd == "forward") {
    io::load(net, std::string(args[0]));
  } else if (cmd == "train") {
    // A few SGD steps on the inputs with labels i % 10, from a seeded start.
    net.init(2024);
    constexpr std::size_t B = 16;
    Trainer<NetT, loss::SoftmaxCrossEntropy, optim::SGD, Batch<B>> trainer{net, {.lr = 0.05f, .momentum = 0.9f}};
    std::vector<std::uint8_t> labels(B);
    const std::size_t n = x.size() / NetT::input_size;
    for (std::size_t s = 0; s + B <= n && s < 20 * B; s += B) {
      for (std::size_t i = 0; i < B; ++i) labels[i] = static_cast<std::uint8_t>((s + i) % NetT::output_size);
      trainer.step(std::span<const float>(x.data() + s * NetT::input_size, B * NetT::input_size), labels);
    }
    io::save(net, args[0]);
  } else {
    return 2;
  }
  write_outputs(net, x, args[2]);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s name|forward|train mlp|lenet|rgb [WEIGHTS INPUTS OUTPUTS]\n", argv[0]);
    return 2;
  }
  const std::string cmd = argv[1], which = argv[2];
  if (cmd == "schedules") {  // 100 steps of three schedules, for comparison with PyTorch's
    auto line = [](const char* name, auto s) {
      std::printf("%s", name);
      for (std::size_t k = 0; k < 100; ++k) std::printf(" %.9g", double(s(k)));
      std::printf("\n");
    };
    line("onecycle", lr::OneCycle{.max = 0.1f, .total = 100});
    line("step", lr::Step{.base = 0.1f, .every = 10, .gamma = 0.5f});
    line("cosine", lr::Cosine{.base = 0.1f, .total = 100, .min = 0.001f});
    return 0;
  }
  try {
    if (which == "mlp") return run<Mlp>(cmd, argv + 3, argc - 3);
    if (which == "lenet") return run<LeNet>(cmd, argv + 3, argc - 3);
    if (which == "rgb") return run<Rgb>(cmd, argv + 3, argc - 3);
    if (which == "acts") return run<Acts>(cmd, argv + 3, argc - 3);
  } catch (const Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  std::fprintf(stderr, "unknown network '%s'\n", which.c_str());
  return 2;
}
