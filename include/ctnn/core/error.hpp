#pragma once
/**
 * @file error.hpp
 * @brief `ctnn::Error`, thrown for bad input at run time (files, data, NaN in training).
 */
#include <stdexcept>
#include <string>

#include "../config.hpp"

CTNN_BEGIN_NAMESPACE

/**
 * @brief The one exception type ctnn throws. Its message names the file, offset or
 * step, and what was expected against what was found. Inference never throws.
 */
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

CTNN_END_NAMESPACE
