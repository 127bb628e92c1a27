#pragma once
/**
 * @file idx.hpp
 * @brief Reader for IDX files (the MNIST family's format), plain or gzip-compressed, from
 * a path or from bytes in memory.
 *
 * Needs zlib: link `ctnn::io`. Every failure throws `ctnn::Error` naming the file, the
 * byte offset (in the uncompressed stream, exact) and what was expected against what was
 * found. Memory grows only as data arrives, so a short file that declares a huge payload
 * costs what it holds, not what it declares.
 */
#include <zlib.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <span>
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

/// The most payload bytes `read_idx` accepts from a header (16 GiB).
inline constexpr std::size_t max_idx_payload = std::size_t{1} << 34;

namespace detail {

/**
 * @brief The bytes of a file or a buffer, inflated when they start with the gzip magic
 * (concatenated members too), with the exact uncompressed offset of every failure.
 */
class ByteStream {
 public:
  ByteStream(std::FILE* file, std::span<const std::byte> memory, std::string name)
      : file_(file), mem_(memory), name_(std::move(name)) {
    unsigned char magic[2];
    const std::size_t n = pull(magic, 2);
    pending_.assign(magic, magic + n);
    gz_ = n == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
    if (gz_ && inflateInit2(&zs_, 15 + 16) != Z_OK) ctnn::detail::raise("ctnn::io: zlib could not start for '" + name_ + "'");
  }
  ~ByteStream() {
    if (gz_) inflateEnd(&zs_);
  }
  ByteStream(const ByteStream&) = delete;
  ByteStream& operator=(const ByteStream&) = delete;

  const std::string& name() const noexcept { return name_; }
  std::size_t offset() const noexcept { return offset_; }

  /// Reads up to n bytes; fewer only at the end of the data. Raises if the stream is corrupt.
  std::size_t read(void* dst, std::size_t n) {
    auto* out = static_cast<unsigned char*>(dst);
    std::size_t got = 0;
    if (!gz_) {
      while (got < n && !pending_.empty()) {
        out[got++] = pending_.front();
        pending_.erase(pending_.begin());
      }
      got += pull(out + got, n - got);
      offset_ += got;
      return got;
    }
    while (got < n && !done_) {
      if (zs_.avail_in == 0) {
        std::size_t k = 0;
        for (; k < pending_.size(); ++k) in_[k] = pending_[k];
        pending_.clear();
        k += pull(in_ + k, sizeof in_ - k);
        zs_.next_in = in_;
        zs_.avail_in = static_cast<uInt>(k);
        if (k == 0) {
          if (started_member_)
            ctnn::detail::raise("ctnn::io: '" + name_ + "' is truncated: its gzip stream ends at byte " +
                                std::to_string(offset_ + got) + " of the uncompressed data, before its end marker");
          done_ = true;
          break;
        }
      }
      const std::size_t want = std::min<std::size_t>(n - got, 1u << 30);
      zs_.next_out = out + got;
      zs_.avail_out = static_cast<uInt>(want);
      started_member_ = true;
      const int rc = inflate(&zs_, Z_NO_FLUSH);
      got += want - zs_.avail_out;
      if (rc == Z_STREAM_END) {
        started_member_ = false;
        // Another member may follow (as gzip -c a b writes); anything else ends the data.
        if (zs_.avail_in == 0) {
          std::size_t k = pull(in_, sizeof in_);
          zs_.next_in = in_;
          zs_.avail_in = static_cast<uInt>(k);
        }
        if (zs_.avail_in >= 2 && zs_.next_in[0] == 0x1f && zs_.next_in[1] == 0x8b) {
          inflateReset(&zs_);
        } else {
          done_ = true;
        }
      } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
        ctnn::detail::raise("ctnn::io: '" + name_ + "' is corrupt at byte " + std::to_string(offset_ + got) +
                            " of the uncompressed data (compressed byte " + std::to_string(zs_.total_in) +
                            "): " + (zs_.msg ? zs_.msg : "zlib error " + std::to_string(rc)));
      } else if (rc == Z_BUF_ERROR && zs_.avail_in != 0 && zs_.avail_out != 0) {
        ctnn::detail::raise("ctnn::io: '" + name_ + "' is corrupt at byte " + std::to_string(offset_ + got) +
                            " of the uncompressed data: zlib made no progress");
      }
    }
    offset_ += got;
    return got;
  }

