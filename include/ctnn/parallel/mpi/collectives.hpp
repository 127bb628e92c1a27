#pragma once
/**
 * @file mpi/collectives.hpp
 * @brief All-reduce by a chosen algorithm — Open MPI's own implementations, selected through
 * its `coll tuned` component — and the α-β-γ model measured on the communicator, which
 * chooses the algorithm (`Allreduce::automatic`). Link `ctnn::mpi`.
 *
 * Open MPI fixes a communicator's all-reduce algorithm when the communicator is created,
 * from the control variable `coll_tuned_allreduce_algorithm`, and honours it only while
 * `coll_tuned_use_dynamic_rules` is on (which must be so at `MPI_Init`: `mpi::Environment`
 * turns it on unless the environment says otherwise; with no algorithm forced, the library
 * decides as it always does). `Collectives` therefore writes the variable through the
 * MPI tool interface (`MPI_T_cvar_write`), duplicates the communicator, and puts the
 * variable back: one communicator per algorithm, made on first use (a collective call).
 * Under another MPI, or with dynamic rules off, `available()` is false and every algorithm
 * runs as the library's default, which `Collectives::note()` says.
 */
#include <mpi.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "../../detail/raise.hpp"
#include "../comm_model.hpp"

CTNN_BEGIN_NAMESPACE
namespace mpi {

namespace detail {
/// An integer control variable of the MPI tool interface, by name; -1 when absent.
inline int cvar_index(const char* name) {
  int index = -1;
  return MPI_T_cvar_get_index(name, &index) == MPI_SUCCESS ? index : -1;
}
/// Runs `op(handle)` (MPI_T_cvar_read or _write with its value bound) on variable `index`.
template <class Op>
bool with_cvar(int index, Op op) {
  MPI_T_cvar_handle h;
  int count = 0;
  if (index < 0 || MPI_T_cvar_handle_alloc(index, nullptr, &h, &count) != MPI_SUCCESS) return false;
  const bool ok = op(h) == MPI_SUCCESS;
  MPI_T_cvar_handle_free(&h);
  return ok;
}
inline bool cvar_read(int index, int& value) {
  return with_cvar(index, [&](MPI_T_cvar_handle h) { return MPI_T_cvar_read(h, &value); });
}
inline bool cvar_write(int index, int value) {
  return with_cvar(index, [&](MPI_T_cvar_handle h) { return MPI_T_cvar_write(h, &value); });
}
}  // namespace detail

class Collectives {
 public:
  /// Not collective; each algorithm's communicator is made, collectively, on first use.
  explicit Collectives(MPI_Comm comm = MPI_COMM_WORLD) : comm_(comm) {
    int provided = 0;
    tool_ = MPI_T_init_thread(MPI_THREAD_SINGLE, &provided) == MPI_SUCCESS;
    MPI_Comm_size(comm_, &size_);
    int dynamic = 0;
    algorithm_var_ = tool_ ? detail::cvar_index("coll_tuned_allreduce_algorithm") : -1;
    available_ = algorithm_var_ >= 0 && detail::cvar_read(detail::cvar_index("coll_tuned_use_dynamic_rules"), dynamic) && dynamic != 0;
    comms_.fill(MPI_COMM_NULL);
  }
  Collectives(const Collectives&) = delete;
  Collectives& operator=(const Collectives&) = delete;
  ~Collectives() {
    for (MPI_Comm& c : comms_)
      if (c != MPI_COMM_NULL) MPI_Comm_free(&c);
    if (tool_) MPI_T_finalize();
  }

  /// Whether each algorithm really is the one named (Open MPI, dynamic rules on).
  bool available() const noexcept { return available_; }
  std::string note() const {
    return available_ ? "all-reduce algorithms forced through Open MPI's coll tuned"
                      : "all-reduce algorithms cannot be chosen here (needs Open MPI with coll_tuned_use_dynamic_rules=1 at "
                        "MPI_Init, which mpi::Environment sets): every algorithm runs as the library's default";
  }
  int size() const noexcept { return size_; }

