// Inference allocates nothing: every global operator new is counted during forward.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <ctnn/ctnn.hpp>
#include <ctnn/parallel/data_parallel.hpp>
#include <ctnn/parallel/pipeline.hpp>
#include <new>
#include <numeric>
#include <string_view>

#include "alloc_counter.hpp"

using namespace ctnn;
using Mlp = Net<Input<784>, Dense<256>, ReLU, Dense<128>, GELU, Dense<10>, Softmax>;

TEST(NoHeap, CounterSeesAllocations) {
  const long before = g_news.load();
  void* p = ::operator new(16);  // a direct call cannot be elided like a new-expression
  ::operator delete(p);
  EXPECT_EQ(g_news.load(), before + 1);
}

TEST(NoHeap, ForwardBatch1AndBatchedAllocateNothing) {
  static Mlp net;
  static Workspace<Mlp, Batch<8>> ws;
  static std::array<float, 8 * 784> xb;
  static std::array<float, 8 * 10> yb;
  net.init(42);
  std::array<float, 784> x;
  for (std::size_t k = 0; k < x.size(); ++k) x[k] = static_cast<float>(k % 13) / 13.0f;
  xb.fill(0.25f);
  const long before = g_news.load();
  const auto y = net.forward(x);
  std::array<float, 10> y2;
  net.forward(x, y2);
  net.forward<8>(ws, xb, yb);
  const long after = g_news.load();
  EXPECT_EQ(after, before);
  EXPECT_EQ(y, y2);
  EXPECT_NEAR(std::accumulate(yb.begin(), yb.begin() + 10, 0.0f), 1.0f, 1e-5f);
}

TEST(NoHeap, PredictorForwardAllocatesNothing) {
  using Small = Net<Input<16>, Dense<64>, Tanh, Dense<64>, Tanh, Dense<16>>;
  static Small small;
  static Mlp net;
  small.init(3);
  net.init(4);
  static const Predictor<Small> ps(small);
  static const Predictor<Mlp> pm(net);  // wide layers: the canonical kernels on a stack buffer
  std::array<float, 16> xs{};
  std::array<float, 784> xm{};
  for (std::size_t k = 0; k < xs.size(); ++k) xs[k] = static_cast<float>(k) / 16.0f;
  for (std::size_t k = 0; k < xm.size(); ++k) xm[k] = static_cast<float>(k % 13) / 13.0f;
  const long before = g_news.load();
  const auto ys = ps.forward(xs);
  const auto ym = pm.forward(xm);
  const long after = g_news.load();
  EXPECT_EQ(after, before);
  static_assert(noexcept(ps.forward(xs)));
  const auto ys_net = small.forward(xs);
  const auto ym_net = net.forward(xm);
  for (std::size_t j = 0; j < ys.size(); ++j) EXPECT_NEAR(ys[j], ys_net[j], 1e-5f * (1 + std::abs(ys_net[j])));
  for (std::size_t j = 0; j < ym.size(); ++j) EXPECT_NEAR(ym[j], ym_net[j], 1e-5f);
}

TEST(NoHeap, InferenceIsNoexcept) {
  static Mlp net;
  std::array<float, 784> x{};
  static_assert(noexcept(net.forward(x)));
}

// A CNN: the padded image and every window live in the stack frame or the workspace.
using Cnn = Net<Input<1, 28, 28>, Conv2D<8, 5, 1, 2>, ReLU, MaxPool2D<2>, Conv2D<16, 3>, ReLU, AvgPool2D<2>, Flatten,
                Dropout<300>, Dense<10>>;

TEST(NoHeap, CnnForwardBatch1AndBatchedAllocateNothing) {
  static Cnn net;
  static Workspace<Cnn, Batch<4>> ws;
  static std::array<float, 4 * 784> xb;
  static std::array<float, 4 * 10> yb;
  net.init(7);
  std::array<float, 784> x;
  for (std::size_t k = 0; k < x.size(); ++k) x[k] = static_cast<float>(k % 17) / 17.0f;
  for (std::size_t s = 0; s < 4; ++s) std::copy(x.begin(), x.end(), xb.begin() + s * 784);
  const long before = g_news.load();
  const auto y = net.forward(x);
  net.forward<4>(ws, xb, yb);
  const long after = g_news.load();
  EXPECT_EQ(after, before);
  for (std::size_t s = 0; s < 4; ++s)
    for (std::size_t j = 0; j < 10; ++j) EXPECT_NEAR(yb[s * 10 + j], y[j], 1e-5f * (1 + std::abs(y[j])));
  float mag = 0;
  for (float v : y) mag += std::abs(v);
  EXPECT_GT(mag, 0.0f);
}

