// bf16 and int8 batch-1 inference: the kernels of every backend this build runs against the
// scalar reference on odd shapes, the packing and quantization rules, and the predictors
// against the float network.
#include <gtest/gtest.h>

#include <cmath>
#include <ctnn/ctnn.hpp>
#include <ctnn/network/reduced_predictor.hpp>
#include <limits>
#include <tuple>
#include <vector>

#include "alloc_counter.hpp"
#include "simd_support.hpp"

namespace {
using namespace ctnn;

// Every backend this build can run, the scalar one included.
template <class F>
void for_each_runnable_backend(F f) {
  f(backend::scalar{});
  ctnn_test::for_each_backend(f);
}

// A variant of this binary is built for x86-64-v4 (AVX-512 without VNNI and BF16) to test those
// paths; on a CPU without the instructions it was built for, every test skips.
bool cpu_runs_this_build() {
#if defined(__x86_64__) && defined(__AVX512BW__)
  if (!__builtin_cpu_supports("avx512bw")) return false;
#endif
#if defined(__x86_64__) && defined(__AVX2__)
  if (!__builtin_cpu_supports("avx2")) return false;
#endif
  return true;
}
class Reduced : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!cpu_runs_this_build()) GTEST_SKIP() << "this CPU lacks the instruction sets this test binary was built for";
  }
};
using Bf16 = Reduced;
using Int8 = Reduced;
using ReducedPredictor = Reduced;

