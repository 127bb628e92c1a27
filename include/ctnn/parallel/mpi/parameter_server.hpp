#pragma once
/**
 * @file mpi/parameter_server.hpp
 * @brief `ctnn::mpi::ParameterServer`: parameters sharded over server ranks in MPI
 * one-sided windows, workers pushing gradients and pulling parameters under a staleness
 * bound (stale-synchronous parallel), from synchronous (`Staleness{0}`) to fully
 * asynchronous (`Staleness::unbounded()`). Link `ctnn::mpi`.
 *
 * Ranks [0, servers) of the communicator are servers; the others are workers. Server s
 * owns the parameters [lo_s, hi_s) (contiguous, each start a multiple of 16 floats) and
 * that slice of the optimizer state, and exposes, through one `MPI_Win_allocate` window:
 * - counters (64-bit, changed only by `MPI_Accumulate`/`MPI_Fetch_and_op` and read by
 *   `MPI_Get_accumulate(MPI_NO_OP)`, so concurrent access is atomic): the number of rounds
 *   applied (the shard's version), and per worker its pushes, the server's consumed
 *   pushes and whether it has finished;
 * - its parameter shard, which workers read with `MPI_Get` under a shared lock while the
 *   server updates it under an exclusive lock on itself;
 * - one gradient slot per worker, written by that worker with `MPI_Put`.
 * All synchronisation is passive-target (`MPI_Win_lock`/`unlock`): no worker ever waits
 * in a collective for another, and the server waits only for pushes.
 *
 * A worker's step c (c pushes done before it): wait until the slowest unfinished worker
 * has pushed at least c − s gradients and every shard has applied at least c − s rounds;
 * pull the parameters; compute the local gradient (a `Trainer`'s `compute_gradients`);
 * refuse a NaN/Inf loss or gradient (nothing is pushed: the servers' parameters stay as
 * they were); push the gradient to each server's slot (once the server has consumed the
 * previous one). A server sums pushes into rounds of one push per active worker and
 * applies the optimizer to the mean: with s = 0 every round holds step c of every worker,
 * added in worker order, so training equals `DistributedTrainer`'s all-reduce path — the
 * same sums, and, with 2 workers, the same weights bit for bit (with more, up to the order
 * in which MPI adds). With s > 0 a round takes pushes as they arrive, so a fast worker
 * may fill part of one.
 */
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "../../detail/finite.hpp"
#include "../../detail/raise.hpp"
#include "../../network/trainer.hpp"
#include "data_parallel.hpp"

CTNN_BEGIN_NAMESPACE
namespace mpi {

/// How many steps a worker may run ahead of the slowest: 0 is synchronous training.
struct Staleness {
  std::size_t steps = 0;
  static constexpr Staleness unbounded() noexcept { return {std::numeric_limits<std::size_t>::max()}; }
  constexpr bool bounded() const noexcept { return steps != std::numeric_limits<std::size_t>::max(); }
};

struct ServerOptions {
  int servers = 1;          ///< ranks [0, servers) of the communicator hold the shards
  Staleness staleness{};    ///< synchronous by default
  int poll_microseconds = 20;  ///< sleep between polls of a window (ranks may share cores)
};

template <class NetT, class L, class O, class Bt, class Be = backend::native>
class ParameterServer;

template <class NetT, class L, class O, std::size_t B, class Be>
class ParameterServer<NetT, L, O, Batch<B>, Be> {
 public:
  using Local = Trainer<NetT, L, O, Batch<B>, Be>;
  static constexpr std::size_t batch = B;

  /**
   * @brief Collective over `comm`: checks that every rank runs the same network, takes
   * rank 0's parameters, and creates the window. Raises `ctnn::Error` on every rank when
   * `servers` is not in [1, ranks − 1].
   */
  ParameterServer(NetT& net, typename O::Options opts = {}, ServerOptions so = {}, MPI_Comm comm = MPI_COMM_WORLD)
      : net_(net), local_(net, opts), opt_(opts), so_(so), comm_(comm) {
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
    if (so_.servers < 1 || so_.servers >= size_)
      ctnn::detail::raise("ctnn::mpi::ParameterServer: " + std::to_string(so_.servers) + " server rank(s) of " +
                          std::to_string(size_) + "; needs at least one server and one worker (run with more ranks)");
    workers_ = size_ - so_.servers;
    const std::uint64_t sig = detail::mix(detail::mix(signature<NetT, B, O::state_blocks>(), 5),
                                          detail::mix(static_cast<std::uint64_t>(so_.servers), so_.staleness.steps));
    detail::handshake(net_.params(), sig, comm_, "ctnn::mpi::ParameterServer");
    const auto [lo, hi] = shard_of(rank_);
    lo_ = lo, hi_ = hi;
    const std::size_t n = is_server() ? hi - lo : 0;
    const std::size_t bytes = is_server() ? params_byte() + (1 + W()) * n * sizeof(float) : 0;
    MPI_Win_allocate(static_cast<MPI_Aint>(bytes), 1, MPI_INFO_NULL, comm_, &base_, &win_);
    if (is_server()) {
      std::fill_n(counters(), counter_count(), std::int64_t{0});
      std::copy_n(net_.params().data() + lo, n, shard());
      state_.assign(O::state_blocks * n, 0.0f);
      sum_.assign(n, 0.0f);
    }
    MPI_Barrier(comm_);  // windows initialised before any access
  }
  ParameterServer(const ParameterServer&) = delete;
  ParameterServer& operator=(const ParameterServer&) = delete;
  ~ParameterServer() {
    if (win_ != MPI_WIN_NULL) MPI_Win_free(&win_);
  }

