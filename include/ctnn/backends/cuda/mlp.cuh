#pragma once
/**
 * @file mlp.cuh
 * @brief Host API of the fused CUDA MLP (target `ctnn::cuda`): `cuda::Network<Net>` holds
 * a CPU network's parameters on the GPU, `forward` runs inference in one kernel, and
 * `cuda::Trainer<Net, Loss, Optimizer, Precision>` trains. Precision `FP32` (the default)
 * runs SIMT kernels (forward, loss, backward, the fixed-order gradient sum with its NaN/Inf
 * check, the update); `FP16` and `BF16` run the whole forward, loss and backward in one
 * tensor-core kernel (fused_mlp_tc.cuh) on 16-bit copies of the weights, with FP32
 * accumulation and FP32 master weights, then the same sum and update.
 *
 * Pointers named `*_dev` are device memory; the `std::span` overloads copy host data.
 * Every CUDA error becomes a `ctnn::Error` naming the call; a step with a NaN/Inf loss or
 * gradient, or a label out of range, raises after leaving the parameters unchanged.
 */
#include <cuda_runtime.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "../../detail/finite.hpp"
#include "../../detail/raise.hpp"
#include "../../losses/cross_entropy.hpp"
#include "../../losses/mse.hpp"
#include "../../optimizers/optimizer_concepts.hpp"
#include "fused_mlp.cuh"
#include "fused_mlp_tc.cuh"
#include "mlp_spec.hpp"

CTNN_BEGIN_NAMESPACE
namespace cuda {

/// Raises `ctnn::Error` with the CUDA message when `e` is not cudaSuccess.
inline void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess)
    detail::raise(std::string("ctnn::cuda: ") + what + " failed: " + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) +
                  ")");
}

/// GPUs visible to this process (0 when there is no driver or no device; never raises).
inline int device_count() noexcept {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    (void)cudaGetLastError();  // clear the sticky "no device" error
    return 0;
  }
  return n;
}

/// Raises a clear `ctnn::Error` when no GPU can be used.
inline void require_device() {
  if (device_count() == 0)
    detail::raise("ctnn::cuda: no CUDA device is available (cudaGetDeviceCount found none; is there a GPU and a driver?)");
}

/// Device memory for `n` elements of T, released on destruction.
template <class T>
class DeviceArray {
 public:
  DeviceArray() = default;
  explicit DeviceArray(std::size_t n) { resize(n); }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;
  DeviceArray(DeviceArray&& o) noexcept : p_(o.p_), n_(o.n_) { o.p_ = nullptr, o.n_ = 0; }
  ~DeviceArray() {
    if (p_) (void)cudaFree(p_);
  }
  /// Reallocates (contents lost) when `n` differs from the size.
  void resize(std::size_t n) {
    if (n == n_) return;
    if (p_) check(cudaFree(p_), "cudaFree");
    p_ = nullptr;
    n_ = 0;
    if (n) check(cudaMalloc(reinterpret_cast<void**>(&p_), n * sizeof(T)), "cudaMalloc");
    n_ = n;
  }
  void upload(std::span<const T> h) {
    if (h.size() != n_) detail::raise("ctnn::cuda::DeviceArray::upload: size mismatch");
    check(cudaMemcpy(p_, h.data(), n_ * sizeof(T), cudaMemcpyHostToDevice), "cudaMemcpy (to device)");
  }
  void download(std::span<T> h) const {
    if (h.size() != n_) detail::raise("ctnn::cuda::DeviceArray::download: size mismatch");
    check(cudaMemcpy(h.data(), p_, n_ * sizeof(T), cudaMemcpyDeviceToHost), "cudaMemcpy (to host)");
  }
  std::vector<T> to_host() const {
    std::vector<T> h(n_);
    download(h);
    return h;
  }
  T* data() noexcept { return p_; }
  const T* data() const noexcept { return p_; }
  std::size_t size() const noexcept { return n_; }

 private:
  T* p_ = nullptr;
  std::size_t n_ = 0;
};

/// Precision tags: FP32 SIMT kernels, or FP16 / BF16 operands on tensor cores (FP32
/// accumulation, FP32 master weights).
struct FP32 {};
struct FP16 {
  using type = kernels::half_t;
};
struct BF16 {
  using type = kernels::bf16_t;
};
template <class P>
inline constexpr bool is_low_precision_v = std::is_same_v<P, FP16> || std::is_same_v<P, BF16>;
template <class P>
inline constexpr bool is_precision_v = std::is_same_v<P, FP32> || is_low_precision_v<P>;

