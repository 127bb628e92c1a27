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
 * all raise together: no rank is left waiting). `Environment` initialises MPI and, if an
 * exception escapes on one rank, aborts all of them with a non-zero exit.
 */
#include <mpi.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <exception>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "../../detail/raise.hpp"
#include "../../network/trainer.hpp"

CTNN_BEGIN_NAMESPACE
namespace mpi {

/// MPI for the program's lifetime; aborts every rank if an exception unwinds through it.
class Environment {
 public:
  Environment(int& argc, char**& argv) {
    int ready = 0;
    MPI_Initialized(&ready);
    if (!ready) {
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

/**
 * @brief Wraps a `ctnn::Trainer` (the local batch) for training on every rank of `comm`.
 * The global batch is local batch × ranks.
 */
template <class NetT, class L, class O, class Bt, class Be>
class DistributedTrainer;

template <class NetT, class L, class O, std::size_t B, class Be>
class DistributedTrainer<NetT, L, O, Batch<B>, Be> {
 public:
  using Local = Trainer<NetT, L, O, Batch<B>, Be>;
  static constexpr std::uint64_t signature_value = signature<NetT, B, O::state_blocks>();

  /**
   * @brief Checks that every rank runs the same network (raises ctnn::Error on every rank
   * if not) and copies rank 0's parameters to all.
   */
  DistributedTrainer(NetT& net, typename O::Options opts = {}, MPI_Comm comm = MPI_COMM_WORLD,
                     std::uint64_t seed = 0)
      : net_(net), local_(net, opts, seed), comm_(comm), block_(NetT::param_count + 1) {
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
    std::vector<std::uint64_t> all(static_cast<std::size_t>(size_));
    std::uint64_t mine = signature_value;
    MPI_Allgather(&mine, 1, MPI_UINT64_T, all.data(), 1, MPI_UINT64_T, comm_);
    for (int r = 0; r < size_; ++r)
      if (all[static_cast<std::size_t>(r)] != all[0])
        ctnn::detail::raise("ctnn::mpi::DistributedTrainer: rank " + std::to_string(r) +
                            " runs a different network or trainer than rank 0 (signature " +
                            std::to_string(all[static_cast<std::size_t>(r)]) + " vs " + std::to_string(all[0]) +
                            "); every rank must be built from the same Net, Loss, Optimizer and Batch");
    MPI_Bcast(net_.params().data(), static_cast<int>(NetT::param_count), MPI_FLOAT, 0, comm_);
  }

  /**
   * @brief One step: local gradients, one fused MPI_Allreduce (gradients and loss), the same
   * update on every rank.
   * @return the global batch-mean loss.
   * @throws ctnn::Error on every rank together for a non-finite loss or gradient anywhere.
   */
  template <class X, class Y>
  float step(const X& inputs, const Y& targets) {
    const float loss = local_.compute_gradients(inputs, targets);
    auto g = local_.gradient_block();
    std::copy(g.begin(), g.end(), block_.begin());
    block_.back() = loss;
    MPI_Allreduce(MPI_IN_PLACE, block_.data(), static_cast<int>(block_.size()), MPI_FLOAT, MPI_SUM, comm_);
    const float inv = 1.0f / static_cast<float>(size_);
    for (std::size_t k = 0; k < g.size(); ++k) g[k] = block_[k] * inv;
    const float global_loss = block_.back() * inv;
    local_.apply_gradients(global_loss);
    return global_loss;
  }

  int rank() const noexcept { return rank_; }
  int size() const noexcept { return size_; }
  Local& local() noexcept { return local_; }
  O& optimizer() noexcept { return local_.optimizer(); }

 private:
  NetT& net_;
  Local local_;
  MPI_Comm comm_;
  int rank_ = 0, size_ = 1;
  std::vector<float> block_;
};

}  // namespace mpi
CTNN_END_NAMESPACE
