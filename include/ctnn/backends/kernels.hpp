#pragma once
/**
 * @file kernels.hpp
 * @brief Every backend's kernels, declared before the layers that call them so that
 * overload resolution on the backend tag sees them all (a tag without its own
 * overload falls back to its base's).
 */
#include "scalar/conv.hpp"
#include "scalar/dense.hpp"
#include "simd/conv.hpp"
#include "simd/dense.hpp"