// Training on threads: once the first step has sized its buffers, a step on a batch in
// memory or through row indices, and reading the outputs, allocate nothing.
template <class Be>
void data_parallel_steps_allocate_nothing(const char* name) {
  using Small = Net<Input<40>, Dense<24>, ReLU, Dense<16>, Tanh, Dense<5>>;
  using T = Trainer<Small, loss::SoftmaxCrossEntropy, optim::SGD, Batch<8>, Be>;
  auto net = std::make_unique<Small>();
  net->init(5);
  DataParallel<T, Threads<0>, Chunks<2>> dp(*net, {.lr = 0.01f, .momentum = 0.9f}, 2);
  static std::array<float, 16 * 40> x;
  static std::array<int, 16> t;
  for (std::size_t k = 0; k < x.size(); ++k) x[k] = static_cast<float>(k % 11) / 11.0f - 0.5f;
  for (std::size_t k = 0; k < t.size(); ++k) t[k] = static_cast<int>(k % 5);
  const std::array<std::uint32_t, 8> rows{15, 2, 9, 0, 7, 11, 4, 13};
  const std::span<const float> batch(x.data(), 8 * 40);
  const std::span<const int> targets(t.data(), 8);
  dp.step(batch, targets);
  dp.step_rows(std::span<const float>(x), std::span<const int>(t), rows);
  const long before = g_news.load();
  float sum = 0;
  for (int s = 0; s < 5; ++s) {
    sum += dp.step(batch, targets);
    sum += dp.step_rows(std::span<const float>(x), std::span<const int>(t), rows);
    for (float v : dp.outputs()) sum += v;
  }
  const long after = g_news.load();
  EXPECT_EQ(after, before) << name;
  EXPECT_TRUE(std::isfinite(sum)) << name;
  EXPECT_EQ(dp.outputs().size(), 8u * 5) << name;
}

TEST(NoHeap, DataParallelStepsAndOutputsAllocateNothing) {
  data_parallel_steps_allocate_nothing<backend::native>("simd");
  data_parallel_steps_allocate_nothing<backend::scalar>("scalar");
}

// A trainer with its buffers inside (storage::InPlace): building it and training allocate nothing.
using SmallMlp = Net<Input<13>, Dense<17>, Tanh, Dense<5>>;
using SeqNet = Net<Input<6, 2>, GRU<5>, Dense<1>>;
static SmallMlp in_place_net, heap_net;
static SeqNet in_place_seq;

TEST(NoHeap, InPlaceTrainerBuildsAndStepsWithoutAllocating) {
  in_place_net.init(3);
  heap_net.init(3);
  std::vector<float> x(8 * 13), y(8 * 5, 0.0f);
  std::vector<int> labels(8);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 7) * 0.1f - 0.3f;
  for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<int>(i % 5);
  const std::span<const float> partial(x.data(), 5 * 13);  // a last batch of 5 samples
  const std::span<const int> partial_labels(labels.data(), 5);
  Trainer<SmallMlp, loss::SoftmaxCrossEntropy, optim::Adam, Batch<8>> heap(heap_net, {.lr = 0.01f});
  const std::vector<float> sx(4 * 12, 0.25f), sy(4 * 6, 0.5f);

  const long before = g_news.load();
  static Trainer<SmallMlp, loss::SoftmaxCrossEntropy, optim::Adam, Batch<8>, default_backend, storage::InPlace> t(
      in_place_net, {.lr = 0.01f});
  float last = 0;
  for (int s = 0; s < 4; ++s) last = t.step(x, labels);
  last = t.step(partial, partial_labels);
  static Trainer<SeqNet, loss::MSE, optim::SGD, Batch<4>, default_backend, storage::InPlace> seq(in_place_seq,
                                                                                                {.lr = 0.01f});
  seq.carry_state(true);
  for (int s = 0; s < 3; ++s) seq.step(sx, sy);
  EXPECT_EQ(g_news.load() - before, 0) << "operator new was called while building or stepping an InPlace trainer";

  // The same training as the heap trainer's, bit for bit.
  float heap_last = 0;
  for (int s = 0; s < 4; ++s) heap_last = heap.step(x, labels);
  heap_last = heap.step(partial, partial_labels);
  EXPECT_EQ(last, heap_last);
  for (std::size_t k = 0; k < SmallMlp::param_count; ++k) ASSERT_EQ(in_place_net.params()[k], heap_net.params()[k]);
  static_assert(sizeof(t) > SmallMlp::param_count * sizeof(float) * 3);  // gradients and two Adam moments inside
}

