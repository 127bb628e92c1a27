// The C++ half of the PyTorch sequence test (tests/interop/test_torch_sequences.py):
//   sequence_tool name NET                            prints ctnn::net_name<NET>()
//   sequence_tool stream NET WEIGHTS INPUTS OUTPUTS   loads WEIGHTS, streams the steps of INPUTS
//   sequence_tool forward NET WEIGHTS INPUTS OUTPUTS  loads WEIGHTS, runs whole sequences
// INPUTS holds one F32 tensor "x": [N, F] steps to stream, or [S, T, F] sequences; OUTPUTS
// gets "y": [N, outputs per step] or [S, output_size].
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <ctnn/ctnn.hpp>
#include <ctnn/io.hpp>

using namespace ctnn;

using Gru = Net<Input<64, 1>, GRU<16>, Dense<1>>;
using Lstm = Net<Input<64, 1>, LSTM<12>, Dense<1>>;
using Tcn = Net<Input<32, 2>, Conv1D<6, 3, 2>, Tanh, LayerNorm, GRU<5, Returns::last>, Dense<3>>;
using Res = Net<Input<32, 2>, Dense<6>, Residual<LayerNorm, GRU<6>>, Residual<Conv1D<6, 3, 2>, Tanh>, Dense<1>>;

namespace {

std::vector<float> read_x(const std::string& path) {
  const auto bytes = io::detail::read_file(path, std::size_t(1) << 32, "input file");
  const auto view = io::SafetensorsView::parse(bytes, path);
  const io::TensorEntry* x = view.find("x");
  if (x == nullptr) detail::raise("'" + path + "' has no tensor 'x'");
  std::vector<float> out(x->elements());
  view.read_floats(*x, out);
  return out;
}

void write_y(const std::string& path, std::size_t rows, std::size_t cols, std::vector<float> values) {
  const auto bytes = io::encode_safetensors({io::TensorToWrite{"y", {rows, cols}, std::move(values)}}, {});
  io::detail::write_file_atomic(path, bytes);
}

template <class NetT>
int run(const std::string& cmd, char** args, int nargs) {
  auto net = make_unique_net<NetT>();
  if (cmd == "name") {
    std::printf("%s\n", net_name<NetT>().c_str());
    return 0;
  }
  if (nargs != 3) return 2;
  io::load(*net, std::string(args[0]));
  const auto x = read_x(args[1]);
  if (cmd == "stream") {
    using S = Stream<NetT>;
    auto s = std::make_unique<S>(*net);
    const std::size_t n = x.size() / S::features;
    std::vector<float> y(n * S::outputs);
    for (std::size_t t = 0; t < n; ++t)
      s->step(std::span<const float, S::features>(x.data() + t * S::features, S::features),
              std::span<float, S::outputs>(y.data() + t * S::outputs, S::outputs));
    write_y(args[2], n, S::outputs, std::move(y));
    return 0;
  }
  if (cmd == "forward") {
    const std::size_t n = x.size() / NetT::input_size;
    std::vector<float> y(n * NetT::output_size);
    for (std::size_t i = 0; i < n; ++i)
      net->forward(std::span<const float, NetT::input_size>(x.data() + i * NetT::input_size, NetT::input_size),
                   std::span<float, NetT::output_size>(y.data() + i * NetT::output_size, NetT::output_size));
    write_y(args[2], n, NetT::output_size, std::move(y));
    return 0;
  }
  return 2;
}

}  // namespace

int main(int argc, char** argv) try {
  if (argc < 3) {
    std::fprintf(stderr, "usage: sequence_tool name|stream|forward gru|lstm|tcn|res [WEIGHTS INPUTS OUTPUTS]\n");
    return 2;
  }
  const std::string cmd = argv[1], net = argv[2];
  if (net == "gru") return run<Gru>(cmd, argv + 3, argc - 3);
  if (net == "lstm") return run<Lstm>(cmd, argv + 3, argc - 3);
  if (net == "tcn") return run<Tcn>(cmd, argv + 3, argc - 3);
  if (net == "res") return run<Res>(cmd, argv + 3, argc - 3);
  std::fprintf(stderr, "unknown network '%s'\n", net.c_str());
  return 2;
} catch (const std::exception& e) {
  std::fprintf(stderr, "error: %s\n", e.what());
  return 1;
}
