// Helpers shared by the SIMD test binaries: the backends this build can run, the
// floating-point error bound of a dot product, and seeded random inputs.
#pragma once
#include <cmath>
#include <ctnn/ctnn.hpp>
#include <tuple>
#include <type_traits>
#include <vector>

namespace ctnn_test {
using namespace ctnn;

// Every SIMD backend this build can run: the native one and the ones it falls back to.
using AllSimd = std::tuple<backend::avx512, backend::avx2, backend::sse4, backend::neon>;
template <class... Bs>
constexpr auto filter(std::tuple<Bs...>) {
  return std::tuple_cat(std::conditional_t<SimdBackend<Bs> && std::is_base_of_v<Bs, backend::native>, std::tuple<Bs>,
                                           std::tuple<>>{}...);
}
using Backends = decltype(filter(AllSimd{}));
static_assert(std::tuple_size_v<Backends> >= 1, "no SIMD backend enabled: build with -march=native or -msse4.2");

template <class F>
void for_each_backend(F f) {
  std::apply([&](auto... b) { (f(b), ...); }, Backends{});
}

inline double gamma(std::size_t k) {
  const double u = std::ldexp(1.0, -24);
  return static_cast<double>(k) * u / (1.0 - static_cast<double>(k) * u);
}

inline std::vector<float> random(std::size_t n, std::uint64_t seed, float scale = 1.0f) {
  Rng rng(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = rng.uniform(scale);
  return v;
}

}  // namespace ctnn_test
