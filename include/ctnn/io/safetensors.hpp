#pragma once
/**
 * @file safetensors.hpp
 * @brief The safetensors format, independent of any network: parse and check a file's
 * bytes (`SafetensorsView`), convert a tensor to float, and write a file atomically.
 *
 * Layout: an 8-byte little-endian header length N, N bytes of JSON
 * `{"__metadata__": {str: str}, name: {"dtype", "shape", "data_offsets": [begin, end]}}`,
 * then the data, each tensor row-major and little-endian, offsets relative to the data's
 * start. The JSON goes through nlohmann-json (link `ctnn::io`).
 */
#include <nlohmann/json.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "../detail/raise.hpp"
#include "file.hpp"

CTNN_BEGIN_NAMESPACE
namespace io {

/// The largest JSON header ctnn reads (the reference implementation's limit too).
inline constexpr std::size_t max_header_bytes = 100'000'000;

/// The element types ctnn writes (it reads F32, F64, F16 and BF16).
enum class Dtype { F32, BF16 };

/// One tensor as the header describes it; `begin`/`end` are offsets in the data section.
struct TensorEntry {
  std::string name;
  std::string dtype;
  std::vector<std::size_t> shape;
  std::size_t begin = 0, end = 0;
  std::size_t elements() const noexcept {
    std::size_t n = 1;
    for (auto d : shape) n *= d;  // overflow ruled out by parse()
    return n;
  }
};

/// "[256, 784]": shapes in error messages.
inline std::string shape_string(std::span<const std::size_t> s) {
  std::string out = "[";
  for (std::size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

namespace detail {
/// Bytes per element of each safetensors dtype; 0 for an unknown name.
inline std::size_t dtype_size(std::string_view d) noexcept {
  if (d == "F64" || d == "I64" || d == "U64") return 8;
  if (d == "F32" || d == "I32" || d == "U32") return 4;
  if (d == "F16" || d == "BF16" || d == "I16" || d == "U16") return 2;
  if (d == "I8" || d == "U8" || d == "BOOL" || d == "F8_E4M3" || d == "F8_E5M2") return 1;
  return 0;
}

inline std::uint64_t load_le64(const std::byte* p) noexcept {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | std::to_integer<std::uint64_t>(p[i]);
  return v;
}
template <class U>
U load_le(const std::byte* p) noexcept {
  U v = 0;
  for (int i = int(sizeof(U)) - 1; i >= 0; --i) v = static_cast<U>((v << 8) | std::to_integer<U>(p[i]));
  return v;
}
template <class U>
void store_le(std::byte* p, U v) noexcept {
  for (std::size_t i = 0; i < sizeof(U); ++i) p[i] = static_cast<std::byte>((v >> (8 * i)) & 0xFF);
}

/// IEEE half to float, exactly (subnormals, infinities and NaN included).
inline float half_to_float(std::uint16_t h) noexcept {
  const std::uint32_t sign = std::uint32_t(h >> 15) << 31;
  const std::uint32_t exp = (h >> 10) & 0x1F, mant = h & 0x3FF;
  std::uint32_t bits;
  if (exp == 0x1F) {
    bits = sign | 0x7F800000u | (mant << 13);
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  } else {
    // zero or subnormal: mant * 2^-24, exact in float
    const float m = std::ldexp(static_cast<float>(mant), -24);
    return sign ? -m : m;
  }
  return std::bit_cast<float>(bits);
}

/// Float to bfloat16, rounding to nearest even; NaN stays NaN.
inline std::uint16_t float_to_bf16(float f) noexcept {
  const std::uint32_t b = std::bit_cast<std::uint32_t>(f);
  if (std::isnan(f)) return static_cast<std::uint16_t>((b >> 16) | 0x40);
  const std::uint32_t rounding = 0x7FFF + ((b >> 16) & 1);
  return static_cast<std::uint16_t>((b + rounding) >> 16);
}

inline std::size_t json_size(const nlohmann::ordered_json& j, const std::string& where) {
  if (!j.is_number_unsigned())
    ctnn::detail::raise(where + " must be a non-negative integer, found " + std::string(j.type_name()) + " " + j.dump());
  return j.get<std::size_t>();
}
}  // namespace detail

/**
 * @brief A checked view of a safetensors file held in memory (the caller owns the bytes).
 *
 * `parse` checks the whole structure before anything is read: the header length against
 * the size and the 100 MB limit, the JSON, duplicate names, every entry's fields, that
 * each tensor's byte count is its shape times its dtype's size, and that the tensors
 * tile the data section exactly (no range out of bounds, no overlap, no hole).
 */
class SafetensorsView {
 public:
  /// @param bytes the file's contents; @param source the name errors use (a path or "<memory>").
  /// With `check_data` false, `bytes` may end after the header (only names, shapes and metadata are read).
  static SafetensorsView parse(std::span<const std::byte> bytes, std::string source, bool check_data = true) {
    SafetensorsView v;
    v.source_ = std::move(source);
    const std::string& src = v.source_;
    if (bytes.size() < 8)
      ctnn::detail::raise("ctnn::io: '" + src + "' is truncated: " + std::to_string(bytes.size()) +
                          " bytes, but a safetensors file starts with an 8-byte header length");
    const std::uint64_t n = detail::load_le64(bytes.data());
    if (n > max_header_bytes)
      ctnn::detail::raise("ctnn::io: '" + src + "' declares a header of " + std::to_string(n) +
                          " bytes at offset 0, over the limit of " + std::to_string(max_header_bytes));
    if (n > bytes.size() - 8)
      ctnn::detail::raise("ctnn::io: '" + src + "' is truncated: its header length (" + std::to_string(n) +
                          " bytes at offset 0) runs past the end of the file (" + std::to_string(bytes.size()) +
                          " bytes)");
    const auto* text = reinterpret_cast<const char*>(bytes.data() + 8);
    v.data_ = bytes.subspan(8 + n);

    std::string duplicate, too_deep;
    std::vector<std::string> keys;
    const nlohmann::ordered_json::parser_callback_t cb = [&](int depth, nlohmann::ordered_json::parse_event_t ev,
                                                     nlohmann::ordered_json& parsed) {
      if (ev == nlohmann::ordered_json::parse_event_t::key && depth == 1) {
        auto key = parsed.get<std::string>();
        if (std::find(keys.begin(), keys.end(), key) != keys.end() && duplicate.empty()) duplicate = key;
        keys.push_back(std::move(key));
      }
      if ((ev == nlohmann::ordered_json::parse_event_t::object_start || ev == nlohmann::ordered_json::parse_event_t::array_start) &&
          depth > 3) {
        if (too_deep.empty()) too_deep = "nested deeper than a safetensors header can be";
        return false;
      }
      return true;
    };
    nlohmann::ordered_json header;
    std::string parse_error;
#if CTNN_HAS_EXCEPTIONS
    try {
      header = nlohmann::ordered_json::parse(text, text + n, cb);
    } catch (const nlohmann::ordered_json::exception& e) {
      parse_error = e.what();
    }
#else
    header = nlohmann::ordered_json::parse(text, text + n, cb, false);
    if (header.is_discarded()) parse_error = "syntax error";
#endif
    if (!parse_error.empty())
      ctnn::detail::raise("ctnn::io: '" + src + "' has an invalid JSON header (bytes 8 to " + std::to_string(8 + n) +
                          "): " + parse_error);
    if (!duplicate.empty())
      ctnn::detail::raise("ctnn::io: '" + src + "' names tensor '" + duplicate + "' twice in its header");
    if (!too_deep.empty()) ctnn::detail::raise("ctnn::io: '" + src + "' has a header " + too_deep);
    if (!header.is_object())
      ctnn::detail::raise("ctnn::io: '" + src + "' has a header that is a JSON " + header.type_name() +
                          ", expected an object of tensors");

    for (auto& [name, entry] : header.items()) {
      const std::string where = "ctnn::io: '" + src + "' tensor '" + name + "'";
      if (name == "__metadata__") {
        if (!entry.is_object()) ctnn::detail::raise("ctnn::io: '" + src + "' has a __metadata__ that is not an object");
        for (auto& [k, val] : entry.items()) {
          if (!val.is_string())
            ctnn::detail::raise("ctnn::io: '" + src + "' __metadata__ '" + k + "' is a " + val.type_name() +
                                ", expected a string");
          v.metadata_[k] = val.get<std::string>();
        }
        continue;
      }
      if (!entry.is_object()) ctnn::detail::raise(where + " is a JSON " + entry.type_name() + ", expected an object");
      for (auto& [k, val] : entry.items())
        if (k != "dtype" && k != "shape" && k != "data_offsets")
          ctnn::detail::raise(where + " has an unknown field '" + k + "'");
      if (!entry.contains("dtype") || !entry.contains("shape") || !entry.contains("data_offsets"))
        ctnn::detail::raise(where + " lacks one of dtype, shape and data_offsets");
      TensorEntry t;
      t.name = name;
      if (!entry["dtype"].is_string()) ctnn::detail::raise(where + ": dtype is not a string");
      t.dtype = entry["dtype"].get<std::string>();
      const std::size_t esize = detail::dtype_size(t.dtype);
      if (esize == 0) ctnn::detail::raise(where + " has an unknown dtype '" + t.dtype + "'");
      const auto& shape = entry["shape"];
      if (!shape.is_array()) ctnn::detail::raise(where + ": shape is not an array");
      std::size_t count = 1;
      bool overflow = false;
      for (const auto& d : shape) {
        const std::size_t e = detail::json_size(d, where + ": every shape extent");
        t.shape.push_back(e);
        if (e != 0 && count > std::numeric_limits<std::size_t>::max() / e) overflow = true;
        count *= e;
      }
      const auto& off = entry["data_offsets"];
      if (!off.is_array() || off.size() != 2) ctnn::detail::raise(where + ": data_offsets is not [begin, end]");
      t.begin = detail::json_size(off[0], where + ": data_offsets[0]");
      t.end = detail::json_size(off[1], where + ": data_offsets[1]");
      if (t.end < t.begin)
        ctnn::detail::raise(where + " has data_offsets [" + std::to_string(t.begin) + ", " + std::to_string(t.end) +
                            "] that end before they begin");
      if (check_data && t.end > v.data_.size())
        ctnn::detail::raise(where + " has data_offsets [" + std::to_string(t.begin) + ", " + std::to_string(t.end) +
                            "] out of range: the data section holds " + std::to_string(v.data_.size()) + " bytes");
      if (overflow || count > (t.end - t.begin) || count * esize != t.end - t.begin)
        ctnn::detail::raise(where + " holds " + std::to_string(t.end - t.begin) + " bytes, but shape " +
                            shape_string(t.shape) + " of " + t.dtype + " needs " +
                            (overflow ? std::string("more than can be addressed")
                                      : std::to_string(count * esize)));
      v.tensors_.push_back(std::move(t));
    }

    if (!check_data) return v;
    // The tensors must tile the data section: sorted by begin, each starts where the last ended.
    std::vector<const TensorEntry*> order;
    for (const auto& t : v.tensors_) order.push_back(&t);
    std::stable_sort(order.begin(), order.end(), [](auto* a, auto* b) {
      return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
    });
    std::size_t at = 0;
    const TensorEntry* prev = nullptr;
    for (const auto* t : order) {
      if (t->begin < at)
        ctnn::detail::raise("ctnn::io: '" + src + "' tensors '" + prev->name + "' and '" + t->name +
                            "' overlap (bytes " + std::to_string(t->begin) + " to " + std::to_string(at) +
                            " of the data section)");
      if (t->begin > at)
        ctnn::detail::raise("ctnn::io: '" + src + "' leaves a hole in its data section: bytes " + std::to_string(at) +
                            " to " + std::to_string(t->begin) + " belong to no tensor (before '" + t->name + "')");
      at = t->end;
      prev = t;
    }
    if (at != v.data_.size())
      ctnn::detail::raise("ctnn::io: '" + src + "' leaves a hole in its data section: bytes " + std::to_string(at) +
                          " to " + std::to_string(v.data_.size()) + " (the end of the file) belong to no tensor");
    return v;
  }

  const std::string& source() const noexcept { return source_; }
  /// The tensors in header order.
  const std::vector<TensorEntry>& tensors() const noexcept { return tensors_; }
  /// The `__metadata__` strings.
  const std::map<std::string, std::string>& metadata() const noexcept { return metadata_; }
  /// The tensor called `name`, or nullptr.
  const TensorEntry* find(std::string_view name) const noexcept {
    for (const auto& t : tensors_)
      if (t.name == name) return &t;
    return nullptr;
  }

  /**
   * @brief Converts tensor `t` (F32, F64, F16 or BF16) to float into `out` (its element count).
   * @throws ctnn::Error for another dtype, or an F64 value too large for a float.
   */
  void read_floats(const TensorEntry& t, std::span<float> out) const {
    const std::string where = "ctnn::io: '" + source_ + "' tensor '" + t.name + "'";
    if (out.size() != t.elements())
      ctnn::detail::raise(where + " holds " + std::to_string(t.elements()) + " values, expected " +
                          std::to_string(out.size()));
    const std::byte* p = data_.data() + t.begin;
    const std::size_t n = out.size();
    if (t.dtype == "F32") {
      for (std::size_t i = 0; i < n; ++i) out[i] = std::bit_cast<float>(detail::load_le<std::uint32_t>(p + 4 * i));
    } else if (t.dtype == "F64") {
      for (std::size_t i = 0; i < n; ++i) {
        const double d = std::bit_cast<double>(detail::load_le<std::uint64_t>(p + 8 * i));
        if (std::isfinite(d) && std::fabs(d) > double(std::numeric_limits<float>::max()))
          ctnn::detail::raise(where + " element " + std::to_string(i) + " (" + std::to_string(d) +
                              ") does not fit a float");
        out[i] = static_cast<float>(d);
      }
    } else if (t.dtype == "F16") {
      for (std::size_t i = 0; i < n; ++i) out[i] = detail::half_to_float(detail::load_le<std::uint16_t>(p + 2 * i));
    } else if (t.dtype == "BF16") {
      for (std::size_t i = 0; i < n; ++i)
        out[i] = std::bit_cast<float>(std::uint32_t{detail::load_le<std::uint16_t>(p + 2 * i)} << 16);
    } else {
      ctnn::detail::raise(where + " has dtype " + t.dtype + "; ctnn reads F32, F64, F16 and BF16");
    }
  }

  /// Reads a U32 tensor (e.g. a checkpoint's sample order) into `out` (its element count).
  void read_u32(const TensorEntry& t, std::span<std::uint32_t> out) const {
    const std::string where = "ctnn::io: '" + source_ + "' tensor '" + t.name + "'";
    if (t.dtype != "U32") ctnn::detail::raise(where + " has dtype " + t.dtype + ", expected U32");
    if (out.size() != t.elements())
      ctnn::detail::raise(where + " holds " + std::to_string(t.elements()) + " values, expected " +
                          std::to_string(out.size()));
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = detail::load_le<std::uint32_t>(data_.data() + t.begin + 4 * i);
  }

 private:
  std::string source_;
  std::span<const std::byte> data_;
  std::vector<TensorEntry> tensors_;
  std::map<std::string, std::string> metadata_;
};

/// A tensor to write: its name, its shape and its values (in the file's row-major order):
/// floats, or (with `indices` non-empty and `values` empty) unsigned 32-bit integers.
struct TensorToWrite {
  std::string name;
  std::vector<std::size_t> shape;
  std::vector<float> values;
  std::vector<std::uint32_t> indices{};
};

/**
 * @brief Serialises tensors and metadata into safetensors bytes (F32 or BF16), the
 * header padded with spaces to a multiple of 8 bytes, tensors in the order given.
 */
inline std::vector<std::byte> encode_safetensors(const std::vector<TensorToWrite>& tensors,
                                                 const std::map<std::string, std::string>& metadata,
                                                 Dtype dtype = Dtype::F32) {
  const std::size_t esize = dtype == Dtype::F32 ? 4 : 2;
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::size_t at = 0;
  for (const auto& t : tensors) {
    std::size_t count = 1;
    for (auto d : t.shape) count *= d;
    const bool u32 = !t.indices.empty();
    if (count != (u32 ? t.indices.size() : t.values.size()))
      ctnn::detail::raise("ctnn::io: tensor '" + t.name + "' has " + std::to_string(t.values.size()) +
                          " values for shape " + shape_string(t.shape));
    const std::size_t bytes = count * (u32 ? 4 : esize);
    header[t.name] = {{"dtype", u32 ? "U32" : dtype == Dtype::F32 ? "F32" : "BF16"},
                      {"shape", t.shape},
                      {"data_offsets", {at, at + bytes}}};
    at += bytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  std::vector<std::byte> out(8 + text.size() + at);
  detail::store_le<std::uint64_t>(out.data(), text.size());
  std::memcpy(out.data() + 8, text.data(), text.size());
  std::byte* p = out.data() + 8 + text.size();
  for (const auto& t : tensors) {
    for (std::uint32_t v : t.indices) {
      detail::store_le<std::uint32_t>(p, v);
      p += 4;
    }
    for (float f : t.values) {
      if (dtype == Dtype::F32) {
        detail::store_le<std::uint32_t>(p, std::bit_cast<std::uint32_t>(f));
        p += 4;
      } else {
        detail::store_le<std::uint16_t>(p, detail::float_to_bf16(f));
        p += 2;
      }
    }
  }
  return out;
}

}  // namespace io
CTNN_END_NAMESPACE
