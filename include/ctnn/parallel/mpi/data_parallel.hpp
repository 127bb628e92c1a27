#pragma once
/**
 * @file mpi/data_parallel.hpp
 * @brief Data-parallel training across processes with MPI (link `ctnn::mpi`).
 *
 * Every rank holds the whole network and trains on its own shard of the data. At start,
 * the ranks compare a compile-time signature of the network and trainer (a mismatch is an
 * error on every rank) and take rank 0's initial parameters (`MPI_Bcast`). Each step,
 * every rank computes the gradient of its local batch; one `MPI_Allreduce` sums the flat
 * gradient block with the local loss appended; every rank divides by the number of ranks
 * and applies the same optimizer step, so all ranks keep bitwise-identical weights and
 * all see the same NaN decision (a NaN anywhere reaches every rank through the sum, and
 * all raise together: no rank is left waiting). `Bucketed<KiB>` sums the same block in
 * buckets with `MPI_Iallreduce`, each started as soon as backward has finished its layers.
 * `Environment` initialises MPI and, if an exception escapes on one rank, aborts all of
 * them with a non-zero exit.
 */
#include <mpi.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <cstdlib>
#include <functional>
#include <cstdio>
#include <exception>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "../../detail/finite.hpp"
#include "../../detail/raise.hpp"
#include "../../network/local_trainer.hpp"
#include "../../network/trainer.hpp"
#include "powersgd.hpp"

CTNN_BEGIN_NAMESPACE
namespace mpi {

/// MPI for the program's lifetime; aborts every rank if an exception unwinds through it.
class Environment {
 public:
  Environment(int& argc, char**& argv) {
    int ready = 0;
    MPI_Initialized(&ready);
    if (!ready) {
      // Lets mpi::Collectives force Open MPI's all-reduce algorithms per communicator; with
      // none forced, Open MPI decides as it otherwise does. The environment may override it.
      setenv("OMPI_MCA_coll_tuned_use_dynamic_rules", "1", 0);
      MPI_Init(&argc, &argv);
      owner_ = true;
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    // An exception nobody catches ends in std::terminate without unwinding: abort every
    // rank from there too, so the others do not wait forever in a collective.
    std::set_terminate([] {
      int r = -1;
      MPI_Comm_rank(MPI_COMM_WORLD, &r);
      const char* what = "unknown error";
      try {
        if (auto e = std::current_exception()) std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        what = ex.what();
      } catch (...) {
      }
      std::fprintf(stderr, "ctnn::mpi: rank %d terminated (%s); aborting every rank\n", r, what);
      std::fflush(stderr);
      MPI_Abort(MPI_COMM_WORLD, 1);
      std::abort();
    });
  }
  Environment(const Environment&) = delete;
  Environment& operator=(const Environment&) = delete;
  ~Environment() {
    if (std::uncaught_exceptions() > 0) {
      std::fprintf(stderr, "ctnn::mpi: rank %d is failing with an exception; aborting every rank\n", rank_);
      std::fflush(stderr);
      MPI_Abort(MPI_COMM_WORLD, 1);
    }
    if (owner_) MPI_Finalize();
  }
  int rank() const noexcept { return rank_; }
  int size() const noexcept { return size_; }
  /// Reports `what` from this rank and aborts every rank with exit code `code`.
  [[noreturn]] static void abort(const std::string& what, int code = 1) {
    int r = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &r);
    std::fprintf(stderr, "ctnn::mpi: rank %d: %s; aborting every rank\n", r, what.c_str());
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, code);
    std::abort();
  }

 private:
  int rank_ = 0, size_ = 1;
  bool owner_ = false;
};

/// [begin, end) of the samples rank `rank` of `size` trains on: contiguous, disjoint, covering.
constexpr std::pair<std::size_t, std::size_t> shard(std::size_t count, int rank, int size) noexcept {
  const std::size_t r = static_cast<std::size_t>(rank), n = static_cast<std::size_t>(size);
  return {count * r / n, count * (r + 1) / n};
}