// Trainer::workspace_bytes is what building a trainer allocates, byte for byte, on each backend
// and for a sequence network (saved values, carried states).
template <class T, class N>
void workspace_is_allocation(N& net) {
  const long bytes = g_new_bytes.load(), news = g_news.load();
  { T t(net); }
  EXPECT_EQ(g_new_bytes.load() - bytes, static_cast<long>(T::workspace_bytes)) << typeid(T).name();
  EXPECT_GT(g_news.load() - news, 0);
}

TEST(NoHeap, TrainerWorkspaceBytesAreWhatItAllocates) {
  workspace_is_allocation<Trainer<SmallMlp, loss::SoftmaxCrossEntropy, optim::Adam, Batch<8>>>(heap_net);
  workspace_is_allocation<Trainer<SmallMlp, loss::MSE, optim::SGD, Batch<3>, backend::scalar>>(heap_net);
  workspace_is_allocation<Trainer<SeqNet, loss::MSE, optim::Adam, Batch<4>>>(in_place_seq);
  auto lenet = std::make_unique<Net<Input<1, 12, 12>, Conv2D<4, 3, 1, 1>, ReLU, MaxPool2D<2>, Flatten, Dense<3>>>();
  workspace_is_allocation<Trainer<std::remove_reference_t<decltype(*lenet)>, loss::SoftmaxCrossEntropy, optim::Adam,
                                  Batch<16>>>(*lenet);
}

// DataParallel::workspace_bytes(threads) and PipelineTrainer::workspace_bytes are what
// building one allocates for its buffers, byte for byte (each buffer is an aligned
// allocation); beside them only the threads' bookkeeping, a few KiB.
template <class T, class N, class... Args>
void buffers_are_workspace(N& net, std::size_t expected, const char* what, Args... args) {
  const long aligned = g_aligned_bytes.load(), all = g_new_bytes.load();
  { T t(net, {}, args...); }
  const long buffers = g_aligned_bytes.load() - aligned, rest = g_new_bytes.load() - all - buffers;
  EXPECT_EQ(buffers, static_cast<long>(expected)) << what;
  EXPECT_GT(buffers, 0) << what;
  EXPECT_LT(rest, 16 * 1024) << what << ": allocations beyond the buffers";
}

TEST(NoHeap, DataParallelAndPipelineWorkspaceBytesAreWhatTheyAllocate) {
  auto chunked = std::make_unique<Net<Input<20>, LayerNorm, Dense<33>, Tanh, Dense<5>>>();
  auto rows = std::make_unique<Net<Input<300>, Dense<40>, ReLU, Dense<10>>>();
  auto mlp = std::make_unique<Net<Input<70>, Dense<48>, GELU, Dense<24>, ReLU, Dense<5>>>();
  auto deep = std::make_unique<Net<Input<90>, Dense<48>, Sigmoid, Dense<40>, ReLU, Dense<8>, GELU, Dense<6>, SiLU, Dense<3>>>();
  for (std::size_t threads : {1, 2, 3}) {
    using C = DataParallel<Trainer<std::remove_reference_t<decltype(*chunked)>, loss::SoftmaxCrossEntropy, optim::Adam, Batch<24>>,
                           Threads<0>, Chunks<4>>;
    using R = DataParallel<Trainer<std::remove_reference_t<decltype(*rows)>, loss::MSE, optim::SGD, Batch<24>>, Threads<0>,
                           Chunks<4>>;
    using M = DataParallel<Trainer<std::remove_reference_t<decltype(*mlp)>, loss::SoftmaxCrossEntropy, optim::Adam, Batch<24>>,
                           Threads<0>, Chunks<4>>;
    buffers_are_workspace<C>(*chunked, C::workspace_bytes(threads), "chunked", threads);
    buffers_are_workspace<R>(*rows, R::workspace_bytes(threads), "row split", threads);
    buffers_are_workspace<M>(*mlp, M::workspace_bytes(threads), "weight split", threads);
    EXPECT_GT(M::workspace_bytes(threads + 1), M::workspace_bytes(threads));  // each worker adds its own
    using D = DataParallel<Trainer<std::remove_reference_t<decltype(*deep)>, loss::SoftmaxCrossEntropy, optim::SGD, Batch<24>>,
                           Threads<0>, Chunks<4>>;
    static_assert(std::string_view(D::strategy()) == "weights");
    buffers_are_workspace<D>(*deep, D::workspace_bytes(threads), "weight split, a tail of three nodes", threads);
  }
  using Plan = partition<std::remove_reference_t<decltype(*mlp)>, Devices<CpuCore<0>, CpuCore<1>>, Batch<6>>;
  using Pipe = PipelineTrainer<Plan, loss::SoftmaxCrossEntropy, optim::Adam, 4>;
  buffers_are_workspace<Pipe>(*mlp, Pipe::workspace_bytes, "pipeline");
}
