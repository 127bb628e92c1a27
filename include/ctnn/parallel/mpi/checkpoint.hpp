#pragma once
/**
 * @file checkpoint.hpp
 * @brief Checkpoints of `mpi::DistributedTrainer`: rank 0 writes one file holding the
 * replicated weights and optimizer state and every rank's data position; every rank reads
 * it back, and the ranks check that they restored the same state before any applies it.
 * Collective: call on every rank of the trainer's communicator.
 */
#include <mpi.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstdint>
#include <string>
#include <vector>

#include "../../io/checkpoint.hpp"
#include "data_parallel.hpp"

CTNN_BEGIN_NAMESPACE
namespace mpi {
namespace detail {

/// Raises on every rank if `ok` is false on any: there, its own message; elsewhere, which rank failed.
inline void agree(bool ok, const std::string& message, MPI_Comm comm, const std::string& who) {
  int mine = ok ? 1 : 0, all = 0, rank = 0;
  MPI_Comm_rank(comm, &rank);
  MPI_Allreduce(&mine, &all, 1, MPI_INT, MPI_MIN, comm);
  if (all == 1) return;
  int failing = ok ? INT_MAX : rank, first = 0;
  MPI_Allreduce(&failing, &first, 1, MPI_INT, MPI_MIN, comm);
  ctnn::detail::raise(ok ? who + ": rank " + std::to_string(first) + " failed (its own message says why)" : message);
}

/// FNV-1a over bytes.
inline std::uint64_t fnv(const void* p, std::size_t n, std::uint64_t h = 14695981039346656037ull) {
  const auto* b = static_cast<const unsigned char*>(p);
  for (std::size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 1099511628211ull;
  return h;
}

}  // namespace detail

/**
 * @brief Saves a checkpoint of `dt` to `path` (written by rank 0, atomically): the weights and
 * optimizer state every rank shares, and each rank's `pos` (its sample order and generator).
 * @throws ctnn::Error on every rank if the file cannot be written.
 */
template <class D>
void save_checkpoint(D& dt, const io::TrainingPosition& pos, const std::string& path) {
  static_assert(D::replicated, "ctnn::mpi::save_checkpoint: checkpoints need a strategy whose ranks hold the same "
                               "state (Exact or Bucketed); TopK's error feedback and LocalSGD's replicas differ per rank");
  const MPI_Comm comm = dt.comm();
  const int rank = dt.rank(), size = dt.size();
  std::vector<std::uint64_t> rngs(5 * static_cast<std::size_t>(size));
  MPI_Gather(pos.rng.data(), 5, MPI_UINT64_T, rngs.data(), 5, MPI_UINT64_T, 0, comm);
  const int mine = static_cast<int>(pos.order.size());
  std::vector<int> counts(static_cast<std::size_t>(size)), displs(static_cast<std::size_t>(size));
  MPI_Gather(&mine, 1, MPI_INT, counts.data(), 1, MPI_INT, 0, comm);
  std::vector<std::uint32_t> order;
  if (rank == 0) {
    for (int r = 1; r < size; ++r) displs[std::size_t(r)] = displs[std::size_t(r) - 1] + counts[std::size_t(r) - 1];
    order.resize(static_cast<std::size_t>(displs.back() + counts.back()));
  }
  MPI_Gatherv(pos.order.data(), mine, MPI_UINT32_T, order.data(), counts.data(), displs.data(), MPI_UINT32_T, 0, comm);
  bool ok = true;
  std::string error;
  if (rank == 0) {
    io::TrainingPosition all = pos;
    all.order = std::move(order);
    all.extra["mpi.ranks"] = std::to_string(size);
    std::string sizes;
    for (int r = 0; r < size; ++r) {
      if (r) sizes += ',';
      sizes += std::to_string(counts[std::size_t(r)]);
      std::array<std::uint64_t, 5> w;
      std::copy_n(rngs.data() + 5 * r, 5, w.begin());
      all.extra["mpi.rng." + std::to_string(r)] = io::detail::rng_text(w);
    }
    all.extra["mpi.order_sizes"] = sizes;
#if CTNN_HAS_EXCEPTIONS
    try {
      io::save_checkpoint(dt.local(), all, path);
    } catch (const Error& e) {
      ok = false;
      error = e.what();
    }
#else
    io::save_checkpoint(dt.local(), all, path);
#endif
  }
  detail::agree(ok, error, comm, "ctnn::mpi::save_checkpoint");
}

/**
 * @brief Restores `dt` on every rank from the checkpoint at `path` and returns this rank's
 * position. Every rank reads and checks the file first; the ranks then compare what they
 * read (a hash of the weights, state, step count and position), and only if all agree does
 * any apply it.
 * @throws ctnn::Error on every rank for a missing, damaged or mismatched file (another
 * network, optimizer or rank count), or when the ranks did not read the same checkpoint;
 * nothing is changed on any rank.
 */
template <class D>
io::TrainingPosition load_checkpoint(D& dt, const std::string& path) {
  static_assert(D::replicated, "ctnn::mpi::load_checkpoint: checkpoints need a strategy whose ranks hold the same "
                               "state (Exact or Bucketed)");
  const MPI_Comm comm = dt.comm();
  const int rank = dt.rank(), size = dt.size();
  io::PreparedCheckpoint c;
  io::TrainingPosition mine;
  bool ok = true;
  std::string error;
  std::uint64_t hash = 0;
  auto prepare = [&] {
    const auto bytes = io::read_checkpoint_file(dt.local(), path);
    c = io::prepare_checkpoint(dt.local(), bytes, path);
    const auto& extra = c.position.extra;
    const auto ranks = extra.find("mpi.ranks");
    if (ranks == extra.end() || ranks->second != std::to_string(size))
      ctnn::detail::raise("ctnn::mpi::load_checkpoint: '" + path + "' was written by " +
                          (ranks == extra.end() ? std::string("a run without MPI") : ranks->second + " ranks") +
                          "; this run has " + std::to_string(size));
    // This rank's slice of the order and its generator.
    std::vector<std::size_t> sizes;
    const auto list_it = extra.find("mpi.order_sizes");
    if (list_it == extra.end()) ctnn::detail::raise("ctnn::mpi::load_checkpoint: '" + path + "' lacks 'extra.mpi.order_sizes'");
    const std::string& list = list_it->second;
    for (std::size_t at = 0; at <= list.size();) {
      const std::size_t comma = std::min(list.find(',', at), list.size());
      sizes.push_back(static_cast<std::size_t>(
          io::detail::parse_u64(list.substr(at, comma - at), 10, "'extra.mpi.order_sizes'", path)));
      at = comma + 1;
    }
    std::size_t begin = 0, total = 0;
    for (std::size_t r = 0; r < sizes.size(); ++r) {
      if (r < std::size_t(rank)) begin += sizes[r];
      total += sizes[r];
    }
    if (sizes.size() != std::size_t(size) || total != c.position.order.size())
      ctnn::detail::raise("ctnn::mpi::load_checkpoint: '" + path + "' has a malformed 'extra.mpi.order_sizes'");
    mine = c.position;
    mine.order.assign(c.position.order.begin() + static_cast<std::ptrdiff_t>(begin),
                      c.position.order.begin() + static_cast<std::ptrdiff_t>(begin + sizes[std::size_t(rank)]));
    const std::string key = "mpi.rng." + std::to_string(rank);
    const auto words = extra.find(key);
    if (words == extra.end())
      ctnn::detail::raise("ctnn::mpi::load_checkpoint: '" + path + "' lacks 'extra." + key + "'");
    mine.rng = io::detail::parse_rng(words->second, "'extra." + key + "'", path);
    for (auto it = mine.extra.begin(); it != mine.extra.end();)
      it = it->first.starts_with("mpi.") ? mine.extra.erase(it) : std::next(it);
    hash = detail::fnv(c.params.data(), c.params.size() * sizeof(float));
    hash = detail::fnv(c.state.data(), c.state.size() * sizeof(float), hash);
    hash = detail::fnv(&c.steps, sizeof c.steps, hash);
    hash = detail::fnv(c.position.order.data(), c.position.order.size() * sizeof(std::uint32_t), hash);
  };
#if CTNN_HAS_EXCEPTIONS
  try {
    prepare();
  } catch (const Error& e) {
    ok = false;
    error = e.what();
  }
#else
  prepare();
#endif
  detail::agree(ok, error, comm, "ctnn::mpi::load_checkpoint");
  std::vector<std::uint64_t> hashes(static_cast<std::size_t>(size));
  MPI_Allgather(&hash, 1, MPI_UINT64_T, hashes.data(), 1, MPI_UINT64_T, comm);
  for (int r = 1; r < size; ++r)
    if (hashes[std::size_t(r)] != hashes[0])
      ctnn::detail::raise("ctnn::mpi::load_checkpoint: rank " + std::to_string(r) + " read a different checkpoint from '" +
                          path + "' than rank 0 (is the file on a file system every rank shares?); nothing restored");
  io::commit_checkpoint(dt.local(), std::move(c));
  return mine;
}

}  // namespace mpi
CTNN_END_NAMESPACE