namespace detail {
constexpr std::uint64_t mix(std::uint64_t h, std::uint64_t v) noexcept {
  h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  return h * 0xff51afd7ed558ccdULL;
}
}  // namespace detail

/// A compile-time fingerprint of a network and its trainer: sizes and parameter layout of
/// every layer, batch, loss targets and optimizer state. Ranks must agree on it.
template <class NetT, std::size_t B, std::size_t StateBlocks>
constexpr std::uint64_t signature() noexcept {
  std::uint64_t h = detail::mix(0x63746e6eULL, NetT::layer_count);
  h = detail::mix(h, NetT::input_size);
  h = detail::mix(h, NetT::output_size);
  for (std::size_t i = 0; i < NetT::layer_count; ++i) {
    h = detail::mix(h, NetT::param_sizes[i]);
    h = detail::mix(h, NetT::activation_sizes[i]);
  }
  h = detail::mix(h, NetT::flops_forward);
  h = detail::mix(h, B);
  return detail::mix(h, StateBlocks);
}

/// Exact data parallelism: the whole gradient block is summed every step (the default).
struct Exact {};

/**
 * @brief Top-k sparsification with error feedback: each rank sends only the k = Permille‰
 * largest entries of (gradient + residual) as (index, value) pairs through one
 * `MPI_Allgatherv`, and keeps the rest — and the float rounding of what it sent — in a
 * double-precision residual for the next step, so that, exactly in double,
 * input + old residual = transmitted + new residual.
 */
template <std::size_t Permille>
struct TopK {
  static_assert(Permille >= 1 && Permille <= 1000, "ctnn::mpi::TopK<Permille>: between 1 and 1000 per mille");
  static constexpr std::size_t permille = Permille;
  /// Entries kept out of n.
  static constexpr std::size_t kept(std::size_t n) noexcept { return std::max<std::size_t>(1, n * Permille / 1000); }
  /// Compression ratio for a block of N floats: dense bytes / sent bytes (8 bytes a pair).
  template <std::size_t N>
  static constexpr double ratio = double(N * sizeof(float)) / double(kept(N) * 8);

  struct Pair {
    std::uint32_t index;
    float value;
  };
  /**
   * @brief acc = g + residual (double); the k largest |acc| go out as float pairs; the
   * residual becomes acc − sent (acc itself where nothing was sent).
   */
  static void compress(std::span<const float> g, std::span<double> residual, std::vector<Pair>& out,
                       std::vector<float>& work) {
    const std::size_t n = g.size(), k = kept(n);
    work.resize(2 * n);  // magnitudes, then a copy to select from (kept across steps: no allocation)
    float* magnitude = work.data();
    for (std::size_t i = 0; i < n; ++i) {
      residual[i] += static_cast<double>(g[i]);  // residual now holds acc = input + old residual
      magnitude[i] = static_cast<float>(std::abs(residual[i]));
    }
    // The k-th largest magnitude, then the entries above it and, in index order, enough of
    // those equal to it: exactly k, the same choice on every run.
    float* sorted = work.data() + n;
    std::copy_n(magnitude, n, sorted);
    std::nth_element(sorted, sorted + (k - 1), sorted + n, std::greater<>());
    const float threshold = sorted[k - 1];
    std::size_t above = 0;
    for (std::size_t i = 0; i < n; ++i) above += magnitude[i] > threshold;
    std::size_t ties = k - above;
    out.clear();
    out.reserve(k + 1);
    for (std::size_t i = 0; i < n; ++i) {
      const float m = magnitude[i];
      if (m > threshold || (m == threshold && ties > 0 && ties--)) {
        const float sent = static_cast<float>(residual[i]);
        out.push_back({static_cast<std::uint32_t>(i), sent});
        residual[i] -= static_cast<double>(sent);  // exact (Sterbenz): the float rounding stays behind
      }
    }
  }
};

