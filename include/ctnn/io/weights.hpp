#pragma once
/**
 * @file weights.hpp
 * @brief `ctnn::io::save(net, path)` and `ctnn::io::load(net, path | bytes)`: a network's
 * parameters as a safetensors file with the names, shapes and layouts of the equivalent
 * PyTorch `nn.Sequential`'s `state_dict()`, so files PyTorch writes load as they are.
 *
 * Loading checks everything first and commits last: on any error the network is unchanged.
 */
#include <algorithm>
#include <cstddef>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "file.hpp"
#include "safetensors.hpp"
#include "state_dict.hpp"

CTNN_BEGIN_NAMESPACE
namespace io {

/// The version of ctnn's weight-file conventions, recorded as `ctnn.format_version`.
inline constexpr const char* weights_format_version = "1";

/// Options for `save`.
struct SaveOptions {
  Dtype dtype = Dtype::F32;                     ///< F32 (exact) or BF16 (half the bytes)
  std::map<std::string, std::string> metadata{};  ///< extra `__metadata__` entries
};

/// The tensors of `net` in PyTorch's names, shapes and layouts.
template <class NetT>
std::vector<TensorToWrite> to_tensors(const NetT& net) {
  std::vector<TensorToWrite> out;
  const auto p = net.params();
  for_each_param_tensor<NetT>([&](const ParamTensor& t, auto to_file) {
    TensorToWrite w{t.name, t.shape, std::vector<float>(t.count)};
    for (std::size_t k = 0; k < t.count; ++k) w.values[to_file(k)] = p[t.offset + k];
    out.push_back(std::move(w));
  });
  return out;
}

/// The safetensors bytes `save` writes.
template <class NetT>
std::vector<std::byte> to_bytes(const NetT& net, const SaveOptions& opt = {}) {
  auto meta = opt.metadata;
  meta.insert_or_assign("ctnn.format_version", std::string(weights_format_version));
  meta["ctnn.network"] = net_name<NetT>();
  return encode_safetensors(to_tensors(net), meta, opt.dtype);
}

/**
 * @brief Writes `net`'s parameters to `path` as safetensors, atomically (temporary file,
 * fsync, rename): a crash mid-save leaves the previous file intact.
 * @throws ctnn::Error naming the path if it cannot be written.
 */
template <class NetT>
void save(const NetT& net, const std::string& path, const SaveOptions& opt = {}) {
  const auto bytes = to_bytes(net, opt);
  detail::write_file_atomic(path, bytes);
}

namespace detail {
inline std::string list_names(const std::vector<std::string>& names) {
  std::string s;
  for (std::size_t i = 0; i < names.size() && i < 12; ++i) s += (i ? ", " : "") + names[i];
  if (names.size() > 12) s += ", ... (" + std::to_string(names.size()) + " in all)";
  return s.empty() ? "none" : s;
}

/// Checks `file` against `NetT` and converts it into a flat parameter block.
template <class NetT>
std::vector<float> params_from(const SafetensorsView& file) {
  const std::string& src = file.source();
  std::string saved_from;
  if (auto it = file.metadata().find("ctnn.network"); it != file.metadata().end() && it->second != net_name<NetT>())
    saved_from = " (the file was saved from " + it->second + ")";
  std::vector<std::string> expected, present;
  for (const auto& t : file.tensors())
    if (!t.name.starts_with("ctnn."))  // a checkpoint's own tensors: not weights
      present.push_back(t.name);
  for_each_param_tensor<NetT>([&](const ParamTensor& t, auto) { expected.push_back(t.name); });
  for (const auto& name : present)
    if (std::find(expected.begin(), expected.end(), name) == expected.end())
      ctnn::detail::raise("ctnn::io: '" + src + "' holds tensor '" + name + "', which " + net_name<NetT>() +
                          " does not have; it expects " + list_names(expected) + saved_from);
  std::vector<float> params(NetT::param_count);
  std::vector<float> scratch;
  for_each_param_tensor<NetT>([&](const ParamTensor& t, auto to_file) {
    const std::string where = "ctnn::io: '" + src + "' tensor '" + t.name + "'";
    const TensorEntry* e = file.find(t.name);
    if (e == nullptr)
      ctnn::detail::raise(where + " (" + shape_string(t.shape) + ", layer " + std::to_string(t.layer) + ", " +
                          t.layer_name + ") is missing; the file holds " + list_names(present) + saved_from);
    if (e->shape != t.shape)
      ctnn::detail::raise(where + " has shape " + shape_string(e->shape) + ", expected " + shape_string(t.shape) +
                          " for layer " + std::to_string(t.layer) + " (" + t.layer_name + ")" + saved_from);
    scratch.resize(t.count);
    file.read_floats(*e, scratch);
    for (std::size_t k = 0; k < t.count; ++k) params[t.offset + k] = scratch[to_file(k)];
  });
  return params;
}
}  // namespace detail

/**
 * @brief Loads `net`'s parameters from safetensors bytes (for targets without a file
 * system); `source` names them in errors.
 * @throws ctnn::Error for any malformed, mismatched or unsupported content; `net` is then unchanged.
 */
template <class NetT>
void load(NetT& net, std::span<const std::byte> bytes, const std::string& source = "<memory>") {
  const auto file = SafetensorsView::parse(bytes, source);
  const auto params = detail::params_from<NetT>(file);
  std::copy(params.begin(), params.end(), net.params().begin());
}

/**
 * @brief Loads `net`'s parameters from the safetensors file at `path` (F32, F64, F16 or
 * BF16; PyTorch names and layouts). Tensors named `ctnn.*` (a checkpoint's optimizer state
 * and position) are not weights and are passed over, so a checkpoint loads as weights too.
 * @throws ctnn::Error naming the file and the tensor for a missing, truncated, corrupt or
 * mismatched file; `net` is then unchanged.
 */
template <class NetT>
void load(NetT& net, const std::string& path) {
  // A valid file is a header (at most max_header_bytes), at most 8 bytes a parameter, and, in
  // a checkpoint, the optimizer state (a few blocks of parameters) and the sample order.
  const auto bytes = detail::read_file(path, 8 + max_header_bytes + 32 * NetT::param_count + (std::size_t{1} << 28),
                                       "safetensors file for this network");
  load(net, std::span<const std::byte>(bytes), path);
}

/// The `__metadata__` of the safetensors file at `path` (reads and checks the header only).
inline std::map<std::string, std::string> read_metadata(const std::string& path) {
  detail::Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) ctnn::detail::raise("ctnn::io: cannot open '" + path + "': " + detail::errno_text());
  std::vector<std::byte> head(8);
  head.resize(detail::read_up_to(f.fd, head.data(), 8, path));
  if (head.size() == 8) {
    const std::uint64_t n = std::min<std::uint64_t>(detail::load_le64(head.data()), max_header_bytes + 1);
    head.resize(8 + n);
    head.resize(8 + detail::read_up_to(f.fd, head.data() + 8, n, path));
  }
  return SafetensorsView::parse(head, path, /*check_data=*/false).metadata();
}

}  // namespace io
CTNN_END_NAMESPACE
