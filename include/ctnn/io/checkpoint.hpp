#pragma once
/**
 * @brief `ctnn::io::save_checkpoint` and `load_checkpoint`: everything training needs to
 * continue bit for bit where it stopped, in one safetensors file written atomically.
 * @file checkpoint.hpp
 *
 * The file holds the weights (PyTorch names, as `io::save` writes them, so it loads as
 * weights too), the optimizer state (`ctnn.optimizer_state`, F32, in the trainer's own
 * layout), the sample order (`ctnn.order`, U32), the states truncated BPTT carries when the
 * trainer carries them (`ctnn.carried_state`, F32) and, in `__metadata__`, the network, the
 * optimizer, the state's layout, the step count, the epoch, the position in it, the
 * data-order generator's state and the caller's own entries (`extra.*`).
 *
 * Works with any trainer that exposes `net()`, `optimizer()`, `optimizer_state()`,
 * `state_layout()`, `steps()` and `restore_steps(n)`: `ctnn::Trainer` and
 * `ctnn::DataParallel` (`ctnn::mpi` has its own pair that agrees across ranks).
 */
#include <array>
#include <cstdint>
#include <cstdio>
#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "weights.hpp"

CTNN_BEGIN_NAMESPACE
namespace io {

/// The version of the checkpoint conventions, recorded as `ctnn.checkpoint_version`.
inline constexpr const char* checkpoint_version = "1";

/// Where a training loop stands, besides the trainer: what a checkpoint records with it.
struct TrainingPosition {
  std::uint64_t epoch = 0;                   ///< epochs completed
  std::uint64_t step_in_epoch = 0;           ///< steps completed in the current epoch
  std::array<std::uint64_t, 5> rng{};        ///< the data-order generator (`Rng::state()`)
  std::vector<std::uint32_t> order{};        ///< the sample order, if the loop shuffles one in place
  std::map<std::string, std::string> extra{};  ///< anything else, as strings
};

/// A trainer a checkpoint can save and restore.
template <class T>
concept Checkpointable = requires(T& t, std::size_t n) {
  t.net().params();
  t.optimizer();
  { t.optimizer_state() } -> std::convertible_to<std::span<float>>;
  { t.state_layout() } -> std::convertible_to<std::string>;
  { t.steps() } -> std::convertible_to<std::size_t>;
  t.restore_steps(n);
};

namespace detail {
/// A trainer that carries recurrent states between steps (truncated BPTT): they are saved too.
template <class T>
concept CarriesState = requires(T& t) {
  { t.carried_state() } -> std::convertible_to<std::span<float>>;
  { t.carrying_state() } -> std::convertible_to<bool>;
};
template <class T>
using net_of = std::remove_reference_t<decltype(std::declval<T&>().net())>;
template <class T>
using optimizer_of = std::remove_reference_t<decltype(std::declval<T&>().optimizer())>;

inline std::string hex64(std::uint64_t v) {
  char b[20];
  std::snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(v));
  return b;
}

/// `text` as a number in `base` (10 or 16), or a clear error naming `what` in `src`.
inline std::uint64_t parse_u64(const std::string& text, int base, const std::string& what, const std::string& src) {
  std::uint64_t v = 0;
  bool ok = !text.empty() && text.size() <= (base == 16 ? 16u : 19u);
  for (char c : text) {
    const int d = c >= '0' && c <= '9' ? c - '0' : base == 16 && c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    ok = ok && d >= 0;
    v = v * static_cast<std::uint64_t>(base) + static_cast<std::uint64_t>(d < 0 ? 0 : d);
  }
  if (!ok) ctnn::detail::raise("ctnn::io: checkpoint '" + src + "' has " + what + " = '" + text + "', not a number");
  return v;
}

inline const std::string& meta_str(const std::map<std::string, std::string>& m, const std::string& key,
                                   const std::string& src) {
  const auto it = m.find(key);
  if (it == m.end()) ctnn::detail::raise("ctnn::io: checkpoint '" + src + "' lacks '" + key + "' in its metadata");
  return it->second;
}

/// A metadata entry as a decimal number, or a clear error.
inline std::uint64_t meta_u64(const std::map<std::string, std::string>& m, const std::string& key,
                              const std::string& src) {
  return parse_u64(meta_str(m, key, src), 10, "'" + key + "'", src);
}

/// A generator's state as five hex words ("%016llx" each, space-separated), and back.
inline std::string rng_text(const std::array<std::uint64_t, 5>& w) {
  std::string s;
  for (auto v : w) {
    if (!s.empty()) s += ' ';
    s += hex64(v);
  }
  return s;
}
inline std::array<std::uint64_t, 5> parse_rng(const std::string& text, const std::string& what, const std::string& src) {
  if (text.size() != 5 * 16 + 4)
    ctnn::detail::raise("ctnn::io: checkpoint '" + src + "' has a malformed " + what + ": '" + text + "'");
  std::array<std::uint64_t, 5> w{};
  for (std::size_t i = 0; i < 5; ++i) w[i] = parse_u64(text.substr(17 * i, 16), 16, what, src);
  return w;
}
}  // namespace detail