/**
 * @brief Exact data parallelism that overlaps the exchange with backward: the gradient block
 * is cut into buckets of about `KiB` kibibytes, and each is summed by its own
 * `MPI_Iallreduce` as soon as the backward pass has finished every layer it covers. The
 * pass runs from the last layer to the first, so the last layers' buckets travel while the
 * first layers' gradients are still being computed; the bucket holding the first parameters
 * carries the loss and starts when backward ends. The sums are the same as `Exact`'s (the
 * same weights, bitwise with 2 ranks; with more, up to the order in which MPI adds).
 */
template <std::size_t KiB = 256>
struct Bucketed {
  static_assert(KiB >= 1, "ctnn::mpi::Bucketed<KiB>: buckets of at least 1 KiB");
  static constexpr std::size_t bucket_floats = KiB * 1024 / sizeof(float);
  /// Buckets of a block of n floats ([loss, gradient...]): [begin, end) in the order they
  /// start, from the end of the block; a remainder under half a bucket joins the first one.
  static std::vector<std::pair<std::size_t, std::size_t>> cut(std::size_t n) {
    std::vector<std::pair<std::size_t, std::size_t>> out;
    for (std::size_t end = n; end > 0;) {
      std::size_t begin = end > bucket_floats ? end - bucket_floats : 0;
      if (begin < bucket_floats / 2) begin = 0;
      out.emplace_back(begin, end);
      end = begin;
    }
    return out;
  }
};

/// Local SGD: every rank steps on its own gradients and the ranks average their
/// parameters every H steps (one `MPI_Allreduce` of the parameter block then).
template <std::size_t H>
struct LocalSGD {
  static_assert(H >= 1, "ctnn::mpi::LocalSGD<H>: average at least every step");
  static constexpr std::size_t period = H;
};

namespace detail {
template <class S>
inline constexpr bool is_topk = false;
template <std::size_t P>
inline constexpr bool is_topk<TopK<P>> = true;
template <class S>
inline constexpr bool is_local = false;
template <std::size_t H>
inline constexpr bool is_local<LocalSGD<H>> = true;
template <class S>
inline constexpr bool is_bucketed = false;
template <std::size_t K>
inline constexpr bool is_bucketed<Bucketed<K>> = true;
/// The strategy's part of the start-up signature: ranks must exchange the same way.
template <class S>
constexpr std::uint64_t strategy_code() noexcept {
  if constexpr (is_topk<S>) return 1;
  else if constexpr (is_local<S>) return 2;
  else if constexpr (is_bucketed<S>) return mix(4, S::bucket_floats);
  else if constexpr (is_powersgd<S>) return mix(8, S::rank);
  else return 0;
}

/// Start-up on every rank: compare `signature` across `comm` (a mismatch raises on every
/// rank, naming the first rank that differs) and copy rank 0's parameters to all.
inline void handshake(std::span<float> params, std::uint64_t signature, MPI_Comm comm, const char* who) {
  int size = 1;
  MPI_Comm_size(comm, &size);
  std::vector<std::uint64_t> all(static_cast<std::size_t>(size));
  MPI_Allgather(&signature, 1, MPI_UINT64_T, all.data(), 1, MPI_UINT64_T, comm);
  for (std::size_t r = 0; r < all.size(); ++r)
    if (all[r] != all[0])
      ctnn::detail::raise(std::string(who) + ": rank " + std::to_string(r) +
                          " runs a different network or trainer than rank 0 (signature " + std::to_string(all[r]) +
                          " vs " + std::to_string(all[0]) +
                          "); every rank must be built from the same Net, Loss, Optimizer and Batch");
  MPI_Bcast(params.data(), static_cast<int>(params.size()), MPI_FLOAT, 0, comm);
}

/// The exact step's exchange: one MPI_Allreduce of the gradient block with the loss
/// appended (through `block`, one float longer), then both divided by the rank count.
/// @return the global loss; `g` holds the global mean gradient.
inline float allreduce_mean(std::span<float> g, float loss, std::vector<float>& block, MPI_Comm comm) {
  int size = 1;
  MPI_Comm_size(comm, &size);
  block.resize(g.size() + 1);
  std::copy(g.begin(), g.end(), block.begin());
  block.back() = loss;
  MPI_Allreduce(MPI_IN_PLACE, block.data(), static_cast<int>(block.size()), MPI_FLOAT, MPI_SUM, comm);
  const float inv = 1.0f / static_cast<float>(size);
  for (std::size_t k = 0; k < g.size(); ++k) g[k] = block[k] * inv;
  return block.back() * inv;
}
}  // namespace detail

