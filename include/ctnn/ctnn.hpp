#pragma once
/**
 * @file ctnn.hpp
 * @brief Everything in ctnn except the dataset readers (io/, which need zlib: link
 * ctnn::io), CUDA and MPI.
 */
#include "config.hpp"
#include "core/batch.hpp"
#include "core/error.hpp"
#include "core/shape.hpp"
#include "activations/expression.hpp"
#include "activations/gelu.hpp"
#include "activations/identity.hpp"
#include "activations/relu.hpp"
#include "activations/sigmoid.hpp"
#include "activations/silu.hpp"
#include "activations/softmax.hpp"
#include "activations/tanh.hpp"
#include "init/initializers.hpp"
#include "layers/conv1d.hpp"
#include "layers/conv2d.hpp"
#include "layers/dense.hpp"
#include "layers/dropout.hpp"
#include "layers/flatten.hpp"
#include "layers/gru.hpp"
#include "layers/input.hpp"
#include "layers/layer_norm.hpp"
#include "layers/lstm.hpp"
#include "layers/pool2d.hpp"
#include "losses/cross_entropy.hpp"
#include "losses/mse.hpp"
#include "network/evaluate.hpp"
#include "network/names.hpp"
#include "network/net.hpp"
#include "network/predictor.hpp"
#include "network/reduced_predictor.hpp"
#include "network/residual.hpp"
#include "network/stream.hpp"
#include "network/summary.hpp"
#include "network/trainer.hpp"
#if CTNN_HAS_THREADS
#include "data/loader.hpp"  // a prefetching thread: needs std::thread
#endif
#include "optimizers/adam.hpp"
#include "optimizers/lion.hpp"
#include "optimizers/lr_schedule.hpp"
#include "optimizers/sgd.hpp"
