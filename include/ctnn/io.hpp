#pragma once
/**
 * @file io.hpp
 * @brief Everything in ctnn::io (link `ctnn::io`: zlib and nlohmann-json): weight files
 * (safetensors, PyTorch names), checkpoints, weights compiled into headers, IDX /
 * Fashion-MNIST readers.
 */
#include "io/checkpoint.hpp"
#include "io/fashion_mnist.hpp"
#include "io/header.hpp"
#include "io/idx.hpp"
#include "io/weights.hpp"