/**
 * @brief Wraps a `ctnn::Trainer` (the local batch) for training on every rank of `comm`.
 * The global batch is local batch × ranks. `Strategy`: `Exact` (default), `TopK<‰>` or
 * `LocalSGD<H>`.
 */
template <class NetT, class L, class O, class Bt, class Be, class Strategy = Exact>
class DistributedTrainer;

template <class NetT, class L, class O, std::size_t B, class Be, class Strategy>
class DistributedTrainer<NetT, L, O, Batch<B>, Be, Strategy> {
 public:
  using Local = Trainer<NetT, L, O, Batch<B>, Be>;
  static constexpr std::uint64_t signature_value =
      detail::mix(signature<NetT, B, O::state_blocks>(), detail::strategy_code<Strategy>());

  /// Options naming something `O::Options` lacks: one readable error (see `reject_options`).
  template <class Unused = void>
  DistributedTrainer(NetT& net, ctnn::detail::AnyOptimizerOptions, MPI_Comm comm = MPI_COMM_WORLD, std::uint64_t seed = 0)
      : DistributedTrainer(net, typename O::Options{}, comm, seed) {
    ctnn::detail::reject_options<O, Unused>();
  }

  /**
   * @brief Checks that every rank runs the same network (raises ctnn::Error on every rank
   * if not) and copies rank 0's parameters to all.
   */
  DistributedTrainer(NetT& net, typename O::Options opts = {}, MPI_Comm comm = MPI_COMM_WORLD,
                     std::uint64_t seed = 0)
      : net_(net), local_(net, opts, seed), comm_(comm) {
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
    counts_.resize(static_cast<std::size_t>(size_));
    displs_.resize(static_cast<std::size_t>(size_));
    detail::handshake(net_.params(), signature_value, comm_, "ctnn::mpi::DistributedTrainer");
    if constexpr (detail::is_bucketed<Strategy>) {
      buckets_ = Strategy::cut(NetT::param_count + 1);
      requests_.assign(buckets_.size(), MPI_REQUEST_NULL);
      block_.resize(NetT::param_count + 1);
    }
  }

