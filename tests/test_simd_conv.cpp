// The SIMD convolution and pooling kernels against the reference, over many geometries
// (channels 1, 3, 16, 17, 33; kernels 1..5, square and rectangular; strides 1 and 2;
// padding 0..2; batches 1 and 3), and a LeNet trained on both backends.
//
// Error bound (stated, as in test_simd.cpp): each output is a sum of K products; against
// the double-precision reference it may differ by 2·γ_K·Σ|a·b| (γ_K = K·u/(1−K·u),
// u = 2⁻²⁴), where Σ|a·b| is computed by running the reference on |inputs|. K is the
// window size for y, B·pixels for dW and db, and KH·KW·Cout for dx. After a fused
// transcendental activation, 2e-6·(1 + |y|) more. Pooling only selects or adds a
// handful of values and must match the float reference exactly (max) or within 1e-6.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "simd_support.hpp"

using namespace ctnn;
using ctnn_test::for_each_backend;
using ctnn_test::gamma;
using ctnn_test::random;

namespace {

std::vector<double> to_double(const std::vector<float>& v, bool absolute = false) {
  std::vector<double> d(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) d[i] = absolute ? std::abs(double(v[i])) : double(v[i]);
  return d;
}

template <class G, std::size_t Cout, std::size_t B, class Act, class Be>
void check_conv(Be be) {
  constexpr std::size_t nx = B * G::in_size, ny = B * G::pixels * Cout, nw = G::patch * Cout;
  const auto W = random(nw, 11, 0.5f), bias = random(Cout, 12), x = random(nx, 13, 2.0f), dy = random(ny, 14);

  // Forward, fused activation, pre-activation saved.
  std::vector<float> y(ny), z(ny), scratch(kernel::conv_scratch_floats<G, Cout, B>);
  kernel::conv_act_forward<G, Cout, B, Act>(be, W.data(), bias.data(), x.data(), y.data(), z.data(), scratch.data());
  std::vector<double> ze(ny), mag(ny);
  kernel::conv_forward<G, Cout, B>(backend::scalar{}, to_double(W).data(), to_double(bias).data(), to_double(x).data(),
                                   ze.data(), nullptr);
  kernel::conv_forward<G, Cout, B>(backend::scalar{}, to_double(W, true).data(), to_double(bias, true).data(),
                                   to_double(x, true).data(), mag.data(), nullptr);
  for (std::size_t i = 0; i < ny; ++i) {
    const double tol = 2 * gamma(G::patch + 1) * mag[i];
    ASSERT_NEAR(z[i], ze[i], tol) << "z at " << i;
    const double ya = Act::value(ze[i]);
    ASSERT_NEAR(y[i], ya, 1.2 * tol + 2e-6 * (1 + std::abs(ya))) << "y at " << i;
  }

  // Backward: accumulation onto existing dW and db.
  auto dW = random(nw, 15), db = random(Cout, 16);
  const auto dW0 = dW, db0 = db;
  std::vector<float> dx(nx);
  kernel::conv_act_backward<G, Cout, B, Act>(be, W.data(), x.data(), z.data(), y.data(), dy.data(), dx.data(),
                                             dW.data(), db.data(), scratch.data());
  std::vector<double> dz(ny), dza(ny);
  for (std::size_t i = 0; i < ny; ++i) {
    dz[i] = double(dy[i]) * Act::derivative(double(z[i]), double(y[i]));
    dza[i] = std::abs(dz[i]);
  }
  std::vector<double> dWe = to_double(dW0), dbe = to_double(db0), dxe(nx);
  std::vector<double> dWm = to_double(dW0, true), dbm = to_double(db0, true), dxm(nx);
  kernel::conv_backward<G, Cout, B>(backend::scalar{}, to_double(W).data(), to_double(x).data(), dz.data(), dxe.data(),
                                    dWe.data(), dbe.data(), nullptr);
  kernel::conv_backward<G, Cout, B>(backend::scalar{}, to_double(W, true).data(), to_double(x, true).data(), dza.data(),
                                    dxm.data(), dWm.data(), dbm.data(), nullptr);
  for (std::size_t i = 0; i < Cout; ++i)
    ASSERT_NEAR(db[i], dbe[i], 2 * gamma(B * G::pixels + 1) * dbm[i] + 1e-6 * dbm[i]) << "db at " << i;
  for (std::size_t i = 0; i < nw; ++i)
    ASSERT_NEAR(dW[i], dWe[i], 2 * gamma(B * G::pixels + 1) * dWm[i] + 1e-6 * dWm[i]) << "dW at " << i;
  for (std::size_t i = 0; i < nx; ++i)
    ASSERT_NEAR(dx[i], dxe[i], 2 * gamma(G::KH * G::KW * Cout) * dxm[i] + 1e-6 * dxm[i]) << "dx at " << i;

  // The input gradient is optional.
  auto dW2 = dW0, db2 = db0;
  kernel::conv_act_backward<G, Cout, B, Act>(be, W.data(), x.data(), z.data(), y.data(), dy.data(), nullptr,
                                             dW2.data(), db2.data(), scratch.data());
  EXPECT_EQ(dW2, dW);
}

template <class G, std::size_t B, class Be>
void check_pool(Be be) {
  constexpr std::size_t nx = B * G::in_size, ny = B * G::pixels * G::C;
  auto x = random(nx, 21, 3.0f);
  for (std::size_t i = 0; i < nx; i += 7) x[i] = x[(i * 13) % nx];  // repeated values: ties
  const auto dy = random(ny, 22);
  std::vector<float> y(ny), ye(ny), dx(nx), dxe(nx);
  kernel::max_pool_forward<G, B>(be, x.data(), y.data());
  kernel::max_pool_forward<G, B>(backend::scalar{}, x.data(), ye.data());
  ASSERT_EQ(y, ye) << "max pool forward";
  kernel::max_pool_backward<G, B>(be, x.data(), y.data(), dy.data(), dx.data());
  kernel::max_pool_backward<G, B>(backend::scalar{}, x.data(), ye.data(), dy.data(), dxe.data());
  ASSERT_EQ(dx, dxe) << "max pool backward";
}

template <std::size_t C, std::size_t H, std::size_t Wd, std::size_t Cout, std::size_t KH, std::size_t KW, std::size_t SH,
          std::size_t SW, std::size_t PH, std::size_t PW, class Act = Identity>
void conv_case() {
  using G = kernel::Window<C, H, Wd, KH, KW, SH, SW, PH, PW>;
  static_assert(G::exact);
  for_each_backend([](auto be) {
    SCOPED_TRACE(testing::Message() << typeid(be).name() << " C=" << C << " H=" << H << " W=" << Wd << " Cout=" << Cout
                                    << " K=" << KH << "x" << KW << " S=" << SH << "," << SW << " P=" << PH << "," << PW);
    check_conv<G, Cout, 1, Act>(be);
    check_conv<G, Cout, 3, Act>(be);
  });
}

}  // namespace

