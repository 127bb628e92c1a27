#pragma once
/**
 * @file memory.hpp
 * @brief Alignment constants and an owning aligned heap buffer for training state.
 */
#include <algorithm>
#include <cstddef>
#include <memory>
#include <new>
#include <span>

#include "../config.hpp"

CTNN_BEGIN_NAMESPACE

/// Alignment of every parameter block and workspace: one cache line, one AVX-512 register.
inline constexpr std::size_t alignment = 64;

namespace detail {
struct aligned_free {
  void operator()(float* p) const noexcept { ::operator delete[](p, std::align_val_t{alignment}); }
};
}  // namespace detail

/**
 * @brief A zero-initialised, 64-byte aligned float array on the heap. Used by training
 * code only (gradients, optimizer state, activations); inference never allocates.
 */
class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(std::size_t n)
      : data_(n ? static_cast<float*>(::operator new[](n * sizeof(float), std::align_val_t{alignment})) : nullptr),
        size_(n) {
    std::fill_n(data_.get(), n, 0.0f);
  }
  float* data() noexcept { return data_.get(); }
  const float* data() const noexcept { return data_.get(); }
  std::size_t size() const noexcept { return size_; }
  std::span<float> span() noexcept { return {data_.get(), size_}; }
  std::span<const float> span() const noexcept { return {data_.get(), size_}; }

 private:
  std::unique_ptr<float, detail::aligned_free> data_;
  std::size_t size_ = 0;
};

CTNN_END_NAMESPACE
