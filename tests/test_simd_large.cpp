// The SIMD dense kernels on large shapes (part of test_simd; see test_simd.cpp).
#include "simd_dense_check.hpp"

using namespace ctnn;
using simd_dense_check::shape_all_batches;

TEST(SimdDense, Shapes_64x100) { shape_all_batches<64, 100>(); }
TEST(SimdDense, Shapes_100x7) { shape_all_batches<100, 7>(); }
TEST(SimdDense, Shapes_256x784) { shape_all_batches<256, 784>(); }
TEST(SimdDense, Shapes_784x256) { shape_all_batches<784, 256>(); }
TEST(SimdDense, Shapes_128x10) { shape_all_batches<128, 10>(); }
