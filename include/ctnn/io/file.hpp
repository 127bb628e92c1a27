#pragma once
/**
 * @file file.hpp
 * @brief Whole-file reads bounded by a size limit, and atomic writes (a temporary file
 * in the same directory, flushed and fsynced, then renamed over the target), so a crash
 * mid-write leaves the previous file intact. POSIX.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "../detail/raise.hpp"

CTNN_BEGIN_NAMESPACE
namespace io {
namespace detail {

inline std::string errno_text() { return std::strerror(errno); }

/// Closes a descriptor on scope exit.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

/// Reads up to n bytes from `fd` at `dst` (fewer only at the end of the file).
inline std::size_t read_up_to(int fd, std::byte* dst, std::size_t n, const std::string& path) {
  std::size_t got = 0;
  while (got < n) {
    const ssize_t r = ::read(fd, dst + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) ctnn::detail::raise("ctnn::io: reading '" + path + "' failed at byte " + std::to_string(got) + ": " + errno_text());
    if (r == 0) break;
    got += static_cast<std::size_t>(r);
  }
  return got;
}

/**
 * @brief Reads the whole of `path`.
 * @throws ctnn::Error if it is missing, not a regular file, larger than `limit` bytes,
 * or a read fails.
 */
inline std::vector<std::byte> read_file(const std::string& path, std::size_t limit, const char* what) {
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) ctnn::detail::raise("ctnn::io: cannot open '" + path + "': " + errno_text());
  struct stat st {};
  if (::fstat(f.fd, &st) != 0 || !S_ISREG(st.st_mode))
    ctnn::detail::raise("ctnn::io: '" + path + "' is not a regular file");
  const auto size = static_cast<std::size_t>(st.st_size);
  if (size > limit)
    ctnn::detail::raise("ctnn::io: '" + path + "' is " + std::to_string(size) + " bytes, more than any " + what +
                        " can be (" + std::to_string(limit) + ")");
  std::vector<std::byte> out(size);
  out.resize(read_up_to(f.fd, out.data(), size, path));  // a file that shrank holds what was read
  return out;
}

/**
 * @brief Writes `bytes` to `path` atomically: a temporary file next to it is written,
 * fsynced and renamed over `path`, and the directory is fsynced. On any failure the
 * temporary file is removed and `path` is untouched.
 */
inline void write_file_atomic(const std::string& path, std::span<const std::byte> bytes) {
  const std::filesystem::path target(path);
  const std::filesystem::path dir = target.has_parent_path() ? target.parent_path() : std::filesystem::path(".");
  std::string tmp = (dir / ("." + target.filename().string() + ".tmp.XXXXXX")).string();
  Fd f{::mkstemp(tmp.data())};
  if (f.fd < 0)
    ctnn::detail::raise("ctnn::io: cannot write '" + path + "': cannot create a temporary file in '" + dir.string() +
                        "': " + errno_text());
  auto fail = [&](const std::string& step) {
    const std::string why = errno_text();
    ::unlink(tmp.c_str());
    ctnn::detail::raise("ctnn::io: cannot write '" + path + "': " + step + " failed: " + why +
                        " (the previous file, if any, is unchanged)");
  };
  std::size_t put = 0;
  while (put < bytes.size()) {
    const ssize_t w = ::write(f.fd, bytes.data() + put, bytes.size() - put);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) fail("write");
    put += static_cast<std::size_t>(w);
  }
  if (::fchmod(f.fd, 0644) != 0) fail("chmod");
  if (::fsync(f.fd) != 0) fail("fsync");
  if (::close(std::exchange(f.fd, -1)) != 0) fail("close");
  if (::rename(tmp.c_str(), path.c_str()) != 0) fail("rename");
  Fd d{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (d.fd >= 0) ::fsync(d.fd);  // make the rename durable; a directory that cannot be opened still got it
}

}  // namespace detail
}  // namespace io
CTNN_END_NAMESPACE
