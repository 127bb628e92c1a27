#pragma once
/**
 * @file idx.hpp
 * @brief Reader for IDX files (the MNIST family's format), plain or gzip-compressed.
 *
 * Needs zlib: link `ctnn::io`. Every failure throws `ctnn::Error` naming the file, the
 * byte offset and what was expected against what was found.
 */
#include <zlib.h>

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "../detail/raise.hpp"

CTNN_BEGIN_NAMESPACE
namespace io {

/// The contents of an IDX file of unsigned bytes (type code 0x08).
struct IdxData {
  std::vector<std::uint32_t> dims;  ///< extents, outermost first (dims[0] = item count)
  std::vector<std::uint8_t> data;   ///< product(dims) bytes, row-major
};

namespace detail {
struct gz_closer {
  void operator()(gzFile f) const noexcept { gzclose(f); }
};

/// Reads exactly n bytes or raises with the file, offset and count found.
inline void read_exact(gzFile f, const std::string& path, void* dst, std::size_t n, std::size_t& offset) {
  auto* out = static_cast<unsigned char*>(dst);
  std::size_t got = 0;
  while (got < n) {
    const auto chunk = static_cast<unsigned>(std::min<std::size_t>(n - got, 1u << 30));
    const int r = gzread(f, out + got, chunk);
    if (r < 0) {
      int code = 0;
      const char* msg = gzerror(f, &code);
      ctnn::detail::raise("ctnn::io: '" + path + "' is corrupt at byte " + std::to_string(offset + got) + ": " +
                          (msg ? msg : "unknown zlib error"));
    }
    if (r == 0)
      ctnn::detail::raise("ctnn::io: '" + path + "' is truncated: expected " + std::to_string(n) +
                          " bytes at offset " + std::to_string(offset) + ", found " + std::to_string(got));
    got += static_cast<std::size_t>(r);
  }
  offset += n;
}
}  // namespace detail

/**
 * @brief Reads an IDX file of unsigned bytes with `expected_rank` dimensions.
 * @throws ctnn::Error if the file is missing, its magic number is wrong, it is truncated
 * or corrupt, or bytes follow the data.
 */
inline IdxData read_idx(const std::string& path, std::size_t expected_rank) {
  if (!std::filesystem::exists(path)) ctnn::detail::raise("ctnn::io: cannot open '" + path + "': no such file");
  std::unique_ptr<gzFile_s, detail::gz_closer> f(gzopen(path.c_str(), "rb"));
  if (!f) ctnn::detail::raise("ctnn::io: cannot open '" + path + "'");
  std::size_t offset = 0;
  unsigned char magic[4];
  detail::read_exact(f.get(), path, magic, 4, offset);
  const std::uint32_t found = (std::uint32_t{magic[0]} << 24) | (std::uint32_t{magic[1]} << 16) |
                              (std::uint32_t{magic[2]} << 8) | magic[3];
  const std::uint32_t expected = 0x0800u | static_cast<std::uint32_t>(expected_rank);
  if (found != expected) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "expected 0x%08X, found 0x%08X", expected, found);
    ctnn::detail::raise("ctnn::io: '" + path + "' has a wrong magic number at offset 0: " + buf +
                        " (an IDX file of unsigned bytes with " + std::to_string(expected_rank) + " dimensions)");
  }
  IdxData out;
  std::size_t total = 1;
  for (std::size_t d = 0; d < expected_rank; ++d) {
    unsigned char b[4];
    detail::read_exact(f.get(), path, b, 4, offset);
    const std::uint32_t v = (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) | b[3];
    out.dims.push_back(v);
    total *= v;
  }
  if (total > (std::size_t{1} << 34))
    ctnn::detail::raise("ctnn::io: '" + path + "' declares " + std::to_string(total) + " bytes, more than ctnn reads");
  out.data.resize(total);
  detail::read_exact(f.get(), path, out.data.data(), total, offset);
  unsigned char extra;
  if (gzread(f.get(), &extra, 1) > 0)
    ctnn::detail::raise("ctnn::io: '" + path + "' has bytes after the " + std::to_string(offset) +
                        " its header declares");
  return out;
}

}  // namespace io
CTNN_END_NAMESPACE
