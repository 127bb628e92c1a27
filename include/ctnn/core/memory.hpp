#pragma once
/**
 * @file memory.hpp
 * @brief Alignment constants and an owning aligned heap buffer for training state.
 */
#include <algorithm>
#include <array>
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

/// Where a trainer keeps its buffers (gradients, optimizer state, activations, scratch).
namespace storage {
/// On the heap, allocated once when the trainer is built (the default).
struct Heap {};
/// Inside the trainer object, sized at compile time: building the trainer and every step
/// allocate nothing. The object is then as large as its buffers (`sizeof` says how large):
/// give it static storage, or a stack that holds it.
struct InPlace {};
}  // namespace storage

/// N floats, 64-byte aligned, zeroed, held as `Storage` says.
template <class Storage, std::size_t N>
class Buffer;

template <std::size_t N>
class Buffer<storage::Heap, N> {
 public:
  Buffer() : b_(N) {}
  float* data() noexcept { return b_.data(); }
  const float* data() const noexcept { return b_.data(); }
  static constexpr std::size_t size() noexcept { return N; }
  std::span<float> span() noexcept { return b_.span(); }
  std::span<const float> span() const noexcept { return b_.span(); }

 private:
  AlignedBuffer b_;
};

template <std::size_t N>
class Buffer<storage::InPlace, N> {
 public:
  float* data() noexcept { return a_.data(); }
  const float* data() const noexcept { return a_.data(); }
  static constexpr std::size_t size() noexcept { return N; }
  std::span<float> span() noexcept { return {a_.data(), N}; }
  std::span<const float> span() const noexcept { return {a_.data(), N}; }

 private:
  alignas(alignment) std::array<float, (N > 0 ? N : 1)> a_{};
};

CTNN_END_NAMESPACE