  bool is_server() const noexcept { return rank_ < so_.servers; }
  int worker_index() const noexcept { return rank_ - so_.servers; }  ///< 0-based; negative on servers
  int workers() const noexcept { return workers_; }
  /// [lo, hi) of the parameters server `s` holds.
  std::pair<std::size_t, std::size_t> shard_of(int s) const noexcept {
    if (s >= so_.servers) return {0, 0};
    constexpr std::size_t P = NetT::param_count, q = 16;
    auto edge = [&](int k) {
      return k >= so_.servers ? P : std::min(P, (P * std::size_t(k) / std::size_t(so_.servers)) / q * q);
    };
    return {edge(s), edge(s + 1)};
  }

  /**
   * @brief One worker step (see the file comment). @return the local batch-mean loss.
   * @throws ctnn::Error for a NaN/Inf loss or gradient; nothing is pushed, so a caller that
   * catches it and goes on with the next batch leaves training as if the batch were skipped.
   */
  template <class X, class Y>
  float step(const X& inputs, const Y& targets) {
    if (is_server()) ctnn::detail::raise("ctnn::mpi::ParameterServer::step: rank " + std::to_string(rank_) + " is a server; call serve()");
    wait_for_bound();
    pull();
    const float loss = local_.compute_gradients(inputs, targets);
    auto g = local_.gradient_block();
    if (!ctnn::detail::is_finite(loss))
      ctnn::detail::raise(ctnn::detail::non_finite_loss("ctnn::mpi::ParameterServer::step", loss, pushes_));
    if (const std::size_t k = ctnn::detail::first_non_finite(g.data(), g.size()); k != g.size())
      ctnn::detail::raise(ctnn::detail::non_finite_gradient("ctnn::mpi::ParameterServer::step", pushes_,
                                                            ctnn::detail::at_parameter(k)));
    push(g);
    ++pushes_;
    return loss;
  }

  /// Worker: announces that this worker pushes no more, then, with every rank, gathers the
  /// final parameters into the network (collective).
  void finish() {
    if (!is_server())
      for (int s = 0; s < so_.servers; ++s) add(s, done_at(worker_index()), 1);
    collect();
  }

  /// Server: applies pushes until every worker has finished, then gathers the final
  /// parameters into the network on every rank (collective, with the workers' `finish`).
  void serve() {
    if (!is_server()) ctnn::detail::raise("ctnn::mpi::ParameterServer::serve: rank " + std::to_string(rank_) + " is a worker");
    const std::size_t n = hi_ - lo_;
    std::vector<std::int64_t> c(counter_count());
    std::size_t count = 0;  // pushes in the current round
    for (;;) {
      read(rank_, 0, c.data(), counter_count());
      const int active = active_workers(c);
      bool progressed = false;
      if (so_.staleness.steps > 0) {  // bounded or not
        for (int w = 0; w < W(); ++w)
          if (pending(c, w)) {  // arrival order
            consume(w, n, count == 0);
            ++count, progressed = true;
            if (count >= static_cast<std::size_t>(std::max(active, 1))) apply(count), count = 0;
          }
      } else {  // synchronous: one push of every active worker, added in worker order
        bool any = false, missing = false;
        for (int w = 0; w < W(); ++w) {
          any = any || pending(c, w);
          missing = missing || (!pending(c, w) && !c[done_at(w)]);
        }
        if (any && !missing) {
          for (int w = 0; w < W(); ++w)
            if (pending(c, w)) consume(w, n, count == 0), ++count;
          apply(count), count = 0, progressed = true;
        }
      }
      if (progressed) continue;
      bool left = false;
      for (int w = 0; w < W(); ++w) left = left || pending(c, w);
      if (active == 0 && !left) break;
      nap();
    }
    if (count > 0) apply(count);  // a partial last round
    collect();
  }

