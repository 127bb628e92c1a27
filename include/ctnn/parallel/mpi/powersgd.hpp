#pragma once
/**
 * @file mpi/powersgd.hpp
 * @brief `mpi::PowerSGD<R>`: rank-R gradient compression with error feedback (Vogels, Karimireddy
 * and Jaggi, "PowerSGD: Practical Low-Rank Gradient Compression for Distributed
 * Optimization", 2019), a strategy of `DistributedTrainer`. Its factors travel by
 * all-reduce, so the bytes per rank do not grow with the number of ranks (top-k's
 * all-gather does).
 *
 * The parameter block of every layer that holds rows × cols weights followed by cols biases
 * (Dense: in × out; Conv1D/Conv2D: patch × out channels), with rows and cols both above R,
 * is a matrix M. Per step, on every rank: M += e (this rank's residual); P = M·Q; one
 * all-reduce of every P together with the rest of the block (biases and all other
 * parameters, sent exactly) and the loss; P = orthonormal columns of the mean P (Gram–
 * Schmidt, twice); Q = Mᵀ·P; one all-reduce of every Q; the gradient becomes P·Qᵀ (mean Q) on
 * every rank, and e = M − P·Qᵀ. Q starts from the same seeded draw on every rank and is
 * reused from step to step (the warm start that makes one power iteration a step enough).
 * All ranks therefore apply the same update and keep the same weights. The residual
 * is committed only once the update went through: a step refused for a NaN/Inf (which
 * reaches every rank through the sums) leaves it as it was.
 */
#include <mpi.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "../../core/rng.hpp"

CTNN_BEGIN_NAMESPACE
namespace mpi {

template <std::size_t R>
struct PowerSGD {
  static_assert(R >= 1 && R <= 64, "ctnn::mpi::PowerSGD<R>: rank between 1 and 64");
  static constexpr std::size_t rank = R;
};

namespace detail {
template <class S>
inline constexpr bool is_powersgd = false;
template <std::size_t R>
inline constexpr bool is_powersgd<PowerSGD<R>> = true;
template <class S>
inline constexpr std::size_t powersgd_rank = 1;
template <std::size_t R>
inline constexpr std::size_t powersgd_rank<PowerSGD<R>> = R;

struct LowRankMatrix {
  std::size_t offset, rows, cols;
};

/// The compressible matrices of a network's parameter block, for rank r.
template <class NetT>
std::vector<LowRankMatrix> low_rank_matrices(std::size_t r) {
  std::vector<LowRankMatrix> out;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (
        [&] {
          using Lay = typename NetT::template layer<I>;
          if constexpr (requires { Lay::weight_count; }) {
            constexpr std::size_t size = NetT::param_sizes[I], w = Lay::weight_count;
            if constexpr (size > w && w % (size - w) == 0) {
              const std::size_t cols = size - w, rows = w / cols;
              if (rows > r && cols > r) out.push_back({NetT::param_offsets[I], rows, cols});
            }
          }
        }(),
        ...);
  }(std::make_index_sequence<NetT::layer_count>{});
  return out;
}

template <std::size_t R, class NetT>
class PowerSgdState {
 public:
  PowerSgdState() : mats_(low_rank_matrices<NetT>(R)) {
    std::vector<unsigned char> covered(NetT::param_count, 0);
    std::size_t p = 0, q = 0;
    Rng rng(0x5057455253474400ULL);  // the same Q on every rank
    for (const auto& m : mats_) {
      p += m.rows * R, q += m.cols * R;
      for (std::size_t i = 0; i < m.rows * m.cols; ++i) covered[m.offset + i] = 1;
    }
    for (std::size_t k = 0; k < NetT::param_count; ++k)
      if (!covered[k]) exact_.push_back(k);
    q_.resize(q);
    for (float& v : q_) v = rng.uniform(1.0f);
    p_.resize(p);
    residual_.assign(NetT::param_count, 0.0f);
    next_.assign(NetT::param_count, 0.0f);
    first_.resize(p + exact_.size() + 1);
  }

  /// Floats each rank sends into the two all-reduces per step.
  std::size_t floats_per_step() const noexcept { return p_.size() + exact_.size() + 1 + q_.size(); }
  std::size_t matrices() const noexcept { return mats_.size(); }