std::vector<float> seeded(std::size_t n, std::uint64_t seed, float scale = 1.0f) {
  Rng rng(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = scale * (2.0f * rng.uniform() - 1.0f);
  return v;
}

TEST_F(Bf16, ConversionRoundsToNearestEven) {
  using kernel::bf16::from_float;
  using kernel::bf16::to_float;
  EXPECT_EQ(from_float(1.0f), 0x3F80);
  EXPECT_EQ(from_float(-2.0f), 0xC000);
  // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties go to the even one (1).
  EXPECT_EQ(to_float(from_float(1.0f + 0x1p-8f)), 1.0f);
  EXPECT_EQ(to_float(from_float(1.0f + 3 * 0x1p-8f)), 1.0f + 0x1p-6f);  // halfway, to even (up)
  EXPECT_EQ(to_float(from_float(1.0f + 0x1p-8f + 0x1p-16f)), 1.0f + 0x1p-7f);  // past halfway
  EXPECT_TRUE(std::isnan(to_float(from_float(std::numeric_limits<float>::quiet_NaN()))));
  EXPECT_EQ(to_float(from_float(std::numeric_limits<float>::infinity())), std::numeric_limits<float>::infinity());
  EXPECT_EQ(to_float(from_float(3.4e38f)), std::numeric_limits<float>::infinity());  // past the largest bf16 (3.39e38)
  for (float v : {0.1f, -3.7f, 1e-20f, 12345.678f})
    EXPECT_LE(std::fabs(to_float(from_float(v)) - v), std::fabs(v) * 0x1p-9f) << v;
}

template <std::size_t In, std::size_t Out>
void bf16_kernels_match_reference() {
  using P = kernel::bf16::Packed<In, Out>;
  const auto W = seeded(In * Out, 11 + In, 0.5f), b = seeded(Out, 12 + Out);
  auto x = seeded(2 * P::pairs, 13 + In * Out, 2.0f);
  if (In % 2) x[In] = 0.0f;
  static P packed;
  packed.pack(W.data(), b.data());
  for (std::size_t i = 0; i < In; ++i)
    for (std::size_t o = 0; o < Out; ++o)
      ASSERT_EQ(packed.weight(i, o), kernel::bf16::to_float(kernel::bf16::from_float(W[i * Out + o])));
  for_each_runnable_backend([&](auto be) {
    using Be = decltype(be);
    std::vector<float> y(P::out_pad, -1.0f), ref(Out);
    kernel::bf16::dense<In, Out>(be, packed, x.data(), y.data());
    const bool rounds = kernel::bf16::rounds_input<Be>;
    kernel::bf16::dense_reference(packed, x.data(), ref.data(), rounds);
    for (std::size_t o = 0; o < Out; ++o) {
      double mag = std::fabs(packed.bias[o]);
      for (std::size_t i = 0; i < In; ++i) mag += std::fabs(static_cast<double>(x[i]) * packed.weight(i, o));
      // float accumulation of In + 1 terms: within (In + 1)·2^-24·Σ|terms| of the exact sum.
      ASSERT_NEAR(y[o], ref[o], (static_cast<double>(In) + 2.0) * 0x1p-24 * mag + 1e-30)
          << backend_name<Be>() << " " << In << "x" << Out << " output " << o;
    }
    for (std::size_t o = Out; o < P::out_pad; ++o) ASSERT_EQ(y[o], 0.0f) << "padded output " << o;
  });
}

TEST_F(Bf16, KernelsMatchTheReferenceOnOddShapes) {
  bf16_kernels_match_reference<1, 1>();
  bf16_kernels_match_reference<3, 17>();
  bf16_kernels_match_reference<17, 33>();
  bf16_kernels_match_reference<33, 100>();
  bf16_kernels_match_reference<100, 3>();
  bf16_kernels_match_reference<257, 129>();
  bf16_kernels_match_reference<784, 256>();
}

TEST_F(Int8, WeightsQuantizePerColumnWithinHalfAStep) {
  constexpr std::size_t In = 37, Out = 19;
  auto W = seeded(In * Out, 21, 0.3f);
  for (std::size_t i = 0; i < In; ++i) W[i * Out + 5] = 0.0f;  // an all-zero column
  const auto b = seeded(Out, 22);
  static kernel::int8::Packed<In, Out> P;
  P.pack(W.data(), b.data());
  for (std::size_t o = 0; o < Out; ++o) {
    int sum = 0, largest = 0;
    for (std::size_t i = 0; i < In; ++i) {
      const int q = P.weight(i, o);
      ASSERT_LE(std::abs(q), 127);
      ASSERT_LE(std::fabs(P.scale[o] * static_cast<float>(q) - W[i * Out + o]), 0.5f * P.scale[o] * (1 + 1e-6f));
      sum += q;
      largest = std::max(largest, std::abs(q));
    }
    EXPECT_EQ(P.colsum[o], sum);
    EXPECT_EQ(largest, o == 5 ? 0 : 127) << "the largest weight of a column maps to ±127";
    EXPECT_EQ(P.bias[o], b[o]);
  }
  EXPECT_EQ(P.scale[5], 1.0f);
}

TEST_F(Int8, InputsQuantizeToSevenBitsWithinHalfAStep) {
  constexpr std::size_t In = 23;
  for (std::uint64_t seed : {31, 32, 33}) {
    auto x = seeded(In, seed, 3.0f);
    if (seed == 32)
      for (auto& v : x) v = std::fabs(v);  // all positive: the range starts at 0
    kernel::int8::Input<In> q;
    kernel::int8::quantize(x.data(), q);
    ASSERT_TRUE(q.finite);
    ASSERT_GE(q.zero, 0);
    ASSERT_LE(q.zero, 127);
    if (seed == 32) {
      EXPECT_EQ(q.zero, 0);
    }
    for (std::size_t i = 0; i < In; ++i) {
      ASSERT_LE(q.q[i], 127);
      ASSERT_LE(std::fabs(q.scale * static_cast<float>(q.q[i] - q.zero) - x[i]), 0.5f * q.scale * 1.001f) << i;
    }
    for (std::size_t i = In; i < q.q.size(); ++i) ASSERT_EQ(q.q[i], 0) << "padding";
  }
  // Every backend quantizes to the same bytes, scale and zero point as the reference.
  for (std::uint64_t seed = 34; seed < 40; ++seed) {
    const auto x = seeded(In, seed, seed % 2 ? 0.01f : 50.0f);
    kernel::int8::Input<In> ref;
    kernel::int8::quantize(x.data(), ref);
    for_each_runnable_backend([&](auto be) {
      kernel::int8::Input<In> q;
      kernel::int8::quantize(be, x.data(), q);
      ASSERT_EQ(q.q, ref.q) << backend_name<decltype(be)>();
      ASSERT_EQ(q.scale, ref.scale);
      ASSERT_EQ(q.zero, ref.zero);
      ASSERT_EQ(q.finite, ref.finite);
    });
  }
  std::vector<float> zeros(In, 0.0f);
  kernel::int8::Input<In> z;
  kernel::int8::quantize(zeros.data(), z);
  EXPECT_TRUE(z.finite);
  EXPECT_EQ(z.zero, 0);
  std::vector<float> bad(In, 1.0f);
  bad[7] = std::numeric_limits<float>::infinity();
  kernel::int8::quantize(bad.data(), z);
  EXPECT_FALSE(z.finite);
  for_each_runnable_backend([&](auto be) {
    kernel::int8::Input<In> q;
    for (std::size_t at : {std::size_t{0}, std::size_t{7}, In - 1}) {
      std::vector<float> v(In, 0.5f);
      v[at] = at == 7 ? std::numeric_limits<float>::quiet_NaN() : -std::numeric_limits<float>::infinity();
      kernel::int8::quantize(be, v.data(), q);
      EXPECT_FALSE(q.finite) << backend_name<decltype(be)>() << " at " << at;
    }
  });
}

template <std::size_t In, std::size_t Out>
void int8_kernels_match_reference() {
  using P = kernel::int8::Packed<In, Out>;
  const auto W = seeded(In * Out, 41 + In, 0.5f), b = seeded(Out, 42 + Out);
  const auto x = seeded(In, 43 + In * Out, 2.0f);
  static P packed;
  packed.pack(W.data(), b.data());
  kernel::int8::Input<In> q;
  kernel::int8::quantize(x.data(), q);
  std::vector<std::int32_t> ref(P::out_pad);
  kernel::int8::products(backend::scalar{}, packed, q, ref.data());
  // The reference's own sums, written out: Σ u[i]·q[i][o].
  for (std::size_t o = 0; o < Out; ++o) {
    std::int64_t s = 0;
    for (std::size_t i = 0; i < In; ++i) s += static_cast<std::int64_t>(q.q[i]) * packed.weight(i, o);
    ASSERT_EQ(ref[o], s) << o;
  }
  for_each_runnable_backend([&](auto be) {
    std::vector<std::int32_t> acc(P::out_pad, -7);
    kernel::int8::products(be, packed, q, acc.data());
    for (std::size_t o = 0; o < P::out_pad; ++o)
      ASSERT_EQ(acc[o], ref[o]) << backend_name<decltype(be)>() << " " << In << "x" << Out << " output " << o;
  });
  // Dequantized, each output is the exact affine map of the integer sum.
  std::vector<float> y(Out);
  kernel::int8::dequantize(packed, q, ref.data(), y.data());
  for (std::size_t o = 0; o < Out; ++o) {
    const double exact = static_cast<double>(ref[o] - q.zero * packed.colsum[o]) * q.scale * packed.scale[o] + packed.bias[o];
    ASSERT_NEAR(y[o], exact, 1e-5 * (std::fabs(exact) + 1.0));
  }
}

TEST_F(Int8, KernelsMatchTheReferenceExactlyOnOddShapes) {
  int8_kernels_match_reference<1, 1>();
  int8_kernels_match_reference<3, 17>();
  int8_kernels_match_reference<17, 33>();
  int8_kernels_match_reference<33, 100>();
  int8_kernels_match_reference<100, 3>();
  int8_kernels_match_reference<257, 129>();
  int8_kernels_match_reference<784, 256>();
}

TEST_F(Int8, TheLargestProductsDoNotSaturate) {
  // Every input at 127 and every weight at ±127: the pairs vpmaddubsw forms reach 2·127·127.
  constexpr std::size_t In = 64, Out = 16;
  std::vector<float> W(In * Out), b(Out, 0.0f), x(In, 1.0f);
  for (std::size_t i = 0; i < In * Out; ++i) W[i] = (i % Out) % 2 ? -1.0f : 1.0f;
  static kernel::int8::Packed<In, Out> P;
  P.pack(W.data(), b.data());
  kernel::int8::Input<In> q;
  kernel::int8::quantize(x.data(), q);
  ASSERT_EQ(q.q[0], 127);
  for_each_runnable_backend([&](auto be) {
    std::vector<std::int32_t> acc(16);
    kernel::int8::products(be, P, q, acc.data());
    for (std::size_t o = 0; o < Out; ++o) ASSERT_EQ(acc[o], (o % 2 ? -1 : 1) * 127 * 127 * static_cast<int>(In));
  });
}

using Mlp = Net<Input<37>, Dense<48>, Tanh, Dense<33>, ReLU, Dense<5>>;

TEST_F(ReducedPredictor, FollowsTheFloatNetworkWithinItsPrecision) {
  static Mlp net;
  net.init(init::XavierUniform{}, 5);
  static const BF16Predictor<Mlp> bf(net);
  static const Int8Predictor<Mlp> i8(net);
  static const BF16Predictor<Mlp, backend::scalar> bf_scalar(net);
  static const Int8Predictor<Mlp, backend::scalar> i8_scalar(net);
  double bf_err = 0, i8_err = 0;
  for (std::uint64_t s = 0; s < 50; ++s) {
    const auto xv = seeded(37, 100 + s, 1.5f);
    std::array<float, 37> x;
    std::copy(xv.begin(), xv.end(), x.begin());
    const auto y = net.forward(x), yb = bf.forward(x), yi = i8.forward(x);
    const auto yb0 = bf_scalar.forward(x), yi0 = i8_scalar.forward(x);
    for (std::size_t o = 0; o < 5; ++o) {
      bf_err = std::max(bf_err, static_cast<double>(std::fabs(yb[o] - y[o])));
      i8_err = std::max(i8_err, static_cast<double>(std::fabs(yi[o] - y[o])));
      // Across backends: int8 sums are exact (only float rounding in the float layers and
      // the dequantization differs); bf16 differs by accumulation order (and the rounded
      // input where the CPU has native bf16 dot products).
      EXPECT_NEAR(yi[o], yi0[o], 1e-4);
      EXPECT_NEAR(yb[o], yb0[o], kernel::bf16::rounds_input<backend::native> ? 3e-2 : 1e-4);
    }
  }
  // Outputs are O(1): bf16 keeps 8 bits of each weight, int8 7 bits of each input.
  EXPECT_LT(bf_err, 3e-2);
  EXPECT_LT(i8_err, 8e-2);
  EXPECT_GT(i8_err, 0.0) << "a quantized network that equals the float one exactly is suspicious";
  std::printf("largest difference from float over 50 inputs: bf16 %.3g, int8 %.3g\n", bf_err, i8_err);
}

TEST_F(ReducedPredictor, NaNInputGivesNaNOutputs) {
  static Mlp net;
  net.init(init::XavierUniform{}, 6);
  static const BF16Predictor<Mlp> bf(net);
  static const Int8Predictor<Mlp> i8(net);
  std::array<float, 37> x{};
  x[3] = std::numeric_limits<float>::quiet_NaN();
  for (float v : bf.forward(x)) EXPECT_TRUE(std::isnan(v));
  for (float v : i8.forward(x)) EXPECT_TRUE(std::isnan(v));
}

TEST_F(ReducedPredictor, ForwardAllocatesNothingAndWeightsShrink) {
  using W2 = Net<Input<784>, Dense<256>, ReLU, Dense<128>, ReLU, Dense<10>>;
  static W2 net;
  net.init(init::HeUniform{}, 7);
  static const BF16Predictor<W2> bf(net);
  static const Int8Predictor<W2> i8(net);
  std::array<float, 784> x{};
  x[10] = 1.0f;
  const long before = g_news.load();
  float sink = 0.0f;
  for (int r = 0; r < 100; ++r) sink += bf.forward(x)[0] + i8.forward(x)[0];
  EXPECT_EQ(g_news.load() - before, 0);
  EXPECT_TRUE(std::isfinite(sink));
  const double float_bytes = 4.0 * W2::param_count;
  EXPECT_LT(BF16Predictor<W2>::weight_bytes, 0.53 * float_bytes);
  EXPECT_LT(Int8Predictor<W2>::weight_bytes, 0.28 * float_bytes);
}

}  // namespace