namespace detail_ {
inline unsigned blocks_for(std::size_t n, unsigned per = 256) { return unsigned((n + per - 1) / per); }
template <class S, bool Save>
void set_smem_limit() {
  static const bool done = [] {
    check(cudaFuncSetAttribute(kernels::forward_kernel<S, Save>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                               int(kernels::Smem<S>::bytes)),
          "cudaFuncSetAttribute (forward shared memory)");
    return true;
  }();
  (void)done;
}
/// Persistent blocks of the tensor-core kernel that fit on the current device at once (set
/// up once: the shared-memory opt-in, checked against what the device offers).
template <class S, class T, kernels::tc::Mode M>
int tc_max_blocks() {
  static const int blocks = [] {
    using Lay = kernels::tc::Layout<S, T>;
    int dev = 0, optin = 0, sms = 0, per_sm = 0;
    check(cudaGetDevice(&dev), "cudaGetDevice");
    check(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev), "cudaDeviceGetAttribute");
    if (std::size_t(optin) < Lay::bytes)
      ctnn::detail::raise("ctnn::cuda: the FP16/BF16 kernel for this network needs " + std::to_string(Lay::bytes) +
                          " bytes of shared memory per block and this GPU offers " + std::to_string(optin) +
                          "; use cuda::FP32");
    check(cudaFuncSetAttribute(kernels::tc::step_kernel<S, T, M>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                               int(Lay::bytes)),
          "cudaFuncSetAttribute (tensor-core kernel shared memory)");
    check(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev), "cudaDeviceGetAttribute");
    check(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernels::tc::step_kernel<S, T, M>,
                                                        Lay::block_threads, Lay::bytes),
          "cudaOccupancyMaxActiveBlocksPerMultiprocessor");
    return sms * (per_sm > 0 ? per_sm : 1);
  }();
  return blocks;
}
template <class S, class P>
void check_tc_fits() {
  static_assert(kernels::tc::Layout<S, typename P::type>::fits,
                "ctnn::cuda: FP16/BF16 keep every layer's weights and a 64-sample tile of every layer's activations "
                "in one block's shared memory (227 KiB); this network is too large for that: use cuda::FP32");
}
}  // namespace detail_

/**
 * @brief A `ctnn::Net` of Dense layers (each followed by at most one `FusableActivation`)
 * with its parameters on the current GPU.
 */
template <class NetT>
class Network {
 public:
  using Spec = MlpSpec<NetT>;
  static constexpr std::size_t input_size = Spec::input_size, output_size = Spec::output_size;

  /// Uploads `cpu`'s parameters. Raises when there is no GPU or memory runs out.
  explicit Network(const NetT& cpu) : params_((require_device(), Spec::param_count)) { upload(cpu); }
  /// Replaces the parameters with `cpu`'s.
  void upload(const NetT& cpu) {
    std::vector<float> dev(Spec::param_count);
    Spec::pack(cpu.params(), dev);
    params_.upload(dev);
    mark_changed();
  }
  /// Copies the parameters into `cpu`.
  void download(NetT& cpu) const {
    const std::vector<float> dev = params_.to_host();
    Spec::unpack(dev, cpu.params());
  }

  /// y_dev[n][output_size] = net(x_dev[n][input_size]) in FP32, one kernel; asynchronous on `stream`.
  void forward(const float* x_dev, float* y_dev, std::size_t n, cudaStream_t stream = nullptr) const {
    forward(x_dev, y_dev, n, FP32{}, stream);
  }
  /// The same in precision P (FP32, or FP16 / BF16 on tensor cores).
  template <class P>
    requires is_precision_v<P>
  void forward(const float* x_dev, float* y_dev, std::size_t n, P, cudaStream_t stream = nullptr) const {
    if (n == 0) return;
    if constexpr (is_low_precision_v<P>) {
      using T = typename P::type;
      constexpr auto M = kernels::tc::Mode::infer;
      detail_::check_tc_fits<Spec, P>();
      const T* w = low_weights<P>(stream);
      using Lay = kernels::tc::Layout<Spec, T>;
      const unsigned want = detail_::blocks_for(n, kernels::tc::tile_rows * Lay::groups);
      const unsigned most = unsigned(detail_::tc_max_blocks<Spec, T, M>());
      kernels::tc::step_kernel<Spec, T, M><<<want < most ? want : most, Lay::block_threads, Lay::bytes, stream>>>(
          w, params_.data(), x_dev, int(n), nullptr, nullptr, y_dev, nullptr, nullptr, nullptr);
      check(cudaGetLastError(), "tensor-core forward kernel launch");
    } else {
      detail_::set_smem_limit<Spec, false>();
      kernels::forward_kernel<Spec, false><<<detail_::blocks_for(n, kernels::tile_rows), kernels::threads,
                                             kernels::Smem<Spec>::bytes, stream>>>(params_.data(), x_dev, int(n),
                                                                                   y_dev, nullptr);
      check(cudaGetLastError(), "forward kernel launch");
    }
  }
  /// Host convenience: copies x in, runs in precision P, copies the outputs back (blocking).
  template <class P = FP32>
    requires is_precision_v<P>
  std::vector<float> forward(std::span<const float> x, P p = {}) const {
    if (x.size() % input_size != 0)
      ctnn::detail::raise("ctnn::cuda::Network::forward: " + std::to_string(x.size()) +
                          " input values are not a whole number of samples of " + std::to_string(input_size));
    const std::size_t n = x.size() / input_size;
    DeviceArray<float> xd(x.size()), yd(n * output_size);
    xd.upload(x);
    forward(xd.data(), yd.data(), n, p);
    check(cudaDeviceSynchronize(), "forward");
    return yd.to_host();
  }