  /**
   * @brief One step: local gradients, one fused MPI_Allreduce (gradients and loss), the same
   * update on every rank.
   * @return the global batch-mean loss.
   * @throws ctnn::Error on every rank together for a non-finite loss or gradient anywhere.
   */
  template <class X, class Y>
  float step(const X& inputs, const Y& targets) {
    const float inv = 1.0f / static_cast<float>(size_);
    if constexpr (detail::is_bucketed<Strategy>) {
      // block_ = [loss, gradient...]: bucket [b, e) holds gradients [b − 1, e − 1) (and the
      // loss when b = 0). Each starts once backward has passed its first gradient.
      next_ = early_ = 0;
      const float loss = local_.compute_gradients(inputs, targets, GradientReady{&on_ready, this});
      block_[0] = loss;
      start_buckets(0, true);
      MPI_Waitall(static_cast<int>(requests_.size()), requests_.data(), MPI_STATUSES_IGNORE);
      auto g = local_.gradient_block();
      for (std::size_t k = 0; k < g.size(); ++k) g[k] = block_[k + 1] * inv;
      const float global_loss = block_[0] * inv;
      local_.apply_gradients(global_loss);
      return global_loss;
    }
    const float loss = local_.compute_gradients(inputs, targets);
    auto g = local_.gradient_block();
    if constexpr (detail::is_local<Strategy>) {
      // Local step; the loss is this rank's. Every H steps, average the parameters.
      local_.apply_gradients(loss);
      if (++local_steps_ % Strategy::period == 0) {
        auto p = net_.params();
        MPI_Allreduce(MPI_IN_PLACE, p.data(), static_cast<int>(p.size()), MPI_FLOAT, MPI_SUM, comm_);
        for (float& v : p) v *= inv;
      }
      return loss;
    } else if constexpr (detail::is_powersgd<Strategy>) {
      const float global_loss = powersgd_.reduce(g, loss, comm_, size_);
      if (!ctnn::detail::is_finite(global_loss) || ctnn::detail::first_non_finite(g.data(), g.size()) != g.size())
        powersgd_.rollback();  // apply_gradients raises: the residual and Q stay as they were
      local_.apply_gradients(global_loss);
      powersgd_.commit();
      return global_loss;
    } else if constexpr (detail::is_topk<Strategy>) {
      Strategy::compress(g, residual_, pairs_, order_);
      pairs_.push_back({static_cast<std::uint32_t>(NetT::param_count), loss});  // the loss rides along
      const int mine = static_cast<int>(pairs_.size() * sizeof(typename Strategy::Pair));
      MPI_Allgather(&mine, 1, MPI_INT, counts_.data(), 1, MPI_INT, comm_);
      int total = 0;
      for (std::size_t r = 0; r < counts_.size(); ++r) displs_[r] = total, total += counts_[r];
      gathered_.resize(static_cast<std::size_t>(total) / sizeof(typename Strategy::Pair));
      MPI_Allgatherv(pairs_.data(), mine, MPI_BYTE, gathered_.data(), counts_.data(), displs_.data(), MPI_BYTE, comm_);
      std::fill(g.begin(), g.end(), 0.0f);
      float global_loss = 0;
      for (const auto& pr : gathered_) {  // rank order, then index order: the same sums on every rank
        if (pr.index == NetT::param_count)
          global_loss += pr.value;
        else
          g[pr.index] += pr.value;
      }
      for (float& v : g) v *= inv;
      global_loss *= inv;
      local_.apply_gradients(global_loss);
      return global_loss;
    } else {
      const float global_loss = detail::allreduce_mean(g, loss, block_, comm_);
      local_.apply_gradients(global_loss);
      return global_loss;
    }
  }

  /// Bucketed: the number of buckets, and how many of them the last step started while
  /// backward was still computing the gradients of earlier layers (the overlap).
  std::size_t buckets() const noexcept { return buckets_.size(); }
  std::size_t buckets_started_early() const noexcept { return early_; }

  int rank() const noexcept { return rank_; }
  int size() const noexcept { return size_; }
  MPI_Comm comm() const noexcept { return comm_; }
  Local& local() noexcept { return local_; }
  O& optimizer() noexcept { return local_.optimizer(); }
  /// Whether every rank holds the same parameters and optimizer state after each step
  /// (Exact, Bucketed), so one checkpoint serves all (`ctnn::mpi::save_checkpoint`).
  static constexpr bool replicated = !detail::is_topk<Strategy> && !detail::is_local<Strategy> && !detail::is_powersgd<Strategy>;
  /// Floats this rank sends into its all-reduces per step (PowerSGD).
  std::size_t powersgd_floats_per_step() const noexcept
    requires detail::is_powersgd<Strategy>
  {
    return powersgd_.floats_per_step();
  }

 private:
  using PairT = typename std::conditional_t<detail::is_topk<Strategy>, Strategy, TopK<1>>::Pair;

