#pragma once
/**
 * @file cuda.cuh
 * @brief The CUDA backend (target `ctnn::cuda`, option `CTNN_WITH_CUDA`): fully fused MLP
 * forward and backward kernels specialised on the network's compile-time widths, with a
 * host API mirroring the CPU one. Include from .cu files compiled by nvcc.
 */
#include "backends/cuda/fused_mlp.cuh"
#include "backends/cuda/mlp.cuh"
#include "backends/cuda/mlp_spec.hpp"
