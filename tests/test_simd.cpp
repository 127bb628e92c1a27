// The SIMD dense kernels against the scalar oracle and a double reference (the bound is in
// simd_dense_check.hpp): small and odd shapes on every batch class. test_simd_large.cpp has
// the large shapes and test_simd_fused.cpp the fused activations; one binary, three units.
#include "simd_dense_check.hpp"

using namespace ctnn;
using simd_dense_check::shape_all_batches;

// Sizes 1, 3, 7, 16, 17, 31, 64, 100, 256, 784 on both axes, batches 1, 3, 64, 257.
TEST(SimdDense, Shapes_1x3) { shape_all_batches<1, 3>(); }
TEST(SimdDense, Shapes_3x1) { shape_all_batches<3, 1>(); }
// One output: a dot product per row (gemm.hpp, dot_rows) over full registers and a tail.
TEST(SimdDense, Shapes_17x1) { shape_all_batches<17, 1>(); }
TEST(SimdDense, Shapes_100x1) { shape_all_batches<100, 1>(); }
TEST(SimdDense, Shapes_7x16) { shape_all_batches<7, 16>(); }
TEST(SimdDense, Shapes_16x17) { shape_all_batches<16, 17>(); }
TEST(SimdDense, Shapes_17x31) { shape_all_batches<17, 31>(); }
TEST(SimdDense, Shapes_31x64) { shape_all_batches<31, 64>(); }
