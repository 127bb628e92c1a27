// libFuzzer harness for the IDX reader (plain and gzip): any bytes either read or raise
// ctnn::Error; memory stays bounded by what the input holds (libFuzzer's -rss_limit_mb).
#include <cstddef>
#include <cstdint>
#include <span>

#include <ctnn/io/idx.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  for (std::size_t rank : {1u, 3u}) {
    try {
      const auto d = ctnn::io::read_idx(bytes, rank, "fuzz");
      std::size_t total = 1;
      for (auto v : d.dims) total *= v;
      if (d.dims.size() != rank || d.data.size() != total) __builtin_trap();
    } catch (const ctnn::Error&) {
    }
  }
  return 0;
}
