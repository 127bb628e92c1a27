// Shared by test_cuda_mlp.cu (FP32) and test_cuda_tc.cu (FP16/BF16): their main, and the
// refusal check (a NaN input and a label out of range make cuda::Trainer::step raise,
// leave the parameters and the step count as they were, and the next good step runs).
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctnn/ctnn.hpp>
#include <ctnn/cuda.cuh>
#include <string>
#include <vector>

#include "../cuda_test_data.hpp"

namespace cuda_tests {

using W16 = ctnn::Net<ctnn::Input<16>, ctnn::Dense<16>, ctnn::ReLU, ctnn::Dense<16>>;

/// Trains `g` (16 classes) in precision P on 7 samples `x` (left as the last good batch).
template <class P>
void check_refusals(ctnn::cuda::Network<W16>& g, std::vector<float>& x) {
  using namespace ctnn;
  cuda::Trainer<W16, loss::SoftmaxCrossEntropy, optim::Adam, P> tr(g);
  x = cuda_test_data::random_vector(7 * 16, 3);
  std::vector<std::int32_t> t(7, 2);
  tr.step(x, std::span<const std::int32_t>(t));
  W16 before;
  g.download(before);
  x[20] = std::nanf("");
  EXPECT_THROW(tr.step(x, std::span<const std::int32_t>(t)), Error);
  x[20] = 0.5f;
  t[3] = 16;
  try {
    tr.step(x, std::span<const std::int32_t>(t));
    ADD_FAILURE() << "label 16 of 16 classes was trained on";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("label"), std::string::npos) << e.what();
  }
  W16 after;
  g.download(after);
  EXPECT_TRUE(std::equal(before.params().begin(), before.params().end(), after.params().begin()));
  EXPECT_EQ(tr.steps(), 1u);
  t[3] = 1;
  EXPECT_NO_THROW(tr.step(x, std::span<const std::int32_t>(t)));
}

/// The tests' main: without a GPU, says so and exits 77 (CTest reports the test skipped).
inline int run_where_a_gpu_is(int argc, char** argv) {
  if (ctnn::cuda::device_count() == 0) {
    std::printf("SKIPPED: no CUDA device (cudaGetDeviceCount found none); the CUDA tests need a GPU\n");
    return 77;
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}

}  // namespace cuda_tests