  /// The model measured on this communicator (`measure`), used by `automatic`; until then,
  /// `automatic` is the library's default.
  const LinkModel& model() const noexcept { return model_; }
  void set_model(const LinkModel& m) noexcept { model_ = m, measured_ = true; }

  /// The algorithm `a` stands for on `bytes` (the model's choice for `automatic`).
  Allreduce resolve(Allreduce a, std::size_t bytes) const noexcept {
    return a != Allreduce::automatic || !measured_ ? a : model_.best(double(bytes), size_);
  }

  /// A communicator whose all-reduce is algorithm `a` (collective on first use).
  MPI_Comm comm(Allreduce a) {
    MPI_Comm& c = comms_[static_cast<std::size_t>(a)];
    if (c == MPI_COMM_NULL) {
      if (available_) detail::cvar_write(algorithm_var_, static_cast<int>(a));
      MPI_Comm_dup(comm_, &c);
      if (available_) detail::cvar_write(algorithm_var_, 0);
    }
    return c;
  }

  /// In-place sum over every rank with algorithm `a` (collective).
  void allreduce_sum(float* data, std::size_t n, Allreduce a = Allreduce::automatic) {
    MPI_Allreduce(MPI_IN_PLACE, data, static_cast<int>(n), MPI_FLOAT, MPI_SUM, comm(resolve(a, n * sizeof(float))));
  }

  /**
   * @brief Measures α and β by a ping-pong between ranks 0 and 1 (median of `reps` round
   * trips at 8 bytes and at 1 MiB) and γ by summing 1 MiB locally; every rank gets rank 0's
   * figures, which also become this object's model (collective).
   */
  LinkModel measure(int reps = 20) {
    LinkModel m{};
    int rank = 0;
    MPI_Comm_rank(comm_, &rank);
    if (size_ >= 2) {
      const double small = one_way(8, reps, rank), large = one_way(1 << 20, reps, rank);
      m.beta = std::max(0.0, (large - small) / double((1 << 20) - 8));
      m.alpha = std::max(0.0, small - 8 * m.beta);
    }
    std::vector<float> a(1 << 18, 1.0f), b(1 << 18, 2.0f);
    std::vector<double> t;
    for (int r = 0; r < reps; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      for (std::size_t k = 0; k < a.size(); ++k) a[k] += b[k];
      t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    volatile float keep = a[7];  // the sums are used: the loop stays
    (void)keep;
    m.gamma = median(t) / double(a.size() * sizeof(float));
    double v[3] = {m.alpha, m.beta, m.gamma};
    MPI_Bcast(v, 3, MPI_DOUBLE, 0, comm_);
    set_model({v[0], v[1], v[2]});
    return model_;
  }

 private:
  static double median(std::vector<double> t) {
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
  }
  /// Half the median round trip of `bytes` between ranks 0 and 1 (others wait).
  double one_way(int bytes, int reps, int rank) {
    std::vector<char> buf(static_cast<std::size_t>(bytes));
    std::vector<double> t;
    MPI_Barrier(comm_);
    for (int r = 0; r < reps + 2; ++r) {
      const double t0 = MPI_Wtime();
      if (rank == 0) {
        MPI_Send(buf.data(), bytes, MPI_CHAR, 1, 7, comm_);
        MPI_Recv(buf.data(), bytes, MPI_CHAR, 1, 7, comm_, MPI_STATUS_IGNORE);
      } else if (rank == 1) {
        MPI_Recv(buf.data(), bytes, MPI_CHAR, 0, 7, comm_, MPI_STATUS_IGNORE);
        MPI_Send(buf.data(), bytes, MPI_CHAR, 0, 7, comm_);
      }
      if (r >= 2) t.push_back((MPI_Wtime() - t0) / 2);  // two warm-up trips
    }
    MPI_Barrier(comm_);
    return median(t);
  }

  MPI_Comm comm_;
  int size_ = 1;
  bool tool_ = false, available_ = false, measured_ = false;
  int algorithm_var_ = -1;
  std::array<MPI_Comm, 7> comms_{};
  LinkModel model_{};
};

}  // namespace mpi
CTNN_END_NAMESPACE
