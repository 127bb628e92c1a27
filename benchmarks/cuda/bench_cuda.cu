// W8: training step and inference of a 64-wide MLP with 4 hidden ReLU layers (MSE, SGD)
// at batch 2^14 … 2^20 on one GPU: ctnn's fused kernels against an unfused cuBLAS
// implementation written here (one SGEMM per layer and product, separate bias,
// activation, loss, reduction and update kernels) — what a careful user writes by hand.
// ctnn_bf16 / ctnn_fp16: the tensor-core kernel (16-bit operands, FP32 accumulation).
// benchmarks/cuda/pytorch_gpu.py times PyTorch eager on the same workloads (FP32, and BF16
// under autocast).
// Without a GPU every benchmark is skipped with the reason.
#include <benchmark/benchmark.h>
#include <cublas_v2.h>

#include <ctnn/ctnn.hpp>
#include <ctnn/cuda.cuh>
#include <memory>
#include <vector>

using namespace ctnn;

namespace {
using W8 = Net<Input<64>, Dense<64>, ReLU, Dense<64>, ReLU, Dense<64>, ReLU, Dense<64>, ReLU, Dense<64>>;
constexpr int width = 64, layers = 5;

void check_blas(cublasStatus_t s, const char* what) {
  if (s != CUBLAS_STATUS_SUCCESS) ctnn::detail::raise(std::string("cuBLAS: ") + what + " failed");
}

__global__ void bias_act(float* y, const float* b, int n, bool relu) {
  const std::size_t i = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= std::size_t(n) * width) return;
  const float v = y[i] + b[i % width];
  y[i] = relu ? fmaxf(v, 0.0f) : v;
}
__global__ void mse_grad(const float* y, const float* t, float* dy, int n) {
  const std::size_t i = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= std::size_t(n) * width) return;
  dy[i] = 2.0f * (y[i] - t[i]) / (float(n) * width);
}
__global__ void relu_grad(float* dz, const float* y, int n) {
  const std::size_t i = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= std::size_t(n) * width) return;
  if (y[i] <= 0.0f) dz[i] = 0.0f;
}
__global__ void column_sum(const float* dz, float* db, int n) {  // one block per column
  __shared__ float part[256];
  float s = 0.0f;
  for (int r = threadIdx.x; r < n; r += 256) s += dz[std::size_t(r) * width + blockIdx.x];
  part[threadIdx.x] = s;
  __syncthreads();
  for (int w = 128; w > 0; w /= 2) {
    if (int(threadIdx.x) < w) part[threadIdx.x] += part[threadIdx.x + w];
    __syncthreads();
  }
  if (threadIdx.x == 0) db[blockIdx.x] = part[0];
}
__global__ void sgd(float* p, const float* g, int count, float lr) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < count) p[i] -= lr * g[i];
}
unsigned grid(std::size_t n) { return unsigned((n + 255) / 256); }

/// The unfused reference: row-major activations [n][64]; W_l [64][64] row-major, so the
/// column-major SGEMMs below multiply the transposes.
struct Unfused {
  cublasHandle_t h{};
  cuda::DeviceArray<float> params{layers * (width * width + width)}, grads{layers * (width * width + width)};
  std::vector<cuda::DeviceArray<float>> acts;  // acts[0] = input copy not needed: x is given
  cuda::DeviceArray<float> d0, d1;
  explicit Unfused(std::size_t n) : d0(n * width), d1(n * width) {
    check_blas(cublasCreate(&h), "cublasCreate");
    for (int l = 0; l < layers; ++l) acts.emplace_back(n * width);
    std::vector<float> p(params.size());
    Rng rng(1);
    for (float& v : p) v = rng.uniform(0.2f);
    params.upload(p);
  }
  ~Unfused() { cublasDestroy(h); }
  float* W(int l) { return params.data() + l * (width * width + width); }
  float* b(int l) { return W(l) + width * width; }
  float* dW(int l) { return grads.data() + l * (width * width + width); }
  float* db(int l) { return dW(l) + width * width; }

  void forward(const float* x, int n) {
    const float one = 1.0f, zero = 0.0f;
    for (int l = 0; l < layers; ++l) {
      const float* in = l == 0 ? x : acts[l - 1].data();
      // Yᵀ(64×n) = Wᵀ · Xᵀ in column-major terms of the row-major arrays.
      check_blas(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, width, n, width, &one, W(l), width, in, width, &zero,
                             acts[l].data(), width),
                 "sgemm forward");
      bias_act<<<grid(std::size_t(n) * width), 256>>>(acts[l].data(), b(l), n, l + 1 < layers);
    }
  }
  void train_step(const float* x, const float* t, int n, float lr) {
    const float one = 1.0f, zero = 0.0f;
    forward(x, n);
    mse_grad<<<grid(std::size_t(n) * width), 256>>>(acts[layers - 1].data(), t, d0.data(), n);
    float* d = d0.data();
    float* other = d1.data();
    for (int l = layers - 1; l >= 0; --l) {
      if (l + 1 < layers) relu_grad<<<grid(std::size_t(n) * width), 256>>>(d, acts[l].data(), n);
      const float* in = l == 0 ? x : acts[l - 1].data();
      // dW (row-major [in][out]) = Xᵀ dZ  ⇔  column-major dWᵀ = dZᵀ · X.
      check_blas(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_T, width, width, n, &one, d, width, in, width, &zero, dW(l),
                             width),
                 "sgemm dW");
      column_sum<<<width, 256>>>(d, db(l), n);
      if (l > 0) {
        // dX (row-major [n][in]) = dZ Wᵀ  ⇔  column-major dXᵀ = W_cmᵀ · dZᵀ.
        check_blas(cublasSgemm(h, CUBLAS_OP_T, CUBLAS_OP_N, width, n, width, &one, W(l), width, d, width, &zero, other,
                               width),
                   "sgemm dX");
        std::swap(d, other);
      }
    }
    sgd<<<grid(params.size()), 256>>>(params.data(), grads.data(), int(params.size()), lr);
  }
};

