// The scalar oracle of the tensor-core kernel (fused_mlp_tc.cuh): plain loops over the
// device parameter layout that round exactly where the kernel rounds — the inputs, the
// weights, every stored activation and every dz to the 16-bit type T; products and sums in
// FP32. Used by tests/test_cuda_tc_emulated.cpp (emulator) and tests/cuda/test_cuda_mlp.cu
// (GPU), where only the order of the FP32 sums differs from it.
#pragma once
#include <algorithm>
#include <cmath>
#include <ctnn/backends/cuda/mlp_spec.hpp>
#include <ctnn/backends/cuda/portability.hpp>
#include <type_traits>
#include <vector>

namespace tc_oracle {
namespace cuda = ctnn::cuda;
namespace k = ctnn::cuda::kernels;

template <class T>
float round_to(float v) {
  return k::to_float(k::from_float<T>(v));
}

/// Layer l's activation of spec S (its own value and derivative, as every executor runs them).
template <class S, std::size_t I = 0>
float act(std::size_t l, float z) {
  if constexpr (I < S::layers)
    return l == I ? S::template activation<I>::value(z) : act<S, I + 1>(l, z);
  else
    return z;
}
/// Its derivative through the output y (the tensor-core kernel takes no needs_input activation).
template <class S, std::size_t I = 0>
float act_grad(std::size_t l, float y) {
  if constexpr (I < S::layers)
    return l == I ? S::template activation<I>::derivative(0.0f, y) : act_grad<S, I + 1>(l, y);
  else
    return 1.0f;
}

/// The oracle for network N with 16-bit type T.
template <class N, class T>
struct Oracle {
  using S = cuda::MlpSpec<N>;
  static constexpr std::size_t L = S::layers;
  std::vector<float> params;  // FP32 master, device layout
  explicit Oracle(const N& net) : params(S::param_count) { S::pack(net.params(), params); }
  float w(std::size_t l, std::size_t i, std::size_t j) const {
    return round_to<T>(params[S::w_offset[l] + i * S::padded[l + 1] + j]);
  }
  /// Every layer's stored (rounded) activations for one sample; the last is FP32 y.
  std::vector<std::vector<float>> forward(const float* x) const {
    std::vector<std::vector<float>> a(L + 1);
    a[0].assign(S::padded[0], 0.0f);
    for (std::size_t i = 0; i < S::width[0]; ++i) a[0][i] = round_to<T>(x[i]);
    for (std::size_t l = 0; l < L; ++l) {
      a[l + 1].assign(S::padded[l + 1], 0.0f);
      for (std::size_t j = 0; j < S::width[l + 1]; ++j) {
        float z = 0;
        for (std::size_t i = 0; i < S::padded[l]; ++i) z = std::fma(a[l][i], w(l, i, j), z);
        const float v = act<S>(l, z + params[S::b_offset[l] + j]);
        a[l + 1][j] = l + 1 == L ? v : round_to<T>(v);
      }
    }
    return a;
  }
  /// Loss (mean) and the FP32 gradient block (device layout) over n samples.
  template <class Tt>
  float gradients(const std::vector<float>& x, const std::vector<Tt>& t, std::size_t n, std::vector<float>& g) const {
    g.assign(S::param_count, 0.0f);
    double loss = 0;
    const std::size_t out = S::width[L];
    for (std::size_t s = 0; s < n; ++s) {
      const auto a = forward(x.data() + s * S::width[0]);
      std::vector<float> dz(S::padded[L], 0.0f);
      const auto& y = a[L];
      if constexpr (std::is_integral_v<Tt>) {
        float m = y[0], sum = 0;
        for (std::size_t j = 1; j < out; ++j) m = std::max(m, y[j]);
        for (std::size_t j = 0; j < out; ++j) sum += std::exp(y[j] - m);
        loss += std::log(sum) - (y[t[s]] - m);
        for (std::size_t j = 0; j < out; ++j)
          dz[j] = round_to<T>((std::exp(y[j] - m) / sum - (std::size_t(t[s]) == j ? 1.0f : 0.0f)) *
                              act_grad<S>(L - 1, y[j]));
      } else {
        for (std::size_t j = 0; j < out; ++j) {
          const float d = y[j] - t[s * out + j];
          loss += d * d;
          dz[j] = round_to<T>(2.0f * d / float(out) * act_grad<S>(L - 1, y[j]));
        }
      }
      for (std::size_t l = L; l-- > 0;) {
        for (std::size_t i = 0; i < S::padded[l]; ++i)
          for (std::size_t j = 0; j < S::padded[l + 1]; ++j) g[S::w_offset[l] + i * S::padded[l + 1] + j] += a[l][i] * dz[j];
        for (std::size_t j = 0; j < S::padded[l + 1]; ++j) g[S::b_offset[l] + j] += dz[j];
        if (l == 0) break;
        std::vector<float> prev(S::padded[l], 0.0f);
        for (std::size_t i = 0; i < S::width[l]; ++i) {
          float s2 = 0;
          for (std::size_t j = 0; j < S::padded[l + 1]; ++j) s2 = std::fma(dz[j], w(l, i, j), s2);
          prev[i] = round_to<T>(s2 * act_grad<S>(l - 1, a[l][i]));
        }
        dz.swap(prev);
      }
    }
    for (float& v : g) v /= float(n);
    return float(loss / double(n * (std::is_integral_v<Tt> ? 1 : out)));
  }
};

/// Bound against the FP32 CPU network, for outputs relative to max(1, |y|) and gradients
/// relative to max|g|: 3·u per layer, u the 16-bit type's unit roundoff (BF16 2^-8, FP16
/// 2^-11). Each layer rounds its input, its weights and its output once, and those errors
/// add up through the layers. Measured on the emulator: BF16 outputs ≤ 2.4e-2 for five
/// 64-wide layers (bound 5.9e-2) and ≤ 6.1e-3 for four mixed ones, gradients ≤ 4.7e-3·max|g|;
/// FP16 outputs ≤ 1.6e-3 for four layers (bound 5.9e-3), gradients ≤ 1.5e-4·max|g|.
template <class T>
struct Tol;
template <>
struct Tol<k::bf16_t> {
  static constexpr double u = 0x1p-8;
  static constexpr const char* name = "BF16";
  static constexpr double bound(std::size_t layers) { return 3 * u * double(layers); }
};
template <>
struct Tol<k::half_t> {
  static constexpr double u = 0x1p-11;
  static constexpr const char* name = "FP16";
  static constexpr double bound(std::size_t layers) { return 3 * u * double(layers); }
};

}  // namespace tc_oracle