  float* params() noexcept { return params_.data(); }
  const float* params() const noexcept { return params_.data(); }

  /// Tells the network its parameters changed on the device (the trainers call it), so the
  /// FP16/BF16 copies are converted again before their next use.
  void mark_changed() noexcept { ++version_; }
  /// The weights in P's 16-bit type and the tensor-core kernel's layout, converted from the
  /// FP32 parameters when they changed since the last call.
  template <class P>
    requires is_low_precision_v<P>
  const typename P::type* low_weights(cudaStream_t stream = nullptr) const {
    using T = typename P::type;
    using Lay = kernels::tc::Layout<Spec, T>;
    auto& [w, version] = low_cache<P>();
    if (version != version_) {  // a new copy starts at version ~0, which version_ never reaches
      w.resize(Lay::w_elems);
      kernels::tc::to_low_kernel<Spec, T><<<detail_::blocks_for(Lay::w_elems), 256, 0, stream>>>(params_.data(), w.data());
      check(cudaGetLastError(), "weight conversion kernel launch");
      version = version_;
    }
    return w.data();
  }

 private:
  template <class P>
  auto& low_cache() const {
    if constexpr (std::is_same_v<P, FP16>)
      return half_;
    else
      return bf16_;
  }

  DeviceArray<float> params_;
  std::size_t version_ = 0;
  template <class T>
  struct LowCopy {
    DeviceArray<T> w;
    std::size_t version = ~std::size_t(0);
  };
  mutable LowCopy<kernels::half_t> half_;
  mutable LowCopy<kernels::bf16_t> bf16_;
};

/**
 * @brief Trains a `cuda::Network` with loss L (`loss::SoftmaxCrossEntropy` on int32
 * labels, or `loss::MSE` on float targets) and any optimizer O (`optim::SGD`, `optim::Adam`,
 * `optim::AdamW`, `optim::Lion`, ...: its own rule, the one the CPU runs, applied by one
 * update kernel), in precision P: `FP32`
 * (SIMT), or `FP16` / `BF16` (one fused tensor-core kernel for forward, loss and backward;
 * FP32 accumulation and FP32 master weights; the network must fit `tc::Layout::fits`).
 */
template <class NetT, class L, class O, class P = FP32>
class Trainer {
  using Spec = MlpSpec<NetT>;
  static_assert(is_precision_v<P>, "ctnn::cuda::Trainer: precision cuda::FP32, cuda::FP16 or cuda::BF16");
  static constexpr bool low = is_low_precision_v<P>;
  static constexpr bool xent = std::is_same_v<L, loss::SoftmaxCrossEntropy>;
  static_assert(xent || std::is_same_v<L, loss::MSE>, "ctnn::cuda::Trainer: loss::SoftmaxCrossEntropy or loss::MSE");
  static_assert(Optimizer<O>, "ctnn::cuda::Trainer: O must satisfy ctnn::Optimizer (e.g. optim::SGD, optim::Adam, "
                              "or an optim::RuleOptimizer of your own, whose rule runs in device code)");
  static constexpr int out_real = int(Spec::output_size), out_pad = int(Spec::padded[Spec::layers]);
  static constexpr const char* who = "ctnn::cuda::Trainer::step";
  static constexpr auto tc_mode = xent ? kernels::tc::Mode::xent : kernels::tc::Mode::mse;
  /// Thread groups per block of the tensor-core kernel (each with its own partial gradient).
  static constexpr int groups = [] {
    if constexpr (low)
      return kernels::tc::Layout<Spec, typename P::type>::groups;
    else
      return 1;
  }();

