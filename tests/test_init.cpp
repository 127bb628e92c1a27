// Initialisers and the portable random generator.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <ctnn/ctnn.hpp>

using namespace ctnn;

using N = Net<Input<300>, Dense<200>, ReLU, Dense<100>>;

namespace {
std::uint64_t fnv1a(std::span<const float> v) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (float f : v) {
    const auto b = std::bit_cast<std::uint32_t>(f);
    for (int k = 0; k < 4; ++k) h = (h ^ ((b >> (8 * k)) & 0xFF)) * 0x100000001b3ull;
  }
  return h;
}

struct Moments {
  double mean = 0, var = 0, min = 1e30, max = -1e30;
};
Moments moments(std::span<const float> v) {
  Moments m;
  for (float f : v) {
    m.mean += f;
    m.min = std::min<double>(m.min, f);
    m.max = std::max<double>(m.max, f);
  }
  m.mean /= static_cast<double>(v.size());
  for (float f : v) m.var += (f - m.mean) * (f - m.mean);
  m.var /= static_cast<double>(v.size());
  return m;
}
}  // namespace

TEST(Init, SameSeedSameBitsOtherSeedOtherBits) {
  static N a, b, c;
  a.init(init::HeNormal{}, 42);
  b.init(init::HeNormal{}, 42);
  c.init(init::HeNormal{}, 43);
  EXPECT_TRUE(std::equal(a.params().begin(), a.params().end(), b.params().begin()));
  EXPECT_FALSE(std::equal(a.params().begin(), a.params().end(), c.params().begin()));
}

// Bit patterns recorded on x86-64 with g++ 12; the generator uses only integer
// arithmetic, correctly rounded IEEE operations and sqrt, so every platform must match.
TEST(Init, BitIdenticalAcrossPlatforms) {
  static N n;
  n.init(init::HeUniform{}, 42);
  EXPECT_EQ(fnv1a(n.params()), 0x977545ce956bffd6ull) << std::hex << fnv1a(n.params());
  n.init(init::XavierNormal{}, 7);
  EXPECT_EQ(fnv1a(n.params()), 0x2824cd4d2b1d63b6ull) << std::hex << fnv1a(n.params());
}

TEST(Init, DistributionsHaveTheirMoments) {
  static N n;
  const double fan_in = 300, fan_out = 200;
  struct Case {
    const char* name;
    double var;
    double limit;  // 0 for normal
  };
  auto run = [&](auto ini, Case c) {
    n.init(ini, 1234);
    auto w = n.layer_params<0>().first(300 * 200);
    const auto m = moments(w);
    EXPECT_NEAR(m.mean, 0.0, 4 * std::sqrt(c.var / 60000.0)) << c.name;
    EXPECT_NEAR(m.var, c.var, 0.03 * c.var) << c.name;
    if (c.limit > 0) {
      EXPECT_GE(m.min, -c.limit) << c.name;
      EXPECT_LT(m.max, c.limit) << c.name;
      EXPECT_GT(m.max, 0.99 * c.limit) << c.name;
    } else {
      EXPECT_GT(m.max, 3.5 * std::sqrt(c.var)) << c.name;  // tails exist
    }
    for (float b : n.layer_params<0>().last(200)) ASSERT_EQ(b, 0.0f) << c.name << ": biases start at 0";
  };
  run(init::HeUniform{}, {"HeUniform", 2.0 / fan_in, std::sqrt(6.0 / fan_in)});
  run(init::HeNormal{}, {"HeNormal", 2.0 / fan_in, 0});
  run(init::XavierUniform{}, {"XavierUniform", 2.0 / (fan_in + fan_out), std::sqrt(6.0 / (fan_in + fan_out))});
  run(init::XavierNormal{}, {"XavierNormal", 2.0 / (fan_in + fan_out), 0});
}

TEST(Init, PortableLogMatchesLibm) {
  Rng rng(9);
  for (int i = 0; i < 100000; ++i) {
    const double x = std::ldexp(static_cast<double>(rng.next() >> 11) * 0x1p-53 + 1e-300, static_cast<int>(rng.below(80)) - 40);
    ASSERT_NEAR(detail::portable_log(x), std::log(x), 4e-16 * std::max(1.0, std::abs(std::log(x)))) << x;
  }
  EXPECT_EQ(detail::portable_log(1.0), 0.0);
}

TEST(Init, UniformIsInRangeAndBelowIsUnbiased) {
  Rng rng(3);
  std::array<int, 10> counts{};
  for (int i = 0; i < 100000; ++i) {
    const float u = rng.uniform();
    ASSERT_GE(u, 0.0f);
    ASSERT_LT(u, 1.0f);
    ++counts[rng.below(10)];
  }
  for (int c : counts) EXPECT_NEAR(c, 10000, 500);
}
