// The SIMD dense kernels with each fused activation, and NaN through a fused ReLU (part of
// test_simd; see test_simd.cpp).
#include "simd_dense_check.hpp"

using namespace ctnn;
using simd_dense_check::shape_all_batches;
using ctnn_test::for_each_backend;

TEST(SimdDense, FusedActivations) {
  shape_all_batches<17, 33, ReLU>();
  shape_all_batches<33, 17, LeakyReLU>();
  shape_all_batches<16, 100, Tanh>();
  shape_all_batches<100, 3, Sigmoid>();
  shape_all_batches<7, 64, GELU>();
  shape_all_batches<17, 33, SiLU>();  // derivative from z
  shape_all_batches<31, 31, LeakyReLUSlope<-1, 4>>();  // negative slope: derivative from z
}

TEST(SimdDense, NaNPropagatesThroughFusedReLU) {
  for_each_backend([](auto be) {
    std::vector<float> W(2 * 3, 1.0f), b(3, 0.0f), x{std::nanf(""), 1.0f}, y(3);
    kernel::dense_act_forward<2, 3, 1, ReLU>(be, W.data(), b.data(), x.data(), y.data(), nullptr);
    for (float v : y) EXPECT_TRUE(std::isnan(v));
  });
}