/// The bytes `save_checkpoint` writes.
template <Checkpointable T>
std::vector<std::byte> checkpoint_bytes(T& trainer, const TrainingPosition& pos) {
  using NetT = detail::net_of<T>;
  auto tensors = to_tensors(trainer.net());
  const auto state = trainer.optimizer_state();
  tensors.push_back({"ctnn.optimizer_state", {state.size()}, std::vector<float>(state.begin(), state.end())});
  if (!pos.order.empty()) tensors.push_back({"ctnn.order", {pos.order.size()}, {}, pos.order});
  if constexpr (detail::CarriesState<T>) {
    const auto carried = trainer.carried_state();
    if (trainer.carrying_state() && !carried.empty())
      tensors.push_back({"ctnn.carried_state", {carried.size()}, std::vector<float>(carried.begin(), carried.end())});
  }
  std::map<std::string, std::string> meta;
  for (const auto& [k, v] : pos.extra) meta["extra." + k] = v;
  meta["ctnn.format_version"] = weights_format_version;
  meta["ctnn.checkpoint_version"] = checkpoint_version;
  meta["ctnn.network"] = net_name<NetT>();
  meta["ctnn.optimizer"] = ctnn::detail::pretty_type_name<detail::optimizer_of<T>>();
  meta["ctnn.state_layout"] = trainer.state_layout();
  meta["ctnn.steps"] = std::to_string(trainer.steps());
  meta["ctnn.epoch"] = std::to_string(pos.epoch);
  meta["ctnn.step_in_epoch"] = std::to_string(pos.step_in_epoch);
  meta["ctnn.rng"] = detail::rng_text(pos.rng);
  return encode_safetensors(tensors, meta);
}

/**
 * @brief Writes a checkpoint of `trainer` (weights, optimizer state and step count) and
 * `pos` to `path`, atomically: a crash or SIGKILL mid-write leaves the previous one whole.
 */
template <Checkpointable T>
void save_checkpoint(T& trainer, const TrainingPosition& pos, const std::string& path) {
  const auto bytes = checkpoint_bytes(trainer, pos);
  detail::write_file_atomic(path, bytes);
}

/// A checkpoint read and checked against a trainer, not yet applied (`commit`).
struct PreparedCheckpoint {
  std::vector<float> params, state;
  std::vector<float> carried;  ///< truncated BPTT's carried states (empty: none saved, start from zero)
  std::size_t steps = 0;
  TrainingPosition position;
  std::map<std::string, std::string> metadata;
};

/**
 * @brief Reads checkpoint bytes and checks them against `trainer` without changing it.
 * @throws ctnn::Error naming the source if they are corrupt, truncated, or from another
 * network, optimizer or state layout (e.g. another thread count).
 */
