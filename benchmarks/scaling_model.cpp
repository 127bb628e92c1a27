// Data-parallel scaling extrapolated by the α-β-γ model (comm_model.hpp) to 1,024 ranks:
//   build/benchmarks/scaling_model [--csv FILE]
// Times one training step of the Fashion-MNIST MLP (W4, batch 64 per rank, Adam) and of the
// CNN (W9, batch 64) on this core, then, for 1 to 1,024 ranks on each nominal link (1 Gbit/s
// with 200 µs, 10 Gbit/s with 20 µs), prints the step time — compute plus one all-reduce of
// the gradient by the algorithm the model picks, no overlap — and the scaling efficiency
// (weak scaling: the same local batch on every rank). scripts/plot_scaling.py draws the CSV.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctnn/parallel/comm_model.hpp>
#include <memory>
#include <string>
#include <vector>

#include "workloads.hpp"

using namespace ctnn;

namespace {
template <class NetT>
double step_seconds() {
  constexpr std::size_t B = 64;
  auto net = std::make_unique<NetT>();
  net->init(3);
  Trainer<NetT, loss::SoftmaxCrossEntropy, optim::Adam, Batch<B>> trainer(*net);
  const auto x = bench::random_inputs(B * NetT::input_size);
  std::vector<int> t(B);
  for (std::size_t k = 0; k < B; ++k) t[k] = int(k % NetT::output_size);
  std::vector<double> s;
  for (int r = 0; r < 25; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    trainer.step(x, t);
    s.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(s.begin(), s.end());
  return s[s.size() / 2];
}
}  // namespace

int main(int argc, char** argv) {
  std::FILE* csv = nullptr;
  for (int i = 1; i + 1 < argc; ++i)
    if (!std::strcmp(argv[i], "--csv") && !(csv = std::fopen(argv[i + 1], "w"))) {
      std::fprintf(stderr, "error: cannot write '%s'\n", argv[i + 1]);
      return 1;
    }
  struct Model {
    const char* name;
    double compute, bytes;
  };
  const Model models[] = {{"mlp", step_seconds<bench::W2>(), double(bench::W2::param_count * sizeof(float))},
                          {"cnn", step_seconds<bench::W9>(), double(bench::W9::param_count * sizeof(float))}};
  struct Link {
    const char* name;
    LinkModel m;
  };
  const Link links[] = {{"1g-200us", link_1g_200us}, {"10g-20us", link_10g_20us}};
  if (csv) std::fprintf(csv, "model,link,ranks,compute_s,allreduce_s,step_s,efficiency,algorithm\n");
  for (const auto& md : models) {
    std::printf("%s: %.0f gradient bytes, %.1f us of compute a step (batch 64 on this core)\n", md.name, md.bytes, md.compute * 1e6);
    for (const auto& l : links) {
      std::printf("  %-9s %6s %12s %12s %10s  %s\n", l.name, "ranks", "step_us", "allreduce_us", "efficiency", "algorithm");
      for (int p = 1; p <= 1024; p *= 2) {
        const StepEstimate e = data_parallel_step(l.m, md.compute, md.bytes, p);
        std::printf("  %-9s %6d %12.1f %12.1f %10.3f  %s\n", "", p, e.seconds() * 1e6, e.communicate * 1e6, e.efficiency(),
                    p > 1 ? name(e.algorithm) : "-");
        if (csv)
          std::fprintf(csv, "%s,%s,%d,%.9g,%.9g,%.9g,%.6f,%s\n", md.name, l.name, p, e.compute, e.communicate, e.seconds(),
                       e.efficiency(), p > 1 ? name(e.algorithm) : "none");
      }
    }
  }
  if (csv) std::fclose(csv);
  return 0;
}
