// ctnn::io from an outside project: a PyTorch-exported file loads, saves and loads again,
// and the same weights compiled in by ctnn_weights_header give the same outputs.
#include <ctnn/ctnn.hpp>
#include <ctnn/io.hpp>

#include <cstdio>
#include <cstring>

#include "consumer_weights.hpp"

using Net = ctnn::Net<ctnn::Input<4>, ctnn::Dense<6>, ctnn::Tanh, ctnn::Dense<2>>;
constinit const Net embedded{consumer_weights::params};

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  Net a, b;
  ctnn::io::load(a, argv[1]);
  ctnn::io::save(a, argv[2]);
  ctnn::io::load(b, argv[2]);
  const std::array<float, 4> x{0.1f, 0.2f, 0.3f, 0.4f};
  const auto ya = a.forward(x), yb = b.forward(x), ye = embedded.forward(x);
  const bool same = std::memcmp(ya.data(), yb.data(), sizeof ya) == 0 && std::memcmp(ya.data(), ye.data(), sizeof ya) == 0;
  std::printf("consumer io %s y=%.6f %.6f\n", same ? "ok" : "MISMATCH", double(ya[0]), double(ya[1]));
  return same ? 0 : 1;
}