template <Checkpointable T>
PreparedCheckpoint prepare_checkpoint(T& trainer, std::span<const std::byte> bytes, const std::string& source) {
  using NetT = detail::net_of<T>;
  const auto file = SafetensorsView::parse(bytes, source);
  const auto& m = file.metadata();
  const std::string& version = detail::meta_str(m, "ctnn.checkpoint_version", source);
  if (version != checkpoint_version)
    ctnn::detail::raise("ctnn::io: checkpoint '" + source + "' has version " + version + ", this ctnn reads " +
                        checkpoint_version);
  auto expect = [&](const char* key, const std::string& want, const char* what) {
    const std::string& got = detail::meta_str(m, key, source);
    if (got != want)
      ctnn::detail::raise("ctnn::io: checkpoint '" + source + "' is for " + what + " " + got + ", not " + want);
  };
  expect("ctnn.network", net_name<NetT>(), "network");
  expect("ctnn.optimizer", ctnn::detail::pretty_type_name<detail::optimizer_of<T>>(), "optimizer");
  expect("ctnn.state_layout", trainer.state_layout(), "state layout");
  PreparedCheckpoint c;
  c.metadata = m;
  c.params = detail::params_from<NetT>(file);
  const std::size_t state_size = trainer.optimizer_state().size();
  const TensorEntry* st = file.find("ctnn.optimizer_state");
  if (st == nullptr || st->shape != std::vector<std::size_t>{state_size})
    ctnn::detail::raise("ctnn::io: checkpoint '" + source + "' lacks tensor 'ctnn.optimizer_state' of shape [" +
                        std::to_string(state_size) + "]");
  c.state.resize(state_size);
  file.read_floats(*st, c.state);
  if constexpr (detail::CarriesState<T>) {
    if (const TensorEntry* cs = file.find("ctnn.carried_state")) {
      const std::size_t n = trainer.carried_state().size();
      if (cs->shape != std::vector<std::size_t>{n})
        ctnn::detail::raise("ctnn::io: checkpoint '" + source + "': 'ctnn.carried_state' has shape " +
                            shape_string(cs->shape) + ", this trainer carries [" + std::to_string(n) + "]");
      c.carried.resize(n);
      file.read_floats(*cs, c.carried);
    }
  }
  TrainingPosition& pos = c.position;
  if (const TensorEntry* o = file.find("ctnn.order")) {
    if (o->shape.size() != 1) ctnn::detail::raise("ctnn::io: checkpoint '" + source + "': 'ctnn.order' is not a vector");
    pos.order.resize(o->shape[0]);
    file.read_u32(*o, pos.order);
  }
  c.steps = static_cast<std::size_t>(detail::meta_u64(m, "ctnn.steps", source));
  pos.epoch = detail::meta_u64(m, "ctnn.epoch", source);
  pos.step_in_epoch = detail::meta_u64(m, "ctnn.step_in_epoch", source);
  pos.rng = detail::parse_rng(detail::meta_str(m, "ctnn.rng", source), "'ctnn.rng'", source);
  for (const auto& [k, v] : m)
    if (k.starts_with("extra.")) pos.extra[k.substr(6)] = v;
  return c;
}

/// Applies a prepared checkpoint to the trainer it was prepared for; cannot fail.
template <Checkpointable T>
TrainingPosition commit_checkpoint(T& trainer, PreparedCheckpoint&& c) noexcept {
  std::copy(c.params.begin(), c.params.end(), trainer.net().params().begin());
  std::copy(c.state.begin(), c.state.end(), trainer.optimizer_state().begin());
  if constexpr (detail::CarriesState<T>) {
    if (c.carried.empty())
      std::fill(trainer.carried_state().begin(), trainer.carried_state().end(), 0.0f);
    else
      std::copy(c.carried.begin(), c.carried.end(), trainer.carried_state().begin());
  }
  trainer.restore_steps(c.steps);
  return std::move(c.position);
}

/**
 * @brief Restores `trainer` from checkpoint bytes and returns the position recorded with it.
 * @throws ctnn::Error naming the source if they are corrupt, truncated, or from another
 * network, optimizer or state layout (e.g. another thread count); `trainer` is then unchanged.
 */
template <Checkpointable T>
TrainingPosition load_checkpoint(T& trainer, std::span<const std::byte> bytes, const std::string& source) {
  return commit_checkpoint(trainer, prepare_checkpoint(trainer, bytes, source));
}

/// The bytes of the checkpoint file at `path`, bounded by what one for `trainer` can hold.
template <Checkpointable T>
std::vector<std::byte> read_checkpoint_file(T& trainer, const std::string& path) {
  using NetT = detail::net_of<T>;
  std::size_t carried = 0;
  if constexpr (detail::CarriesState<T>) carried = trainer.carried_state().size();
  return detail::read_file(
      path, 8 + max_header_bytes + 8 * (1 + trainer.optimizer_state().size() + NetT::param_count + carried) +
                (std::size_t{1} << 28),
      "checkpoint for this trainer");
}

/// `load_checkpoint` from the file at `path`.
template <Checkpointable T>
TrainingPosition load_checkpoint(T& trainer, const std::string& path) {
  const auto bytes = read_checkpoint_file(trainer, path);
  return load_checkpoint(trainer, std::span<const std::byte>(bytes), path);
}

}  // namespace io
CTNN_END_NAMESPACE
