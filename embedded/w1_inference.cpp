// Batch-1 inference of benchmark W1 with its weights compiled in (w1_weights.hpp, written by
// ctnn::io::write_header): the network is built by the compiler into read-only memory, and the
// program prints the outputs for eight fixed inputs. Built for a Cortex-M4 it runs under
// qemu-system-arm; built for the host it gives the values the device must match.
#include "nets.hpp"
#include "platform.hpp"
#include "w1_weights.hpp"

namespace {
constexpr embedded::W1 net{w1_weights::params};  // no heap, no copy at start-up
}

int main() {
  for (std::size_t k = 0; k < 8; ++k) {
    const auto x = embedded::probe<16>(k);
    const std::array<float, 16> y = net.forward(x);
    platform::print_floats("y", y.data(), static_cast<unsigned>(y.size()));
  }
  platform::finish(true);
}