bool have_gpu(benchmark::State& state) {
  if (cuda::device_count() > 0) return true;
  state.SkipWithError("no CUDA device (cudaGetDeviceCount found none)");
  return false;
}

struct Data {
  cuda::DeviceArray<float> x, t, y;
  explicit Data(std::size_t n) : x(n * width), t(n * width), y(n * width) {
    std::vector<float> h(n * width);
    Rng rng(2);
    for (float& v : h) v = rng.uniform(1.0f);
    x.upload(h);
    for (std::size_t i = 0; i < h.size(); ++i) h[i] = std::sin(float(i % 97));
    t.upload(h);
  }
};

/// Times with CUDA events around the measured call; reports manual time.
template <class F>
void time_gpu(benchmark::State& state, F&& f) {
  cudaEvent_t a, b;
  cuda::check(cudaEventCreate(&a), "cudaEventCreate");
  cuda::check(cudaEventCreate(&b), "cudaEventCreate");
  f();  // warm-up (allocations, first launch)
  cuda::check(cudaDeviceSynchronize(), "warm-up");
  for (auto _ : state) {
    cudaEventRecord(a);
    f();
    cudaEventRecord(b);
    cudaEventSynchronize(b);
    float ms = 0;
    cudaEventElapsedTime(&ms, a, b);
    state.SetIterationTime(ms * 1e-3);
  }
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  state.SetItemsProcessed(std::int64_t(state.iterations()) * state.range(0));
}

/// ctnn's step in precision P: FP32 (SIMT kernels), or FP16 / BF16 on tensor cores (FP32
/// accumulation and master weights; one fused kernel for forward, loss and backward).
template <class P>
void w8_train_ctnn(benchmark::State& state) {
  if (!have_gpu(state)) return;
  const std::size_t n = std::size_t(state.range(0));
  auto net = std::make_unique<W8>();
  net->init(1);
  cuda::Network<W8> g(*net);
  cuda::Trainer<W8, loss::MSE, optim::SGD, P> tr(g, {.lr = 1e-3f});
  Data d(n);
  time_gpu(state, [&] { tr.step(d.x.data(), d.t.data(), n); });
}
template <class P>
void w8_infer_ctnn(benchmark::State& state) {
  if (!have_gpu(state)) return;
  const std::size_t n = std::size_t(state.range(0));
  auto net = std::make_unique<W8>();
  net->init(1);
  cuda::Network<W8> g(*net);
  Data d(n);
  time_gpu(state, [&] { g.forward(d.x.data(), d.y.data(), n, P{}); });
}
void w8_train_cublas(benchmark::State& state) {
  if (!have_gpu(state)) return;
  const int n = int(state.range(0));
  Unfused u{std::size_t(n)};
  Data d{std::size_t(n)};
  float loss_host;  // the fused step returns its loss to the host; make the peer do the same
  time_gpu(state, [&] {
    u.train_step(d.x.data(), d.t.data(), n, 1e-3f);
    cudaMemcpy(&loss_host, u.grads.data(), sizeof(float), cudaMemcpyDeviceToHost);
  });
}
void w8_infer_cublas(benchmark::State& state) {
  if (!have_gpu(state)) return;
  const int n = int(state.range(0));
  Unfused u{std::size_t(n)};
  Data d{std::size_t(n)};
  time_gpu(state, [&] { u.forward(d.x.data(), n); });
}
}  // namespace

#define W8_ARGS ->RangeMultiplier(4)->Range(1 << 14, 1 << 20)->UseManualTime()->Unit(benchmark::kMicrosecond)
BENCHMARK(w8_train_ctnn<cuda::FP32>)->Name("W8/train_step/ctnn") W8_ARGS;
BENCHMARK(w8_train_cublas)->Name("W8/train_step/cublas_unfused") W8_ARGS;
BENCHMARK(w8_infer_ctnn<cuda::FP32>)->Name("W8/inference/ctnn") W8_ARGS;
BENCHMARK(w8_infer_cublas)->Name("W8/inference/cublas_unfused") W8_ARGS;
BENCHMARK(w8_train_ctnn<cuda::BF16>)->Name("W8/train_step/ctnn_bf16") W8_ARGS;
BENCHMARK(w8_train_ctnn<cuda::FP16>)->Name("W8/train_step/ctnn_fp16") W8_ARGS;
BENCHMARK(w8_infer_ctnn<cuda::BF16>)->Name("W8/inference/ctnn_bf16") W8_ARGS;
BENCHMARK(w8_infer_ctnn<cuda::FP16>)->Name("W8/inference/ctnn_fp16") W8_ARGS;
BENCHMARK_MAIN();