  /// Bucketed: starts, in order, every bucket whose gradients from offset `ready` on are
  /// final, and lets MPI progress the ones in flight (with `all`: the rest, the loss being
  /// in block_[0] by then; the caller's MPI_Waitall follows, so no progress call here).
  void start_buckets(std::size_t ready, bool all = false) noexcept {
    auto g = local_.gradient_block();
    for (; next_ < buckets_.size(); ++next_) {
      const auto [b, e] = buckets_[next_];
      if (!all && (b == 0 || b - 1 < ready)) break;
      std::copy(g.begin() + static_cast<std::ptrdiff_t>(b == 0 ? 0 : b - 1), g.begin() + static_cast<std::ptrdiff_t>(e - 1),
                block_.begin() + static_cast<std::ptrdiff_t>(b == 0 ? 1 : b));
      MPI_Iallreduce(MPI_IN_PLACE, block_.data() + b, static_cast<int>(e - b), MPI_FLOAT, MPI_SUM, comm_,
                     &requests_[next_]);
    }
    int done = 0;
    if (!all && next_ > 0) MPI_Testall(static_cast<int>(next_), requests_.data(), &done, MPI_STATUSES_IGNORE);
  }
  static void on_ready(void* self, std::size_t ready) noexcept {
    auto& t = *static_cast<DistributedTrainer*>(self);
    t.start_buckets(ready);
    if (ready > 0) t.early_ = t.next_;  // started while earlier layers were still in backward
  }

  NetT& net_;
  Local local_;
  MPI_Comm comm_;
  int rank_ = 0, size_ = 1;
  std::vector<float> block_;
  // Bucketed: the buckets in start order, their requests, the next to start, and how many
  // the last step started before the first layer's gradients were final.
  std::vector<std::pair<std::size_t, std::size_t>> buckets_;
  std::vector<MPI_Request> requests_;
  std::size_t next_ = 0, early_ = 0;
  std::size_t local_steps_ = 0;
  // Top-k: residual (double), pairs out, all pairs in, per-rank byte counts and offsets.
  std::vector<double> residual_ = std::vector<double>(detail::is_topk<Strategy> ? NetT::param_count : 0);
  std::vector<PairT> pairs_, gathered_;
  std::vector<float> order_;  // magnitudes, reused
  std::vector<int> counts_, displs_;
  struct NoState {};
  [[no_unique_address]] std::conditional_t<detail::is_powersgd<Strategy>,
                                           detail::PowerSgdState<detail::powersgd_rank<Strategy>, NetT>, NoState>
      powersgd_;
};

/**
 * @brief Exact data parallelism around any `LocalTrainer` (a step in two halves,
 * `compute_gradients` and `apply_gradients`, around `gradient_block`): a `Trainer`, a
 * `DataParallel` (MPI ranks × threads) or a `PipelineTrainer` (MPI ranks × pipeline
 * stages). Same protocol as `DistributedTrainer`.
 */
template <class NetT, LocalTrainer LocalT>
class Distributed {
 public:
  Distributed(NetT& net, LocalT& local, MPI_Comm comm = MPI_COMM_WORLD) : local_(local), comm_(comm) {
    detail::handshake(net.params(), detail::mix(signature<NetT, LocalT::batch, 0>(), 3), comm_, "ctnn::mpi::Distributed");
  }
  /// One step: local gradients, one MPI_Allreduce (gradients and loss), the same update everywhere.
  template <class X, class Y>
  float step(const X& inputs, const Y& targets) {
    const float loss = local_.compute_gradients(inputs, targets);
    const float global_loss = detail::allreduce_mean(local_.gradient_block(), loss, block_, comm_);
    local_.apply_gradients(global_loss);
    return global_loss;
  }

 private:
  LocalT& local_;
  MPI_Comm comm_;
  std::vector<float> block_;
};

}  // namespace mpi
CTNN_END_NAMESPACE
