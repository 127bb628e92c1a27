#pragma once
/**
 * @file predictor.hpp
 * @brief `ctnn::Predictor`: batch-1 inference from a snapshot of a network's weights
 * packed in the order the SIMD kernels read them.
 *
 * For latency-critical inference (a control loop, an audio callback): build it once
 * from a trained `Net`, then call `forward` per sample. Every node runs its fused kernel
 * on a stack buffer with the canonical weights, as `Net::forward` does. With `use_packed`
 * (off: it measured slower), small dense nodes (a Dense and the activations fused behind it,
 * at most 1024 FMA instructions unrolled, e.g. up to 64×64 on AVX-512) would instead run
 * `kernel::simd::dense_b1_packed` and hand their output to the next one in registers.
 * The snapshot does not follow later changes to the `Net`: call `load` again.
 *
 * Memory: the canonical parameters plus the packed dense weights (padded to 4 inputs
 * and to the register width in outputs), all inside the object, no heap; as with `Net`,
 * give a large one static storage or `std::make_unique` rather than a stack frame. `forward` is
 * const, noexcept and allocation-free. On the scalar backend it is `Net::forward` on
 * the snapshot.
 */
#include <array>
#include <cstddef>
#include <span>
#include <type_traits>
#include <utility>

#include "../backends/simd/gemv_packed.hpp"
#include "../core/memory.hpp"
#include "fusion.hpp"
#include "net.hpp"

CTNN_BEGIN_NAMESPACE

template <class NetT, Backend Be = default_backend>
class Predictor {
 public:
  static constexpr std::size_t input_size = NetT::input_size, output_size = NetT::output_size;

 private:
  using Plan = FusionPlan<NetT>;
  static constexpr bool simd = SimdBackend<Be>;

  /// The packed batch-1 kernel (`backends/simd/gemv_packed.hpp`) measured slower than the
  /// canonical fused kernels that `Net::forward` runs: W1 (16-64-64-16 tanh) took 142 ns
  /// against 134 on AVX-512 and 228 against 205 on AVX2 (`ctnn_bench`, `W1/forward_b1/ctnn`
  /// against `ctnn_net`). It is therefore off on every ISA, so that a `Predictor` is never
  /// slower than `Net::forward`; this switch turns it back on where it pays.
  static constexpr bool use_packed = false;

  template <std::size_t N>
  static constexpr bool packed_node = [] {
    if constexpr (!simd) {
      return false;
    }
#if CTNN_SIMD
    else if constexpr (!Plan::template dense_node<N>) {
      return false;
    } else if constexpr (Plan::template head<N>::input_shape::rank != 1) {
      return false;  // a Dense on each step of a sequence: many rows, not one
    } else {
      // Wide layers stream their weights from L2 either way and the canonical kernel's
      // row streams measured faster there (784-256-128-10: 6.5 µs against 7.9 µs packed).
      using Lay = typename Plan::template head<N>;
      return use_packed && kernel::simd::PackedDense<Be, Lay::in, Lay::out>::fits;
    }
#endif
  }();

  template <std::size_t N>
  static constexpr std::size_t packed_size = [] {
#if CTNN_SIMD
    if constexpr (packed_node<N>) {
      using Lay = typename Plan::template head<N>;
      return kernel::simd::PackedDense<Be, Lay::in, Lay::out>::floats;
    }
#endif
    return std::size_t{0};
  }();

  static constexpr auto packed_offsets = [] {
    return [&]<std::size_t... N>(std::index_sequence<N...>) {
      std::array<std::size_t, Plan::count + 1> off{};
      std::size_t acc = 0, k = 0;
      ((off[k++] = acc, acc += packed_size<N>), ...);
      off[k] = acc;
      return off;
    }(std::make_index_sequence<Plan::count>{});
  }();

 public:
  /// Floats of packed dense weights held beside the canonical parameters.
  static constexpr std::size_t packed_count = packed_offsets[Plan::count];

  Predictor() noexcept = default;
  explicit Predictor(const NetT& net) noexcept { load(net); }

