#include <ctnn/ctnn.hpp>

#include <cstdio>

using Net = ctnn::Net<ctnn::Input<4>, ctnn::Dense<6>, ctnn::Tanh, ctnn::Dense<2>>;
static_assert(Net::param_count == 4 * 6 + 6 + 6 * 2 + 2);

int main() {
  static Net net;
  net.init(ctnn::init::XavierUniform{}, 7);
  const std::array<float, 4> x{0.1f, 0.2f, 0.3f, 0.4f};
  const auto y = net.forward(x);
  std::printf("consumer ok params=%zu outputs=%zu y0_finite=%d backend=%s\n", Net::param_count, y.size(), y[0] == y[0],
              ctnn::backend_name());
}