TEST(SimdConv, LeNetLayers) {
  conv_case<1, 28, 28, 16, 5, 5, 1, 1, 2, 2, ReLU>();
  conv_case<16, 14, 14, 32, 5, 5, 1, 1, 0, 0, ReLU>();
}
TEST(SimdConv, OddChannelsAndSizes) {
  conv_case<3, 17, 13, 17, 3, 3, 2, 2, 1, 1>();
  conv_case<1, 5, 5, 1, 3, 3, 2, 2, 1, 1>();
  conv_case<33, 7, 9, 3, 3, 3, 1, 1, 1, 1, Tanh>();
  conv_case<7, 9, 11, 100, 1, 1, 1, 1, 0, 0, Sigmoid>();
  conv_case<17, 6, 6, 33, 3, 3, 1, 1, 0, 0, LeakyReLU>();
}
TEST(SimdConv, Rectangular) {
  conv_case<2, 7, 8, 33, 3, 2, 1, 2, 0, 1>();
  conv_case<3, 11, 4, 16, 1, 4, 3, 1, 1, 0, GELU>();
}

TEST(SimdPool, MaxPoolMatchesReference) {
  for_each_backend([](auto be) {
    check_pool<kernel::Window<16, 28, 28, 2, 2, 2, 2, 0, 0>, 3>(be);
    check_pool<kernel::Window<32, 10, 10, 2, 2, 2, 2, 0, 0>, 1>(be);
    check_pool<kernel::Window<17, 9, 7, 3, 3, 2, 2, 0, 0>, 3>(be);
    check_pool<kernel::Window<1, 5, 5, 2, 2, 1, 1, 0, 0>, 1>(be);
    check_pool<kernel::Window<33, 4, 6, 2, 3, 2, 3, 0, 0>, 3>(be);
  });
}

