#pragma once
/**
 * @file devices.hpp
 * @brief Devices a network can be split across, as types with compile-time capacities.
 *
 * Units are integers so every cost is exact and the partitioner's comparisons never
 * depend on floating-point rounding: throughput in MFLOP/s, memory in MiB, link
 * bandwidth (to the next device in the list) in MB/s (10⁶ bytes per second).
 */
#include <array>
#include <cstddef>
#include <cstdint>

#include "../config.hpp"

CTNN_BEGIN_NAMESPACE

/// What the partitioner knows about one device.
struct DeviceSpec {
  std::uint64_t mflops = 1;          ///< sustained throughput, MFLOP/s
  std::uint64_t memory_mib = 1;      ///< memory it may use, MiB
  std::uint64_t link_mbps = 1;       ///< bandwidth to the next device, MB/s
  std::size_t index = 0;             ///< core or GPU ordinal
  bool cuda = false;                 ///< a CUDA device (executed by the CUDA backend)
  constexpr std::uint64_t memory_bytes() const noexcept { return memory_mib << 20; }
};

/**
 * @brief One CPU core (a pipeline stage runs on a thread pinned to it). Defaults: the
 * measured ~100 GFLOP/s of one AVX-512 core on these kernels, 4 GiB, and 10 GB/s
 * between cores (shared cache/memory).
 */
template <std::size_t I, std::uint64_t MFlops = 100'000, std::uint64_t MemoryMiB = 4096,
          std::uint64_t LinkMBps = 10'000>
struct CpuCore {
  static_assert(MFlops > 0 && MemoryMiB > 0 && LinkMBps > 0, "ctnn::CpuCore: capacities must be positive");
  static constexpr DeviceSpec spec{MFlops, MemoryMiB, LinkMBps, I, false};
};

/**
 * @brief One CUDA device (declared for planning; stages on it are executed by the CUDA
 * backend). Defaults: 20 TFLOP/s FP32, 80 GiB, 25 GB/s over PCIe to the next device.
 */
template <std::size_t I, std::uint64_t MFlops = 20'000'000, std::uint64_t MemoryMiB = 81920,
          std::uint64_t LinkMBps = 25'000>
struct CudaDevice {
  static_assert(MFlops > 0 && MemoryMiB > 0 && LinkMBps > 0, "ctnn::CudaDevice: capacities must be positive");
  static constexpr DeviceSpec spec{MFlops, MemoryMiB, LinkMBps, I, true};
};

/// A device type: anything with a `DeviceSpec spec` (a user may declare their own).
template <class D>
concept Device = requires {
  { D::spec } -> std::convertible_to<DeviceSpec>;
};

/// The ordered devices of a pipeline: stage i runs on the i-th.
template <Device... D>
struct Devices {
  static_assert(sizeof...(D) >= 1, "ctnn::Devices<>: name at least one device, e.g. Devices<CpuCore<0>>");
  static constexpr std::size_t count = sizeof...(D);
  static constexpr std::array<DeviceSpec, count> specs{D::spec...};
};

CTNN_END_NAMESPACE