  /// Server: `f(optimizer, round)` runs before each round is applied (round counts from 0),
  /// e.g. to set the learning rate from a schedule.
  void on_round(std::function<void(O&, std::size_t)> f) { on_round_ = std::move(f); }

  Local& local() noexcept { return local_; }
  std::size_t pushes() const noexcept { return pushes_; }
  /// Time this worker spent waiting for the staleness bound.
  double waited_seconds() const noexcept { return waited_; }
  /// The fewest pushes of any unfinished worker that the last bounded wait saw on server 0
  /// (−1 before any): a worker starting push c saw at least c − s.
  std::int64_t slowest_seen() const noexcept { return slowest_seen_; }
  /// The fewest pushes of any unfinished worker, as server 0 counts them now.
  std::int64_t slowest_pushes() {
    std::vector<std::int64_t> c(counter_count());
    read(0, 0, c.data(), c.size());
    return slowest_of(c);
  }

 private:
  int W() const noexcept { return workers_; }
  std::size_t counter_count() const noexcept { return 1 + 3 * static_cast<std::size_t>(W()); }
  static constexpr std::size_t version_at = 0;
  std::size_t pushed_at(int w) const noexcept { return 1 + static_cast<std::size_t>(w); }
  std::size_t consumed_at(int w) const noexcept { return 1 + static_cast<std::size_t>(W() + w); }
  std::size_t done_at(int w) const noexcept { return 1 + static_cast<std::size_t>(2 * W() + w); }
  std::size_t params_byte() const noexcept { return (counter_count() * sizeof(std::int64_t) + 63) / 64 * 64; }
  /// Where worker w's slot starts in server s's window.
  std::size_t slot_byte(int w, int s) const noexcept {
    const auto [lo, hi] = shard_of(s);
    return params_byte() + (1 + static_cast<std::size_t>(w)) * (hi - lo) * sizeof(float);
  }
  std::int64_t* counters() noexcept { return static_cast<std::int64_t*>(base_); }
  float* shard() noexcept { return reinterpret_cast<float*>(static_cast<char*>(base_) + params_byte()); }
  float* slot(int w) noexcept { return reinterpret_cast<float*>(static_cast<char*>(base_) + slot_byte(w, rank_)); }

  void nap() const { std::this_thread::sleep_for(std::chrono::microseconds(so_.poll_microseconds)); }

  /// Atomically reads counters [first, first + k) of rank `target`.
  void read(int target, std::size_t first, std::int64_t* out, std::size_t k) {
    MPI_Win_lock(MPI_LOCK_SHARED, target, 0, win_);
    MPI_Get_accumulate(nullptr, 0, MPI_INT64_T, out, static_cast<int>(k), MPI_INT64_T, target,
                       static_cast<MPI_Aint>(first * sizeof(std::int64_t)), static_cast<int>(k), MPI_INT64_T, MPI_NO_OP, win_);
    MPI_Win_unlock(target, win_);
  }
  void add(int target, std::size_t at, std::int64_t v) {
    MPI_Win_lock(MPI_LOCK_SHARED, target, 0, win_);
    MPI_Accumulate(&v, 1, MPI_INT64_T, target, static_cast<MPI_Aint>(at * sizeof(std::int64_t)), 1, MPI_INT64_T, MPI_SUM, win_);
    MPI_Win_unlock(target, win_);
  }
  std::int64_t slowest_of(const std::vector<std::int64_t>& c) const noexcept {
    std::int64_t slowest = std::numeric_limits<std::int64_t>::max();
    for (int w = 0; w < W(); ++w)
      if (c[done_at(w)] == 0) slowest = std::min(slowest, c[pushed_at(w)]);
    return slowest;
  }
  /// Whether worker w has a push the server has not consumed yet.
  bool pending(const std::vector<std::int64_t>& c, int w) const noexcept { return c[pushed_at(w)] > c[consumed_at(w)]; }
  int active_workers(const std::vector<std::int64_t>& c) const noexcept {
    int a = 0;
    for (int w = 0; w < W(); ++w) a += c[done_at(w)] == 0;
    return a;
  }