 public:
  using Target = std::conditional_t<xent, std::int32_t, float>;
  static constexpr std::size_t targets_per_sample = xent ? 1 : Spec::output_size;

  explicit Trainer(Network<NetT>& net, typename O::Options opts = {})
      : net_(net), opt_(opts), grad_(Spec::param_count), state_((O::state_blocks > 0 ? O::state_blocks : 1) * Spec::param_count), scalars_(2),
        status_(1) {
    int dev = 0, sms = 0;
    check(cudaGetDevice(&dev), "cudaGetDevice");
    check(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev), "cudaDeviceGetAttribute");
    check(cudaMemset(state_.data(), 0, state_.size() * sizeof(float)), "cudaMemset (optimizer state)");
    if constexpr (low) {
      detail_::check_tc_fits<Spec, P>();
      max_blocks_ = detail_::tc_max_blocks<Spec, typename P::type, tc_mode>();
    } else {
      check(cudaFuncSetAttribute(kernels::backward_kernel<Spec>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                 int(kernels::Smem<Spec>::bytes)),
            "cudaFuncSetAttribute (backward shared memory)");
      // As many persistent backward blocks as fit on the device at once (fixed per device, so
      // the block-order gradient sum is reproducible run to run).
      int per_sm = 0;
      check(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernels::backward_kernel<Spec>, kernels::threads,
                                                          kernels::Smem<Spec>::bytes),
            "cudaOccupancyMaxActiveBlocksPerMultiprocessor");
      max_blocks_ = sms * (per_sm > 0 ? per_sm : 1);
    }
  }

  /**
   * @brief One step on n samples in device memory: x_dev `[n][input]`, targets_dev n labels
   * or `[n][output]` values. Blocks until the loss is known.
   * @return the mean loss before the update.
   * @throws ctnn::Error on a NaN/Inf loss or gradient or a label out of range (parameters
   * unchanged), or a CUDA error.
   */
  float step(const float* x_dev, const Target* targets_dev, std::size_t n) {
    if (n == 0) ctnn::detail::raise("ctnn::cuda::Trainer::step: empty batch");
    reserve(n);
    const int ni = int(n);
    const unsigned tiles = detail_::blocks_for(n, low ? kernels::tc::tile_rows * groups : kernels::tile_rows);
    const int blocks = int(tiles < unsigned(max_blocks_) ? tiles : unsigned(max_blocks_));
    check(cudaMemset(status_.data(), 0, sizeof(unsigned)), "cudaMemset (status)");
    float grad_scale = 1.0f;
    if constexpr (low) {
      using T = typename P::type;
      const T* w = net_.template low_weights<P>();
      const float* values = nullptr;
      const std::int32_t* labels = nullptr;
      if constexpr (xent)
        labels = targets_dev;
      else
        values = targets_dev;
      using Lay = kernels::tc::Layout<Spec, T>;
      kernels::tc::step_kernel<Spec, T, tc_mode><<<blocks, Lay::block_threads, Lay::bytes>>>(
          w, net_.params(), x_dev, ni, values, labels, out_.data(), row_loss_.data(), partials_.data(), status_.data());
      check(cudaGetLastError(), "tensor-core step kernel launch");
      grad_scale = 1.0f / float(n);  // the kernel's loss gradient is per sample
    } else {
      detail_::set_smem_limit<Spec, true>();
      kernels::forward_kernel<Spec, true><<<tiles, kernels::threads, kernels::Smem<Spec>::bytes>>>(
          net_.params(), x_dev, ni, out_.data(), saved_.data());
      check(cudaGetLastError(), "forward kernel launch");
      if constexpr (xent)
        kernels::softmax_xent_kernel<out_real, out_pad><<<detail_::blocks_for(n), 256>>>(
            out_.data(), targets_dev, ni, row_loss_.data(), dy_.data(), status_.data());
      else
        kernels::mse_kernel<out_real, out_pad><<<detail_::blocks_for(n), 256>>>(
            out_.data(), targets_dev, ni, row_loss_.data(), dy_.data(), status_.data());
      check(cudaGetLastError(), "loss kernel launch");
      kernels::backward_kernel<Spec><<<blocks, kernels::threads, kernels::Smem<Spec>::bytes>>>(
          net_.params(), x_dev, ni, saved_.data(), dy_.data(), partials_.data());
      check(cudaGetLastError(), "backward kernel launch");
    }
    kernels::sum_kernel<<<1, kernels::threads>>>(row_loss_.data(), ni,
                                                 1.0f / (float(n) * float(xent ? 1 : out_real)), scalars_.data(),
                                                 status_.data());
    kernels::reduce_kernel<<<detail_::blocks_for(Spec::param_count), 256>>>(
        partials_.data(), blocks * groups, Spec::param_count, grad_.data(), status_.data(), grad_scale);
    {
      const auto step = opt_.step_rule();
      float* s0 = state_.data();
      float* s1 = O::state_blocks >= 2 ? state_.data() + Spec::param_count : nullptr;
      kernels::update_kernel<<<detail_::blocks_for(Spec::param_count), 256>>>(
          step.rule, step.states, net_.params(), grad_.data(), s0, s1, Spec::param_count, status_.data());
    }
    check(cudaGetLastError(), "update kernel launch");
    net_.mark_changed();
    float loss = 0;
    unsigned status = 0;
    check(cudaMemcpy(&loss, scalars_.data(), sizeof(float), cudaMemcpyDeviceToHost), "cudaMemcpy (loss)");
    check(cudaMemcpy(&status, status_.data(), sizeof(unsigned), cudaMemcpyDeviceToHost), "cudaMemcpy (status)");
    if (status != 0) {
      opt_.restore_steps(opt_.steps() - 1);  // the update kernel did nothing
      if (status & kernels::bad_label)
        ctnn::detail::raise("ctnn::cuda::Trainer::step: a label is outside [0, " + std::to_string(out_real) +
                            ") (parameters left unchanged)");
      if (status & kernels::bad_loss) ctnn::detail::raise(ctnn::detail::non_finite_loss(who, loss, opt_.steps()));
      ctnn::detail::raise(ctnn::detail::non_finite_gradient(who, opt_.steps()));
    }
    return loss;
  }

  /// Host convenience: copies a batch in (n = x.size() / input_size) and steps.
  float step(std::span<const float> x, std::span<const Target> targets) {
    if (x.size() % Spec::input_size != 0 || x.empty())
      ctnn::detail::raise("ctnn::cuda::Trainer::step: " + std::to_string(x.size()) +
                          " input values are not a whole, non-zero number of samples of " +
                          std::to_string(Spec::input_size));
    const std::size_t n = x.size() / Spec::input_size;
    if (targets.size() != n * targets_per_sample)
      ctnn::detail::raise("ctnn::cuda::Trainer::step: expected " + std::to_string(n * targets_per_sample) +
                          " targets, got " + std::to_string(targets.size()));
    x_host_.resize(x.size());
    t_host_.resize(targets.size());
    x_host_.upload(x);
    t_host_.upload(targets);
    return step(x_host_.data(), t_host_.data(), n);
  }

  typename O::Options& options() noexcept { return opt_.options(); }
  std::size_t steps() const noexcept { return opt_.steps(); }
  /// The last step's gradient in the device layout (`MlpSpec::param_count` floats).
  std::vector<float> gradients() const { return grad_.to_host(); }
  /// The last step's outputs `[n][output]`.
  std::vector<float> outputs() const {
    std::vector<float> y(n_ * Spec::output_size);
    if (!y.empty()) check(cudaMemcpy(y.data(), out_.data(), y.size() * sizeof(float), cudaMemcpyDeviceToHost), "cudaMemcpy");
    return y;
  }

 private:
  /// Sizes the per-batch buffers for n samples (allocates only when n grows).
  void reserve(std::size_t n) {
    n_ = n;
    if (n <= capacity_) return;
    const std::size_t rows = low ? kernels::tc::tile_rows * groups : kernels::tile_rows;
    const std::size_t tiles = (n + rows - 1) / rows;
    const std::size_t blocks = (tiles < std::size_t(max_blocks_) ? tiles : std::size_t(max_blocks_)) * groups;
    out_.resize(n * Spec::output_size);
    if constexpr (!low) {  // the tensor-core kernel keeps activations and dy in shared memory
      saved_.resize(n * Spec::saved_per_sample);
      dy_.resize(n * std::size_t(out_pad));
    }
    row_loss_.resize(n);
    if (partials_.size() < blocks * Spec::param_count) partials_.resize(blocks * Spec::param_count);
    capacity_ = n;
  }

  Network<NetT>& net_;
  O opt_;
  DeviceArray<float> grad_, state_, scalars_;
  DeviceArray<unsigned> status_;
  DeviceArray<float> out_, saved_, dy_, row_loss_, partials_, x_host_;
  DeviceArray<Target> t_host_;
  std::size_t n_ = 0, capacity_ = 0;
  int max_blocks_ = 1;
};

}  // namespace cuda
CTNN_END_NAMESPACE
