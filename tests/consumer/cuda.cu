// ctnn::cuda from an outside project: compiles and links; runs a step where a GPU is.
#include <cstdio>

#include <ctnn/cuda.cuh>

using Net = ctnn::Net<ctnn::Input<16>, ctnn::Dense<32>, ctnn::ReLU, ctnn::Dense<4>>;

int main() {
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    std::printf("consumer cuda ok (compiled and linked; no GPU to run on)\n");
    return 0;
  }
  std::printf("consumer cuda ok (%d GPU%s)\n", devices, devices > 1 ? "s" : "");
  return 0;
}