  /// Replaces g by the global rank-R estimate (see the file comment); returns the mean loss.
  float reduce(std::span<float> g, float loss, MPI_Comm comm, int size) {
    const float inv = 1.0f / static_cast<float>(size);
    q_before_ = q_;  // kept until the update went through (`rollback`)
    for (const auto& m : mats_)  // M = gradient + residual
      for (std::size_t k = m.offset; k < m.offset + m.rows * m.cols; ++k) g[k] += residual_[k];
    std::size_t po = 0, qo = 0;
    for (const auto& m : mats_) {  // P = M·Q
      const float* M = g.data() + m.offset;
      float* P = p_.data() + po;
      const float* Q = q_.data() + qo;
      for (std::size_t i = 0; i < m.rows; ++i)
        for (std::size_t c = 0; c < R; ++c) {
          float s = 0;
          for (std::size_t j = 0; j < m.cols; ++j) s += M[i * m.cols + j] * Q[j * R + c];
          P[i * R + c] = s;
        }
      po += m.rows * R, qo += m.cols * R;
    }
    std::copy(p_.begin(), p_.end(), first_.begin());
    for (std::size_t k = 0; k < exact_.size(); ++k) first_[p_.size() + k] = g[exact_[k]];
    first_.back() = loss;
    MPI_Allreduce(MPI_IN_PLACE, first_.data(), static_cast<int>(first_.size()), MPI_FLOAT, MPI_SUM, comm);
    for (std::size_t k = 0; k < p_.size(); ++k) p_[k] = first_[k] * inv;
    for (std::size_t k = 0; k < exact_.size(); ++k) g[exact_[k]] = first_[p_.size() + k] * inv;
    po = qo = 0;
    for (const auto& m : mats_) {  // orthonormal P, then Q = Mᵀ·P
      float* P = p_.data() + po;
      for (std::size_t c = 0; c < R; ++c) {
        const double before = squared_norm(P, m.rows, c);
        for (int pass = 0; pass < 2; ++pass)  // twice is enough (Giraud et al.)
          for (std::size_t d = 0; d < c; ++d) {
            double dot = 0;
            for (std::size_t i = 0; i < m.rows; ++i) dot += double(P[i * R + c]) * P[i * R + d];
            for (std::size_t i = 0; i < m.rows; ++i) P[i * R + c] -= static_cast<float>(dot) * P[i * R + d];
          }
        // A column with nothing left beyond the earlier ones (M has lower rank) is dropped.
        const double norm = squared_norm(P, m.rows, c);
        const float scale = norm > 1e-10 * before && norm > 0 ? static_cast<float>(1.0 / std::sqrt(norm)) : 0.0f;
        for (std::size_t i = 0; i < m.rows; ++i) P[i * R + c] *= scale;
      }
      const float* M = g.data() + m.offset;
      float* Q = q_.data() + qo;
      for (std::size_t j = 0; j < m.cols * R; ++j) Q[j] = 0;
      for (std::size_t i = 0; i < m.rows; ++i)
        for (std::size_t j = 0; j < m.cols; ++j)
          for (std::size_t c = 0; c < R; ++c) Q[j * R + c] += M[i * m.cols + j] * P[i * R + c];
      po += m.rows * R, qo += m.cols * R;
    }
    MPI_Allreduce(MPI_IN_PLACE, q_.data(), static_cast<int>(q_.size()), MPI_FLOAT, MPI_SUM, comm);
    for (float& v : q_) v *= inv;
    po = qo = 0;
    for (const auto& m : mats_) {  // gradient = P·Qᵀ; the residual-to-be = M − P·Qᵀ
      float* M = g.data() + m.offset;
      const float* P = p_.data() + po;
      const float* Q = q_.data() + qo;
      for (std::size_t i = 0; i < m.rows; ++i)
        for (std::size_t j = 0; j < m.cols; ++j) {
          float a = 0;
          for (std::size_t c = 0; c < R; ++c) a += P[i * R + c] * Q[j * R + c];
          next_[m.offset + i * m.cols + j] = M[i * m.cols + j] - a;
          M[i * m.cols + j] = a;
        }
      po += m.rows * R, qo += m.cols * R;
    }
    return first_.back() * inv;
  }
  static double squared_norm(const float* P, std::size_t rows, std::size_t c) noexcept {
    double n = 0;
    for (std::size_t i = 0; i < rows; ++i) n += double(P[i * R + c]) * P[i * R + c];
    return n;
  }
  /// After the update went through: the new residual becomes the residual.
  void commit() noexcept { residual_.swap(next_); }
  /// After a refused step: Q as it was before it (the residual was never replaced).
  void rollback() noexcept { q_.swap(q_before_); }

 private:
  std::vector<LowRankMatrix> mats_;
  std::vector<std::size_t> exact_;
  std::vector<float> p_, q_, q_before_, residual_, next_, first_;
};
}  // namespace detail

}  // namespace mpi
CTNN_END_NAMESPACE
