// Finite-difference gradient check shared by the gradient-check tests.
//
// Method: the network runs in double precision through the same reference kernels
// (they are templates on the value type). The analytic parameter gradient from
// backward_pass is compared with central differences (L(p+h) - L(p-h)) / 2h, h = 1e-6.
// Truncation error is O(h²) ≈ 1e-12 and rounding error ≈ 1e-16/h = 1e-10, so the stated
// tolerance is |analytic - numeric| <= 1e-8 + 1e-6·|analytic|. The float path is then
// checked against the double analytic gradient with relative tolerance 1e-3 (of the
// largest gradient). Kinks (ReLU at 0, max-pool ties) are avoided: values lie within h
// of a kink with probability ~1e-6 each. Input gradients are checked through the
// parameters of the layers before them.
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <ctnn/ctnn.hpp>
#include <type_traits>
#include <vector>

namespace ctnn_test {
using namespace ctnn;

template <class N, class L, std::size_t B>
struct GradCase {
  static constexpr std::size_t P = N::param_count;
  static constexpr std::size_t targets = B * L::template targets_per_sample<N::output_size>;
  using target_t = std::conditional_t<std::is_same_v<L, loss::MSE>, double, int>;

  std::vector<double> p = std::vector<double>(P), x = std::vector<double>(B * N::input_size);
  std::vector<target_t> t = std::vector<target_t>(targets);

  PassContext ctx{};  ///< e.g. training = true to check Dropout with a fixed mask

  explicit GradCase(std::uint64_t seed, PassContext c = {}) : ctx(c) {
    // The network's own initialisation (so deep and convolutional stacks neither saturate
    // nor vanish), plus a small perturbation so biases are not zero.
    Rng rng(seed);
    auto net = std::make_unique<N>();
    net->init(seed);
    for (std::size_t k = 0; k < P; ++k) p[k] = net->params()[k] + rng.uniform(0.1f);
    for (auto& v : x) v = rng.uniform(1.5f);
    for (auto& v : t) {
      if constexpr (std::is_same_v<target_t, int>)
        v = static_cast<int>(rng.below(N::output_size));
      else
        v = rng.uniform(1.0f);
    }
  }

  template <class T, class Tt>
  T loss_of(const std::vector<T>& params, const std::vector<T>& in, const std::vector<Tt>& tg,
                   std::vector<T>* grads = nullptr) const {
    std::vector<T> outs(N::activation_count * B), dout(N::output_size * B), s0(N::max_width * B),
        s1(N::max_width * B);
    forward_pass_saving<N, B>(backend::scalar{}, params.data(), in.data(), outs.data(), ctx);
    const T* y = outs.data() + N::activation_offsets[N::layer_count - 1] * B;
    const T l = L::template value_and_gradient<N::output_size, B>(y, tg.data(), grads ? dout.data() : nullptr);
    if (grads) {
      grads->assign(params.size(), T(0));
      backward_pass<N, B>(backend::scalar{}, params.data(), in.data(), outs.data(), dout.data(), grads->data(),
                          s0.data(), s1.data(), ctx);
    }
    return l;
  }

  void run() {
    std::vector<double> g;
    loss_of(p, x, t, &g);
    const double h = 1e-6;
    double max_abs = 0;
    for (std::size_t k = 0; k < P; ++k) {
      auto pp = p, pm = p;
      pp[k] += h;
      pm[k] -= h;
      const double numeric = (loss_of(pp, x, t) - loss_of(pm, x, t)) / (2 * h);
      ASSERT_NEAR(g[k], numeric, 1e-8 + 1e-6 * std::abs(g[k]))
          << "parameter " << k << " of " << P << " in " << typeid(N).name();
      max_abs = std::max(max_abs, std::abs(g[k]));
    }
    EXPECT_GT(max_abs, 1e-3) << "gradients vanish: the check would be vacuous";

    // The float instantiation agrees with the double one.
    std::vector<float> pf(p.begin(), p.end()), xf(x.begin(), x.end()), gf;
    std::vector<std::conditional_t<std::is_same_v<target_t, int>, int, float>> tf(t.begin(), t.end());
    loss_of(pf, xf, tf, &gf);
    for (std::size_t k = 0; k < P; ++k) ASSERT_NEAR(gf[k], g[k], 1e-3 * std::max(1.0, max_abs)) << "float k=" << k;
  }
};

template <class N, class L, std::size_t B>
void check(std::uint64_t seed = 1, PassContext ctx = {}) {
  SCOPED_TRACE(testing::Message() << "batch " << B << ", net " << typeid(N).name());
  GradCase<N, L, B>(seed, ctx).run();
}

}  // namespace ctnn_test
