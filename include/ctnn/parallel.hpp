#pragma once
/**
 * @file parallel.hpp
 * @brief Parallel training and inference on one machine: the cost model, the compile-time
 * partitioner, the pipeline executors and data parallelism over threads. (Over processes:
 * `<ctnn/parallel/mpi/data_parallel.hpp>`, link `ctnn::mpi`; CUDA: `<ctnn/cuda.cuh>`.)
 */
#include "ctnn.hpp"

#if !CTNN_SIMD || !CTNN_HAS_THREADS
#error "ctnn/parallel.hpp needs threads and the SIMD backends (CTNN_SIMD=1): the parallel executors are not built for a target without them"
#endif

#include "parallel/cost_model.hpp"
#include "parallel/data_parallel.hpp"
#include "parallel/devices.hpp"
#include "parallel/partition.hpp"
#include "parallel/pipeline.hpp"
#include "parallel/schedule.hpp"