 private:
  std::size_t pull(void* dst, std::size_t n) {
    if (file_ != nullptr) {
      const std::size_t r = std::fread(dst, 1, n, file_);
      if (r < n && std::ferror(file_)) ctnn::detail::raise("ctnn::io: reading '" + name_ + "' failed");
      return r;
    }
    const std::size_t r = std::min(n, mem_.size() - mem_at_);
    if (r) std::memcpy(dst, mem_.data() + mem_at_, r);
    mem_at_ += r;
    return r;
  }

  std::FILE* file_ = nullptr;
  std::span<const std::byte> mem_;
  std::size_t mem_at_ = 0;
  std::string name_;
  std::vector<unsigned char> pending_;  // the bytes read to sniff the magic
  bool gz_ = false, done_ = false, started_member_ = false;
  z_stream zs_{};
  unsigned char in_[1 << 16];
  std::size_t offset_ = 0;
};

/// Reads exactly n bytes or raises with the file, offset and count found.
inline void read_exact(ByteStream& s, void* dst, std::size_t n) {
  const std::size_t at = s.offset();
  const std::size_t got = s.read(dst, n);
  if (got != n)
    ctnn::detail::raise("ctnn::io: '" + s.name() + "' is truncated: expected " + std::to_string(n) +
                        " bytes at offset " + std::to_string(at) + ", found " + std::to_string(got));
}

inline IdxData read_idx_stream(ByteStream& s, std::size_t expected_rank) {
  unsigned char magic[4];
  read_exact(s, magic, 4);
  const std::uint32_t found = (std::uint32_t{magic[0]} << 24) | (std::uint32_t{magic[1]} << 16) |
                              (std::uint32_t{magic[2]} << 8) | magic[3];
  const std::uint32_t expected = 0x0800u | static_cast<std::uint32_t>(expected_rank);
  if (found != expected) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "expected 0x%08X, found 0x%08X", expected, found);
    ctnn::detail::raise("ctnn::io: '" + s.name() + "' has a wrong magic number at offset 0: " + buf +
                        " (an IDX file of unsigned bytes with " + std::to_string(expected_rank) + " dimensions)");
  }
  IdxData out;
  std::size_t total = 1;
  for (std::size_t d = 0; d < expected_rank; ++d) {
    unsigned char b[4];
    read_exact(s, b, 4);
    const std::uint32_t v = (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) | b[3];
    out.dims.push_back(v);
    total = (v != 0 && total > max_idx_payload / v) ? max_idx_payload + 1 : total * v;
  }
  if (total > max_idx_payload)
    ctnn::detail::raise("ctnn::io: '" + s.name() + "' declares more than " + std::to_string(max_idx_payload) +
                        " bytes of data, more than ctnn reads");
  // Grow with the data actually read, a chunk at a time.
  const std::size_t start = s.offset();
  constexpr std::size_t chunk = std::size_t{1} << 20;
  while (out.data.size() < total) {
    const std::size_t old = out.data.size(), want = std::min(chunk, total - old);
    out.data.resize(old + want);
    const std::size_t got = s.read(out.data.data() + old, want);
    if (got != want)
      ctnn::detail::raise("ctnn::io: '" + s.name() + "' is truncated: expected " + std::to_string(total) +
                          " bytes at offset " + std::to_string(start) + ", found " + std::to_string(old + got));
  }
  unsigned char extra;
  if (s.read(&extra, 1) > 0)
    ctnn::detail::raise("ctnn::io: '" + s.name() + "' has bytes after the " + std::to_string(start + total) +
                        " its header declares");
  return out;
}

struct FileCloser {
  void operator()(std::FILE* f) const noexcept { std::fclose(f); }
};
}  // namespace detail

/**
 * @brief Reads an IDX file of unsigned bytes with `expected_rank` dimensions.
 * @throws ctnn::Error if the file is missing, its magic number is wrong, it is truncated
 * or corrupt, or bytes follow the data.
 */
inline IdxData read_idx(const std::string& path, std::size_t expected_rank) {
  if (!std::filesystem::exists(path)) ctnn::detail::raise("ctnn::io: cannot open '" + path + "': no such file");
  std::unique_ptr<std::FILE, detail::FileCloser> f(std::fopen(path.c_str(), "rb"));
  if (!f) ctnn::detail::raise("ctnn::io: cannot open '" + path + "'");
  detail::ByteStream s(f.get(), {}, path);
  return detail::read_idx_stream(s, expected_rank);
}

/// Reads IDX bytes held in memory (plain or gzip); `name` stands for the file in errors.
inline IdxData read_idx(std::span<const std::byte> bytes, std::size_t expected_rank, const std::string& name = "<memory>") {
  detail::ByteStream s(nullptr, bytes, name);
  return detail::read_idx_stream(s, expected_rank);
}

}  // namespace io
CTNN_END_NAMESPACE