  /// Takes a new snapshot of `net`'s parameters.
  void load(const NetT& net) noexcept {
    net_ = net;
#if CTNN_SIMD
    if constexpr (simd) {
      [&]<std::size_t... N>(std::index_sequence<N...>) {
        (
            [&] {
              if constexpr (packed_node<N>) {
                using Lay = typename Plan::template head<N>;
                const float* p = net_.params().data() + Plan::param_begin[N];
                kernel::simd::PackedDense<Be, Lay::in, Lay::out>::pack(p, p + Lay::weight_count,
                                                                      packed_.data() + packed_offsets[N]);
              }
            }(),
            ...);
      }(std::make_index_sequence<Plan::count>{});
    }
#endif
  }

  /// Inference of one sample into y.
  void forward(std::span<const float, input_size> x, std::span<float, output_size> y) const noexcept {
#if CTNN_SIMD
    if constexpr (simd) {
      alignas(alignment) float buf[2][padded(NetT::max_width)];
      alignas(alignment) float layer_scratch[std::max<std::size_t>(NetT::template inference_scratch<1>, 1)];
      PassContext ctx;
      ctx.scratch = layer_scratch;
      run<0>(x.data(), y.data(), buf, ctx);
      return;
    }
#endif
    net_.template forward<Be>(x, y);  // nothing is packed for the scalar backend
  }

  /// Inference of one sample, returned by value.
  std::array<float, output_size> forward(std::span<const float, input_size> x) const noexcept {
    std::array<float, output_size> y;
    forward(x, std::span<float, output_size>(y));
    return y;
  }

 private:
#if CTNN_SIMD
  static constexpr std::size_t padded(std::size_t n) noexcept {
    if constexpr (simd) {
      constexpr std::size_t w = kernel::simd::lanes<Be>;
      return (n + w - 1) / w * w;
    } else {
      return n;
    }
  }

  /// Runs node N and the rest. `in` is a float pointer (the input or a stack buffer) or,
  /// after a packed dense node, the registers holding its output.
  template <std::size_t N, class In>
  [[gnu::always_inline]] void run(const In& in, float* y, float (&buf)[2][padded(NetT::max_width)], const PassContext& ctx) const noexcept {
    using V = kernel::simd::vec<Be>;
    constexpr std::size_t W = kernel::simd::lanes<Be>;
    constexpr bool last = N + 1 == Plan::count;
    constexpr bool in_regs = !std::is_pointer_v<In>;
    if constexpr (packed_node<N>) {
      using Lay = typename Plan::template head<N>;
      using L = kernel::simd::PackedDense<Be, Lay::in, Lay::out>;
      alignas(alignment) std::array<V, L::in_vecs> xv_mem;
      const V* xv;
      if constexpr (in_regs) {
        xv = in.data();
      } else {
        // From memory: whole registers, the last one zero-padded past the input size.
        for (std::size_t v = 0; v + 1 < L::in_vecs; ++v) xv_mem[v] = V::load_unaligned(in + v * W);
        constexpr std::size_t tail = Lay::in - (L::in_vecs - 1) * W;
        xv_mem[L::in_vecs - 1] = kernel::simd::load_n<tail>(Be{}, in + (L::in_vecs - 1) * W);
        xv = xv_mem.data();
      }
      std::array<V, L::out_vecs> yv;
      kernel::simd::dense_b1_packed<Lay::in, Lay::out, typename Plan::template activation<N>>(
          Be{}, packed_.data() + packed_offsets[N], xv, yv.data());
      if constexpr (last) {
        for (std::size_t v = 0; v + 1 < L::out_vecs; ++v) yv[v].store_unaligned(y + v * W);
        constexpr std::size_t tail = Lay::out - (L::out_vecs - 1) * W;
        kernel::simd::store_n<tail>(Be{}, y + (L::out_vecs - 1) * W, yv[L::out_vecs - 1]);
      } else {
        run<N + 1>(yv, y, buf, ctx);
      }
    } else {
      const float* src;
      if constexpr (in_regs) {
        for (std::size_t v = 0; v < in.size(); ++v) in[v].store_aligned(buf[N % 2] + v * W);
        src = buf[N % 2];
      } else {
        src = in;
      }
      float* out = last ? y : buf[(N + 1) % 2];
      fused_node_forward<NetT, N, 1>(Be{}, net_.params().data(), src, out, ctx);
      if constexpr (!last) run<N + 1>(static_cast<const float*>(out), y, buf, ctx);
    }
  }
#endif

  NetT net_;  ///< the snapshot: canonical weights for the nodes that are not packed
  alignas(alignment) std::array<float, packed_count> packed_{};
};

CTNN_END_NAMESPACE
