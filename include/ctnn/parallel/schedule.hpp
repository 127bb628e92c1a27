#pragma once
/**
 * @file schedule.hpp
 * @brief Pipeline schedules (GPipe fill–drain and 1F1B) as per-stage operation lists, and
 * a discrete-event simulator that measures their bubble.
 *
 * Stage s of p runs its list in order; F(s, k) needs F(s−1, k), B(s, k) needs F(s, k)
 * and B(s+1, k). GPipe: all forwards, then all backwards. 1F1B: min(p−1−s, m) forwards
 * to fill the pipe, then one forward and one backward alternately, then the remaining
 * backwards — the same bubble, (p−1)/(m+p−1) with equal stages, but a stage holds at most
 * p−s micro-batches' activations instead of m.
 */
#include <array>
#include <cstddef>
#include <cstdint>

#include "../config.hpp"

CTNN_BEGIN_NAMESPACE

/// How micro-batches flow through a training pipeline.
enum class Schedule {
  gpipe,        ///< fill–drain: every forward, then every backward
  one_f_one_b,  ///< one forward, one backward in the steady state
};

/// One step of a stage: the forward or backward of micro-batch `micro`.
struct PipelineOp {
  bool forward = true;
  std::size_t micro = 0;
  friend constexpr bool operator==(const PipelineOp&, const PipelineOp&) = default;
};

/// The 2·M operations stage `s` of `p` runs for one training batch of M micro-batches.
template <std::size_t M>
constexpr std::array<PipelineOp, 2 * M> schedule_ops(Schedule sc, std::size_t p, std::size_t s) noexcept {
  std::array<PipelineOp, 2 * M> ops{};
  std::size_t n = 0;
  if (sc == Schedule::gpipe) {
    for (std::size_t k = 0; k < M; ++k) ops[n++] = {true, k};
    for (std::size_t k = 0; k < M; ++k) ops[n++] = {false, k};
    return ops;
  }
  const std::size_t warm = p - 1 - s < M ? p - 1 - s : M;
  for (std::size_t k = 0; k < warm; ++k) ops[n++] = {true, k};
  for (std::size_t k = 0; k < M; ++k) {
    if (warm + k < M) ops[n++] = {true, warm + k};
    ops[n++] = {false, k};
  }
  return ops;
}

/// Result of simulating one batch.
struct ScheduleTimes {
  std::uint64_t makespan = 0;  ///< time from the first forward to the last backward
  std::uint64_t busy = 0;      ///< Σ over stages of the time spent computing
  std::size_t max_in_flight = 0;  ///< most micro-batches any stage held between F and B
  /// Idle fraction of p·makespan, as an exact fraction `idle / total`.
  std::uint64_t idle() const noexcept { return total() - busy; }
  std::uint64_t total() const noexcept { return makespan * stages; }
  std::size_t stages = 0;
};

/**
 * @brief Simulates schedule `sc` on P stages whose forward takes `tf` and backward `tb`
 * (per micro-batch, every stage alike), with free communication.
 */
template <std::size_t P, std::size_t M>
constexpr ScheduleTimes simulate_schedule(Schedule sc, std::uint64_t tf, std::uint64_t tb) noexcept {
  std::array<std::array<PipelineOp, 2 * M>, P> ops{};
  for (std::size_t s = 0; s < P; ++s) ops[s] = schedule_ops<M>(sc, P, s);
  constexpr std::uint64_t never = ~std::uint64_t{0};
  std::uint64_t f_done[P][M], b_done[P][M];
  for (std::size_t s = 0; s < P; ++s)
    for (std::size_t k = 0; k < M; ++k) f_done[s][k] = b_done[s][k] = never;
  std::size_t next[P] = {};
  std::uint64_t free_at[P] = {};
  std::size_t held[P] = {};
  ScheduleTimes r;
  r.stages = P;
  // Repeatedly start every op whose dependencies are done, earliest first; P·2M ops in all.
  for (std::size_t done = 0; done < P * 2 * M;) {
    std::size_t pick = P;
    std::uint64_t pick_start = never;
    for (std::size_t s = 0; s < P; ++s) {
      if (next[s] == 2 * M) continue;
      const PipelineOp op = ops[s][next[s]];
      std::uint64_t ready = free_at[s];
      if (op.forward) {
        if (s > 0) ready = f_done[s - 1][op.micro] == never ? never : (ready > f_done[s - 1][op.micro] ? ready : f_done[s - 1][op.micro]);
      } else {
        const std::uint64_t own = f_done[s][op.micro];
        const std::uint64_t after = s + 1 < P ? b_done[s + 1][op.micro] : own;
        const std::uint64_t dep = own == never || after == never ? never : (own > after ? own : after);
        ready = dep == never ? never : (ready > dep ? ready : dep);
      }
      if (ready < pick_start) pick_start = ready, pick = s;
    }
    if (pick == P) break;  // a deadlock: cannot happen for these schedules (the tests check)
    const PipelineOp op = ops[pick][next[pick]++];
    const std::uint64_t end = pick_start + (op.forward ? tf : tb);
    (op.forward ? f_done : b_done)[pick][op.micro] = end;
    if (op.forward) {
      ++held[pick];
      if (held[pick] > r.max_in_flight) r.max_in_flight = held[pick];
    } else {
      --held[pick];
    }
    free_at[pick] = end;
    r.busy += op.forward ? tf : tb;
    if (end > r.makespan) r.makespan = end;
    ++done;
  }
  return r;
}

CTNN_END_NAMESPACE
