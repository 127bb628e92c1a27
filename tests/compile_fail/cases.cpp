// Each CTNN_CASE_* must be rejected at compile time with a readable message;
// tests/CMakeLists.txt lists the message each must print. With no case it compiles.
#include <ctnn/ctnn.hpp>
#include <ctnn/backends/cuda/mlp_spec.hpp>
#include <ctnn/parallel/data_parallel.hpp>
#include <ctnn/parallel/partition.hpp>

#include <vector>

using namespace ctnn;

#if defined(CTNN_CASE_softmax_in_middle)
using N = Net<Input<4>, Dense<3>, Softmax, Dense<2>>;
constexpr auto n = N::param_count;
#elif defined(CTNN_CASE_dense_zero)
using N = Net<Input<4>, Dense<3>, ReLU, Dense<0>>;
constexpr auto n = N::param_count;
#elif defined(CTNN_CASE_empty_net)
using N = Net<Input<4>>;
constexpr auto n = N::param_count;
#elif defined(CTNN_CASE_no_input)
using N = Net<Dense<3>, ReLU>;
constexpr auto n = N::param_count;
#elif defined(CTNN_CASE_input_zero)
using N = Net<Input<0>, Dense<3>>;
constexpr auto n = N::param_count;
#elif defined(CTNN_CASE_not_a_layer)
using N = Net<Input<4>, Dense<3>, int>;
constexpr auto n = N::param_count;
#elif defined(CTNN_CASE_softmax_then_cross_entropy)
using N = Net<Input<4>, Dense<3>, Softmax>;
N net;
Trainer<N, loss::SoftmaxCrossEntropy, optim::SGD, Batch<2>> trainer{net};
#elif defined(CTNN_CASE_batch_zero)
using N = Net<Input<4>, Dense<3>>;
constexpr auto n = N::workspace_bytes<Batch<0>::size>;
#elif defined(CTNN_CASE_wrong_target_type)
// MSE takes real-valued targets; integer labels are for SoftmaxCrossEntropy.
using N = Net<Input<4>, Dense<3>>;
N net;
Trainer<N, loss::MSE, optim::SGD, Batch<2>> trainer{net};
std::vector<float> x(8);
std::vector<int> t(6);
float l = trainer.step(x, t);
#elif defined(CTNN_CASE_unknown_optimizer_option)
// momentum is SGD's, not Adam's.
using N = Net<Input<4>, Dense<3>>;
N net;
Trainer<N, loss::MSE, optim::Adam, Batch<2>> trainer{net, {.lr = 1e-3f, .momentum = 0.9f}};
#elif defined(CTNN_CASE_unknown_optimizer_option_data_parallel)
using N = Net<Input<4>, Dense<3>>;
using T = Trainer<N, loss::MSE, optim::SGD, Batch<4>>;
N net;
DataParallel<T, Threads<2>> dp{net, {.lr = 1e-3f, .beta1 = 0.9f}};
#elif defined(CTNN_CASE_forward_wrong_extent)
// Net::forward takes exactly input_size floats.
using N = Net<Input<784>, Dense<3>>;
N net;
std::array<float, 10> x{};
auto y = net.forward(x);
#elif defined(CTNN_CASE_forward_wrong_element)
using N = Net<Input<4>, Dense<3>>;
N net;
std::array<double, 4> x{};
auto y = net.forward(x);
#elif defined(CTNN_CASE_conv_kernel_too_large)
using N = Net<Input<1, 4, 4>, Conv2D<8, 3>, ReLU, Conv2D<8, 3>>;  // 2x2 after the first: a 3x3 kernel cannot fit
constexpr auto n = N::param_count;
#elif defined(CTNN_CASE_conv_stride_not_integral)
using N = Net<Input<1, 28, 28>, Conv2D<8, 5, 3>>;  // (28 - 5) / 3 is not an integer
constexpr auto n = N::param_count;
#elif defined(CTNN_CASE_conv_stride_zero)
using N = Net<Input<1, 8, 8>, Conv2D<4, 3, 0>>;
constexpr auto n = N::param_count;
#elif defined(CTNN_CASE_conv_on_flat_input)
using N = Net<Input<784>, Dense<10>, ReLU, Conv2D<4, 3>>;
constexpr auto n = N::param_count;
#elif defined(CTNN_CASE_dense_on_image)
using N = Net<Input<1, 28, 28>, Conv2D<4, 3>, ReLU, Dense<10>>;
constexpr auto n = N::param_count;
#elif defined(CTNN_CASE_pool_not_integral)
using N = Net<Input<3, 9, 9>, MaxPool2D<2>>;
constexpr auto n = N::param_count;
#elif defined(CTNN_CASE_dropout_rate)
using N = Net<Input<10>, Dense<10>, Dropout<1000>>;
constexpr auto n = N::param_count;
#elif defined(CTNN_CASE_partition_more_devices_than_layers)
using N = Net<Input<4>, Dense<3>, ReLU>;
constexpr auto b = partition<N, Devices<CpuCore<0>, CpuCore<1>, CpuCore<2>>, Batch<8>>::bottleneck_ps;
#elif defined(CTNN_CASE_partition_more_devices_than_nodes)
using N = Net<Input<4>, Dense<3>, ReLU, Dense<3>, ReLU>;  // four layers, two fused nodes
constexpr auto b = partition<N, Devices<CpuCore<0>, CpuCore<1>, CpuCore<2>>, Batch<8>>::bottleneck_ps;
#elif defined(CTNN_CASE_partition_no_memory)
using N = Net<Input<4096>, Dense<4096>, ReLU, Dense<4096>>;  // 64 MiB of weights per Dense, x4 with Adam
constexpr auto b = partition<N, Devices<CpuCore<0, 100000, 100>, CpuCore<1, 100000, 100>>, Batch<8>>::bottleneck_ps;
#elif defined(CTNN_CASE_partition_bad_cuts)
using N = Net<Input<4>, Dense<3>, ReLU, Dense<3>, ReLU>;
constexpr auto b = partition<N, Devices<CpuCore<0>, CpuCore<1>, CpuCore<2>>, Batch<8>, Cuts<3, 2>>::bottleneck_ps;
#elif defined(CTNN_CASE_partition_cut_count)
using N = Net<Input<4>, Dense<3>, ReLU, Dense<3>, ReLU>;
constexpr auto b = partition<N, Devices<CpuCore<0>, CpuCore<1>>, Batch<8>, Cuts<1, 2>>::bottleneck_ps;
#elif defined(CTNN_CASE_cuda_width_over_256)
using N = Net<Input<784>, Dense<300>, ReLU, Dense<10>>;
constexpr auto n = cuda::MlpSpec<N>::param_count;
#elif defined(CTNN_CASE_cuda_not_an_mlp)
using N = Net<Input<8>, Dense<16>, ReLU, Dropout<100>, Dense<4>>;
constexpr auto n = cuda::MlpSpec<N>::param_count;
#elif defined(CTNN_CASE_cuda_stacked_activations)
using N = Net<Input<8>, Dense<16>, ReLU, Tanh, Dense<4>>;
constexpr auto n = cuda::MlpSpec<N>::param_count;
#elif defined(CTNN_CASE_recurrent_on_flat_input)
using N = Net<Input<8>, Dense<4>, GRU<4>>;
constexpr auto n = N::param_count;
#elif defined(CTNN_CASE_conv1d_on_flat_input)
using N = Net<Input<8>, Conv1D<2, 3>>;
constexpr auto n = N::param_count;
#elif defined(CTNN_CASE_stream_not_a_sequence)
using N = Net<Input<8>, Dense<1>>;
N net;
Stream<N> s(net);
#elif defined(CTNN_CASE_stream_mixes_steps)
using N = Net<Input<4, 2>, GRU<3>, Flatten, Dense<1>>;
N net;
Stream<N> s(net);
#elif defined(CTNN_CASE_residual_changes_shape)
using N = Net<Input<8>, Dense<4>, Residual<Dense<4>, ReLU, Dense<3>>>;
constexpr auto n = N::param_count;
#elif defined(CTNN_CASE_carry_state_uncarried)
// A user layer that keeps a streaming state but does not say what truncated BPTT carries.
struct Stateful {
  template <std::size_t, class, bool>
  struct check {};
  template <class In>
  struct bind {
    using tag = Stateful;
    using input_shape = In;
    using output_shape = In;
    static constexpr std::size_t param_count = 0, flops = 0, stream_state_floats = 1;
    static constexpr bool trainable = false;
    template <std::size_t B, class Be, class T>
    static void forward(Be, const T*, const T* x, T* y) noexcept {
      for (std::size_t i = 0; i < B * In::size; ++i) y[i] = x[i];
    }
    template <std::size_t B, class Be, class T>
    static void backward(Be, const T*, const T*, const T*, const T*, T*, T*) noexcept {}
  };
};
using N = Net<Input<8, 1>, Stateful, GRU<2>, Dense<1>>;
N net;
Trainer<N, loss::MSE, optim::SGD, Batch<2>> t(net);
void f() { t.carry_state(true); }
#elif defined(CTNN_CASE_reduced_predictor_of_a_cnn)
using N = Net<Input<1, 8, 8>, Conv2D<2, 3>, Flatten, Dense<4>>;
N net;
Int8Predictor<N> p(net);
#elif defined(CTNN_CASE_optimizer_without_step_rule)
// An optimizer of the old protocol: an update, but no rule for the executors to apply.
struct NoRule {
  struct Options {};
  static constexpr std::size_t state_blocks = 0;
  explicit NoRule(Options) {}
  void update(std::span<float>, std::span<const float>, std::span<float>) {}
};
using N = Net<Input<4>, Dense<2>>;
N net;
Trainer<N, loss::MSE, NoRule, Batch<2>> t(net);
#elif defined(CTNN_CASE_not_a_loss)
struct NotALoss {};
using N = Net<Input<4>, Dense<2>>;
N net;
Trainer<N, NotALoss, optim::SGD, Batch<2>> t(net);
#elif defined(CTNN_CASE_activation_without_derivative)
struct Half : detail::elementwise<Half> {
  static constexpr std::size_t flops_per_element = 1;
  template <class T>
  static T value(T x) noexcept {
    return x / 2;
  }
};
using N = Net<Input<4>, Dense<3>, Half, Dense<2>>;
N net;
#elif defined(CTNN_CASE_local_trainer_without_apply)
#include <ctnn/parallel/mpi/data_parallel.hpp>
// Computes gradients but cannot apply them: not a LocalTrainer.
using N = Net<Input<4>, Dense<2>>;
struct HalfTrainer {
  using net_type = N;
  using loss_type = loss::MSE;
  using optimizer_type = optim::SGD;
  static constexpr std::size_t batch = 2;
  float compute_gradients(std::span<const float>, std::span<const float>) { return 0; }
  std::span<float> gradient_block() { return {}; }
};
N net;
HalfTrainer half;
mpi::Distributed<N, HalfTrainer> d(net, half);
#else
using N = Net<Input<4>, Dense<3>, ReLU, Dense<2>, Softmax>;
static_assert(N::param_count == 4 * 3 + 3 + 3 * 2 + 2);
using C = Net<Input<1, 28, 28>, Conv2D<8, 4, 3>, ReLU, MaxPool2D<3>, Flatten, Dropout<100>, Dense<10>>;
static_assert(C::output_size == 10);
static_assert(cuda::MlpSpec<Net<Input<784>, Dense<256>, ReLU, Dense<10>>>::padded[2] == 16);
using S = Net<Input<8, 1>, Conv1D<2, 3>, GRU<2>, LSTM<3, Returns::last>, Dense<1>>;
static_assert(S::output_size == 1);
inline void stream_compiles(const S& net) { Stream<S> s(net); }
using RS = Net<Input<8, 2>, Dense<3>, Residual<LayerNorm, GRU<3>>, Dense<1>>;
inline void carry_compiles(RS& net) { Trainer<RS, loss::MSE, optim::SGD, Batch<2>>(net).carry_state(true); }
static_assert(reducible_v<N> && !reducible_v<C>);
inline void reduced_compiles(const N& net) { BF16Predictor<N> b(net); Int8Predictor<N> i(net); }
#endif

int main() {}