TEST(SimdPool, MaxPoolPropagatesNaN) {
  using G = kernel::Window<3, 4, 4, 2, 2, 2, 2, 0, 0>;
  std::vector<float> x(G::in_size, 1.0f), y(G::pixels * G::C);
  x[(1 * 4 + 1) * 3 + 2] = std::nanf("");  // pixel (1,1), channel 2: window (0,0)
  for_each_backend([&](auto be) {
    kernel::max_pool_forward<G, 1>(be, x.data(), y.data());
    EXPECT_TRUE(std::isnan(y[2]));
    EXPECT_EQ(y[0], 1.0f);
    EXPECT_EQ(y[3 + 2], 1.0f);
  });
}

// A whole LeNet: batched and batch-1 inference, and five training steps, SIMD against scalar.
TEST(SimdConvNet, LeNetTrainsLikeTheReference) {
  using N = Net<Input<1, 28, 28>, Conv2D<16, 5, 1, 2>, ReLU, MaxPool2D<2>, Conv2D<32, 5>, ReLU, MaxPool2D<2>, Flatten,
                Dense<128>, ReLU, Dropout<250>, Dense<10>>;
  constexpr std::size_t B = 8;
  auto fast = std::make_unique<N>(), ref = std::make_unique<N>();
  fast->init(3);
  *ref = *fast;
  const auto x = random(B * N::input_size, 31, 1.0f);
  std::vector<int> labels(B);
  for (std::size_t i = 0; i < B; ++i) labels[i] = int(i % 10);

  auto ws = std::make_unique<Workspace<N, Batch<B>>>();
  std::vector<float> yf(B * 10), yr(B * 10);
  fast->forward<B>(*ws, std::span<const float, B * N::input_size>(x.data(), x.size()),
                   std::span<float, B * 10>(yf.data(), yf.size()));
  ref->forward<B, backend::scalar>(*ws, std::span<const float, B * N::input_size>(x.data(), x.size()),
                                   std::span<float, B * 10>(yr.data(), yr.size()));
  for (std::size_t i = 0; i < yf.size(); ++i) ASSERT_NEAR(yf[i], yr[i], 1e-4 * (1 + std::abs(yr[i])));
  const auto y1 = fast->forward(std::span<const float, N::input_size>(x.data(), N::input_size));
  for (std::size_t i = 0; i < 10; ++i) ASSERT_NEAR(y1[i], yr[i], 1e-4 * (1 + std::abs(yr[i])));

  Trainer<N, loss::SoftmaxCrossEntropy, optim::Adam, Batch<B>> tf(*fast, {}, 5);
  Trainer<N, loss::SoftmaxCrossEntropy, optim::Adam, Batch<B>, backend::scalar> tr(*ref, {}, 5);
  for (int s = 0; s < 5; ++s) {
    const float lf = tf.step(x, labels), lr = tr.step(x, labels);
    ASSERT_NEAR(lf, lr, 1e-4 * (1 + std::abs(lr))) << "step " << s;
  }
  const auto pf = fast->params(), pr = ref->params();
  double max_diff = 0, max_move = 0;
  N init;
  init.init(3);
  for (std::size_t k = 0; k < N::param_count; ++k) {
    max_diff = std::max(max_diff, double(std::abs(pf[k] - pr[k])));
    max_move = std::max(max_move, double(std::abs(pr[k] - init.params()[k])));
  }
  EXPECT_LT(max_diff, 1e-4);
  EXPECT_GT(max_move, 1e-3);  // training moved the weights: the comparison is not vacuous
}