  /// Worker: waits until the slowest unfinished worker has pushed ≥ c − s gradients and
  /// every server has applied ≥ c − s rounds (c = this worker's pushes so far).
  void wait_for_bound() {
    if (!so_.staleness.bounded() || pushes_ < so_.staleness.steps) return;
    const auto need = static_cast<std::int64_t>(pushes_ - so_.staleness.steps);
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<std::int64_t> c(counter_count());
    for (int s = 0; s < so_.servers; ++s)
      for (;;) {
        read(s, 0, c.data(), counter_count());
        const std::int64_t slowest = slowest_of(c);
        if (c[version_at] >= need && slowest >= need) {
          if (s == 0) slowest_seen_ = slowest;
          break;
        }
        nap();
      }
    waited_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  /// Worker: the current parameters of every shard into the network.
  void pull() {
    auto p = net_.params();
    for (int s = 0; s < so_.servers; ++s) {
      const auto [lo, hi] = shard_of(s);
      MPI_Win_lock(MPI_LOCK_SHARED, s, 0, win_);
      MPI_Get(p.data() + lo, static_cast<int>(hi - lo), MPI_FLOAT, s, static_cast<MPI_Aint>(params_byte()),
              static_cast<int>(hi - lo), MPI_FLOAT, win_);
      MPI_Win_unlock(s, win_);
    }
  }
  /// Worker: the gradient into this worker's slot on every server (once the server has
  /// consumed the previous push), then the push counted.
  void push(std::span<const float> g) {
    const int w = worker_index();
    std::int64_t consumed = 0;
    for (int s = 0; s < so_.servers; ++s) {
      while (read(s, consumed_at(w), &consumed, 1), consumed < static_cast<std::int64_t>(pushes_)) nap();
      const auto [lo, hi] = shard_of(s);
      MPI_Win_lock(MPI_LOCK_SHARED, s, 0, win_);
      MPI_Put(g.data() + lo, static_cast<int>(hi - lo), MPI_FLOAT, s, static_cast<MPI_Aint>(slot_byte(w, s)),
              static_cast<int>(hi - lo), MPI_FLOAT, win_);
      MPI_Win_unlock(s, win_);  // the gradient is at the server before it is counted
      add(s, pushed_at(w), 1);
    }
  }
  /// Server: worker w's pending push into the round's sum (stored when it starts the round).
  void consume(int w, std::size_t n, bool first) {
    MPI_Win_lock(MPI_LOCK_SHARED, rank_, 0, win_);
    MPI_Win_sync(win_);
    const float* g = slot(w);
    if (first)
      std::copy_n(g, n, sum_.data());
    else
      for (std::size_t k = 0; k < n; ++k) sum_[k] += g[k];
    MPI_Win_unlock(rank_, win_);
    add(rank_, consumed_at(w), 1);
  }
  /// Server: the optimizer on the shard with the mean of the round's `count` pushes.
  void apply(std::size_t count) {
    const std::size_t n = hi_ - lo_;
    if (on_round_) on_round_(opt_, rounds_);
    ++rounds_;
    const float inv = 1.0f / static_cast<float>(count);
    for (std::size_t k = 0; k < n; ++k) sum_[k] *= inv;
    MPI_Win_lock(MPI_LOCK_EXCLUSIVE, rank_, 0, win_);
    opt_.update(std::span<float>(shard(), n), std::span<const float>(sum_.data(), n), std::span<float>(state_));
    MPI_Win_sync(win_);
    MPI_Win_unlock(rank_, win_);
    add(rank_, version_at, 1);
  }
  /// Every rank: the servers' shards into every rank's network.
  void collect() {
    std::vector<int> counts(static_cast<std::size_t>(size_), 0), displs(static_cast<std::size_t>(size_), 0);
    for (int s = 0; s < so_.servers; ++s) {
      const auto [lo, hi] = shard_of(s);
      counts[static_cast<std::size_t>(s)] = static_cast<int>(hi - lo), displs[static_cast<std::size_t>(s)] = static_cast<int>(lo);
    }
    std::vector<float> mine;
    if (is_server()) {
      MPI_Win_lock(MPI_LOCK_SHARED, rank_, 0, win_);
      MPI_Win_sync(win_);
      mine.assign(shard(), shard() + (hi_ - lo_));
      MPI_Win_unlock(rank_, win_);
    }
    MPI_Allgatherv(mine.data(), static_cast<int>(mine.size()), MPI_FLOAT, net_.params().data(), counts.data(), displs.data(),
                   MPI_FLOAT, comm_);
  }

  NetT& net_;
  Local local_;
  O opt_;
  ServerOptions so_;
  MPI_Comm comm_;
  int rank_ = 0, size_ = 1, workers_ = 0;
  std::size_t lo_ = 0, hi_ = 0;
  void* base_ = nullptr;
  MPI_Win win_ = MPI_WIN_NULL;
  std::vector<float> state_, sum_;
  std::size_t pushes_ = 0;
  double waited_ = 0;
  std::function<void(O&, std::size_t)> on_round_;
  std::size_t rounds_ = 0;
  std::int64_t slowest_seen_ = -1;
};

}  // namespace mpi
CTNN_END_NAMESPACE
