#pragma once
/**
 * @file comm_model.hpp
 * @brief The α-β-γ cost of an all-reduce by algorithm (Hockney's model with the formulas of
 * Thakur, Rabenseifner and Gropp, "Optimization of Collective Communication Operations in
 * MPICH", 2005), the choice of algorithm and bucket size it implies, and a data-parallel
 * step-time estimate for any rank count. No MPI here: `mpi/collectives.hpp` measures α, β
 * and γ and runs the algorithms; this header also serves tools that extrapolate.
 *
 * For p ranks and n bytes, with α the latency of one message, β the time per byte on a
 * link, γ the time per byte of the reduction, and L = ⌈log₂ p⌉:
 * - linear (reduce to one rank, then broadcast, rank by rank): 2(p−1)(α + nβ) + (p−1)nγ
 * - tree (binomial reduce, then binomial broadcast):           2L(α + nβ) + L·nγ
 * - recursive doubling:                                          L(α + nβ + nγ)
 * - ring (reduce-scatter, then all-gather, around a ring):     2(p−1)α + 2((p−1)/p)nβ + ((p−1)/p)nγ
 * - Rabenseifner (recursive halving, then doubling):           2Lα + 2((p−1)/p)nβ + ((p−1)/p)nγ
 * Recursive doubling and Rabenseifner on a p that is not a power of two first fold the
 * extra ranks in and finally send them the result: + 2(α + nβ) + nγ.
 */
#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>

#include "../config.hpp"

CTNN_BEGIN_NAMESPACE

/// The all-reduce algorithms Open MPI's `coll tuned` component implements, by the number it
/// gives them (`coll_tuned_allreduce_algorithm`); `automatic` lets a cost model choose.
enum class Allreduce : int { automatic = 0, linear = 1, tree = 2, recursive_doubling = 3, ring = 4, rabenseifner = 6 };

inline constexpr std::array<Allreduce, 5> allreduce_algorithms{Allreduce::linear, Allreduce::tree, Allreduce::recursive_doubling,
                                                               Allreduce::ring, Allreduce::rabenseifner};

constexpr const char* name(Allreduce a) noexcept {
  switch (a) {
    case Allreduce::automatic: return "automatic";
    case Allreduce::linear: return "linear";
    case Allreduce::tree: return "tree";
    case Allreduce::recursive_doubling: return "recursive_doubling";
    case Allreduce::ring: return "ring";
    case Allreduce::rabenseifner: return "rabenseifner";
  }
  return "?";
}

/// α (s per message), β (s per byte on a link), γ (s per byte reduced).
struct LinkModel {
  double alpha = 0, beta = 0, gamma = 0;

  /// Predicted seconds of an all-reduce of `bytes` over `p` ranks with algorithm `a`
  /// (`automatic`: the best of the others).
  constexpr double predict(Allreduce a, double bytes, int p) const noexcept {
    if (p <= 1) return 0;
    const double n = bytes, P = p;
    int L = 0;
    while ((1 << L) < p) ++L;
    const bool power_of_two = (1 << L) == p;
    const double fold = power_of_two ? 0 : 2 * (alpha + n * beta) + n * gamma;
    const double frac = (P - 1) / P;
    switch (a) {
      case Allreduce::linear: return 2 * (P - 1) * (alpha + n * beta) + (P - 1) * n * gamma;
      case Allreduce::tree: return 2 * L * (alpha + n * beta) + L * n * gamma;
      case Allreduce::recursive_doubling: return (power_of_two ? L : L - 1) * (alpha + n * beta + n * gamma) + fold;
      case Allreduce::ring: return 2 * (P - 1) * alpha + 2 * frac * n * beta + frac * n * gamma;
      case Allreduce::rabenseifner:
        return 2 * (power_of_two ? L : L - 1) * alpha + 2 * frac * n * beta + frac * n * gamma + fold;
      case Allreduce::automatic: return predict(best(bytes, p), bytes, p);
    }
    return 0;
  }

  /// The algorithm with the least predicted time (ties: the earlier in `allreduce_algorithms`).
  constexpr Allreduce best(double bytes, int p) const noexcept {
    Allreduce pick = Allreduce::ring;
    double t = std::numeric_limits<double>::infinity();
    for (Allreduce a : allreduce_algorithms)
      if (const double u = predict(a, bytes, p); u < t) t = u, pick = a;
    return pick;
  }

  /// A bucket size for overlapped all-reduces: the smallest whose latency terms stay within
  /// a tenth of its bandwidth terms under the best algorithm, at least 64 KiB and at most
  /// `total` bytes.
  constexpr std::size_t bucket_bytes(std::size_t total, int p) const noexcept {
    std::size_t b = 64 * 1024;
    while (b < total) {
      const Allreduce a = best(double(b), p);
      const double latency = predict(a, double(b), p) - LinkModel{0, beta, gamma}.predict(a, double(b), p);
      if (latency <= 0.1 * (predict(a, double(b), p) - latency)) break;
      b *= 2;
    }
    return b < total ? b : total;
  }
};

/// Nominal links: 1 Gbit/s Ethernet with 200 µs one-way latency and 10 Gbit/s with 20 µs;
/// γ from a reduction at 10 GB/s.
inline constexpr LinkModel link_1g_200us{200e-6, 1.0 / 125e6, 1.0 / 10e9};
inline constexpr LinkModel link_10g_20us{20e-6, 1.0 / 1.25e9, 1.0 / 10e9};

/// A data-parallel step on p ranks, each with the same local batch (weak scaling): compute,
/// then one all-reduce of the gradient (no overlap).
struct StepEstimate {
  double compute = 0, communicate = 0;
  Allreduce algorithm = Allreduce::ring;
  constexpr double seconds() const noexcept { return compute + communicate; }
  /// Samples per second over p ranks, divided by p times one rank's without communication.
  constexpr double efficiency() const noexcept { return compute / seconds(); }
};
constexpr StepEstimate data_parallel_step(const LinkModel& m, double compute_seconds, double gradient_bytes, int p) noexcept {
  const Allreduce a = m.best(gradient_bytes, p);
  return {compute_seconds, m.predict(a, gradient_bytes, p), a};
}

CTNN_END_NAMESPACE
