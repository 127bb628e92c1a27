// The IDX reader and the Fashion-MNIST loader, against files the tests write.
#include <gtest/gtest.h>
#include <zlib.h>

#include <ctnn/io/fashion_mnist.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <new>
#include <random>
#include <string>
#include <vector>

#include <sys/resource.h>

// The process's peak resident memory in KiB.
static long peak_rss_kib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

using namespace ctnn;
namespace fs = std::filesystem;

namespace {
std::vector<unsigned char> be32(std::uint32_t v) {
  return {static_cast<unsigned char>(v >> 24), static_cast<unsigned char>(v >> 16), static_cast<unsigned char>(v >> 8),
          static_cast<unsigned char>(v)};
}
std::vector<unsigned char> idx_bytes(std::uint32_t magic, std::vector<std::uint32_t> dims, std::size_t payload,
                                     unsigned char fill = 7) {
  std::vector<unsigned char> b = be32(magic);
  for (auto d : dims) {
    auto e = be32(d);
    b.insert(b.end(), e.begin(), e.end());
  }
  for (std::size_t k = 0; k < payload; ++k) b.push_back(static_cast<unsigned char>(fill + k % 3));
  return b;
}
void write_gz(const fs::path& p, const std::vector<unsigned char>& b) {
  gzFile f = gzopen(p.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(gzwrite(f, b.data(), static_cast<unsigned>(b.size())), static_cast<int>(b.size()));
  gzclose(f);
}
void write_raw(const fs::path& p, const std::vector<unsigned char>& b) {
  std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

class Idx : public testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("ctnn_idx_" + std::to_string(::getpid()) + "_" +
                                       testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  void TearDown() override { fs::remove_all(dir); }
  // A complete tiny data set: n_train/n_test images of 28x28 and matching labels.
  void write_dataset(std::uint32_t n_img, std::uint32_t n_lbl) {
    for (const char* split : {"train", "t10k"}) {
      write_gz(dir / (std::string(split) + "-images-idx3-ubyte.gz"), idx_bytes(0x803, {n_img, 28, 28}, n_img * 784u));
      write_gz(dir / (std::string(split) + "-labels-idx1-ubyte.gz"), idx_bytes(0x801, {n_lbl}, n_lbl, 1));
    }
  }
  std::string message_of(auto f) {
    try {
      f();
    } catch (const Error& e) {
      return e.what();
    }
    return "<no error>";
  }
  fs::path dir;
};
}  // namespace

TEST_F(Idx, ReadsGzipAndPlain) {
  write_gz(dir / "a.gz", idx_bytes(0x803, {2, 3, 4}, 24));
  write_raw(dir / "b", idx_bytes(0x803, {2, 3, 4}, 24));
  for (const char* name : {"a.gz", "b"}) {
    const auto d = io::read_idx((dir / name).string(), 3);
    EXPECT_EQ(d.dims, (std::vector<std::uint32_t>{2, 3, 4}));
    ASSERT_EQ(d.data.size(), 24u);
    EXPECT_EQ(d.data[0], 7);
    EXPECT_EQ(d.data[4], 8);
  }
}

TEST_F(Idx, MissingFile) {
  const auto m = message_of([&] { io::read_idx((dir / "nope.gz").string(), 1); });
  EXPECT_NE(m.find("cannot open"), std::string::npos) << m;
  EXPECT_NE(m.find("nope.gz"), std::string::npos) << m;
}

TEST_F(Idx, WrongMagic) {
  write_gz(dir / "m.gz", idx_bytes(0x801, {5}, 5));
  const auto m = message_of([&] { io::read_idx((dir / "m.gz").string(), 3); });
  EXPECT_NE(m.find("wrong magic number"), std::string::npos) << m;
  EXPECT_NE(m.find("expected 0x00000803, found 0x00000801"), std::string::npos) << m;
}

TEST_F(Idx, TruncatedPayloadAndHeader) {
  write_gz(dir / "t.gz", idx_bytes(0x801, {10}, 6));
  auto m = message_of([&] { io::read_idx((dir / "t.gz").string(), 1); });
  EXPECT_NE(m.find("truncated: expected 10 bytes at offset 8, found 6"), std::string::npos) << m;
  write_raw(dir / "h", {0, 0, 8, 3, 0, 0});
  m = message_of([&] { io::read_idx((dir / "h").string(), 3); });
  EXPECT_NE(m.find("truncated"), std::string::npos) << m;
}

TEST_F(Idx, CorruptCompressedStream) {
  write_gz(dir / "c.gz", idx_bytes(0x801, {4000}, 4000));
  std::vector<char> bytes(fs::file_size(dir / "c.gz"));
  std::ifstream(dir / "c.gz", std::ios::binary).read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  for (std::size_t k = 12; k < bytes.size() - 8; k += 3) bytes[k] = static_cast<char>(bytes[k] ^ 0x5A);
  std::ofstream(dir / "c.gz", std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  const auto m = message_of([&] { io::read_idx((dir / "c.gz").string(), 1); });
  EXPECT_TRUE(m.find("corrupt") != std::string::npos || m.find("truncated") != std::string::npos) << m;
}

TEST_F(Idx, TrailingBytes) {
  write_gz(dir / "x.gz", idx_bytes(0x801, {3}, 5));
  const auto m = message_of([&] { io::read_idx((dir / "x.gz").string(), 1); });
  EXPECT_NE(m.find("bytes after"), std::string::npos) << m;
}

TEST_F(Idx, LoadsADataSet) {
  write_dataset(5, 5);
  const auto d = io::load_fashion_mnist(dir.string());
  EXPECT_EQ(d.train.count, 5u);
  EXPECT_EQ(d.test.images.size(), 5u * 784);
  EXPECT_FLOAT_EQ(d.train.images[1], 8.0f / 255.0f);
  EXPECT_EQ(d.train.labels[2], 3);
}

TEST_F(Idx, MismatchedImageAndLabelCounts) {
  write_dataset(5, 4);
  const auto m = message_of([&] { io::load_fashion_mnist(dir.string()); });
  EXPECT_NE(m.find("holds 5 images but"), std::string::npos) << m;
  EXPECT_NE(m.find("holds 4 labels"), std::string::npos) << m;
}

TEST_F(Idx, MissingDirectoryAndMissingSplit) {
  auto m = message_of([&] { io::load_fashion_mnist((dir / "absent").string()); });
  EXPECT_NE(m.find("does not exist"), std::string::npos) << m;
  write_dataset(2, 2);
  fs::remove(dir / "t10k-labels-idx1-ubyte.gz");
  m = message_of([&] { io::load_fashion_mnist(dir.string()); });
  EXPECT_NE(m.find("t10k-labels-idx1-ubyte"), std::string::npos) << m;
}

TEST_F(Idx, LabelOutOfRange) {
  write_dataset(3, 3);
  write_gz(dir / "train-labels-idx1-ubyte.gz", idx_bytes(0x801, {3}, 3, 9));
  const auto m = message_of([&] { io::load_fashion_mnist(dir.string()); });
  EXPECT_NE(m.find("expected 0..9"), std::string::npos) << m;
}

TEST_F(Idx, AShortFileDeclaringHugeDataAllocatesWhatItHolds) {
  write_raw(dir / "huge", idx_bytes(0x803, {60000, 60000, 4}, 4));  // declares 14.4 GB, holds 4 bytes
  const long before = peak_rss_kib();
  const auto m = message_of([&] { io::read_idx((dir / "huge").string(), 3); });
  EXPECT_NE(m.find("truncated: expected 14400000000 bytes at offset 16, found 4"), std::string::npos) << m;
  EXPECT_LT(peak_rss_kib() - before, 64 * 1024);  // a 1 MiB chunk, not the 14.4 GB declared
  const auto m2 = message_of([&] { io::read_idx((dir / "huge").string(), 2); });
  EXPECT_NE(m2.find("wrong magic number"), std::string::npos) << m2;
}

TEST_F(Idx, CorruptionInTheMiddleIsReportedWhereReadingFailed) {
  // Random bytes from 16 values: Huffman-coded at about half size, so damage in the middle of
  // the compressed stream is found in the middle of the data (stored blocks would only fail
  // their checksum at the end).
  std::vector<unsigned char> b = idx_bytes(0x801, {200000}, 0);
  std::mt19937 gen(1);
  for (int k = 0; k < 200000; ++k) b.push_back(static_cast<unsigned char>(gen() % 16));
  write_gz(dir / "m.gz", b);
  std::vector<char> bytes(fs::file_size(dir / "m.gz"));
  std::ifstream(dir / "m.gz", std::ios::binary).read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  const std::size_t mid = bytes.size() / 2;
  for (std::size_t k = mid; k < mid + 400; ++k) bytes[k] = static_cast<char>(bytes[k] ^ 0xA5);
  std::ofstream(dir / "m.gz", std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  const auto m = message_of([&] { io::read_idx((dir / "m.gz").string(), 1); });
  const auto at = m.find("corrupt at byte ");
  ASSERT_NE(at, std::string::npos) << m;
  const long offset = std::stol(m.substr(at + 16));
  EXPECT_GT(offset, 50000) << m;  // near where the damage is, not "at byte 16"
  std::printf("%s\n", m.c_str());
  EXPECT_LT(offset, 150000) << m;
}

TEST_F(Idx, ReadsFromMemoryAsFromAFile) {
  const auto plain = idx_bytes(0x803, {2, 3, 4}, 24);
  write_gz(dir / "a.gz", plain);
  std::vector<char> gz(fs::file_size(dir / "a.gz"));
  std::ifstream(dir / "a.gz", std::ios::binary).read(gz.data(), static_cast<std::streamsize>(gz.size()));
  for (const auto* src : {reinterpret_cast<const std::byte*>(plain.data()), reinterpret_cast<const std::byte*>(gz.data())}) {
    const std::size_t n = src == reinterpret_cast<const std::byte*>(plain.data()) ? plain.size() : gz.size();
    const auto d = io::read_idx(std::span<const std::byte>(src, n), 3, "mem");
    EXPECT_EQ(d.dims, (std::vector<std::uint32_t>{2, 3, 4}));
    EXPECT_EQ(d.data, io::read_idx((dir / "a.gz").string(), 3).data);
  }
  const auto m = message_of([&] { io::read_idx(std::span<const std::byte>(), 1, "empty-buffer"); });
  EXPECT_NE(m.find("'empty-buffer' is truncated: expected 4 bytes at offset 0, found 0"), std::string::npos) << m;
}
