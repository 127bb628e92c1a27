// Weight files: safetensors save/load, PyTorch names and layouts, every bad input a
// ctnn::Error that leaves the network unchanged, atomic saves under SIGKILL.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <ctnn/ctnn.hpp>
#include <ctnn/io.hpp>

#include "error_of.hpp"

using namespace ctnn;
namespace fs = std::filesystem;

using Mlp = Net<Input<784>, Dense<256>, ReLU, Dense<128>, ReLU, Dense<10>>;
using LeNet = Net<Input<1, 28, 28>, Conv2D<6, 5, 1, 2>, ReLU, MaxPool2D<2>, Conv2D<16, 5>, ReLU, MaxPool2D<2>,
                  Flatten, Dense<120>, ReLU, Dense<84>, ReLU, Dense<10>>;
using Tiny = Net<Input<3>, Dense<2>>;

namespace {

fs::path temp_dir() {
  static const fs::path dir = [] {
    auto d = fs::temp_directory_path() / ("ctnn_weights_" + std::to_string(::getpid()));
    fs::create_directories(d);
    return d;
  }();
  return dir;
}

std::vector<std::byte> file_bytes(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::vector<char> c((std::istreambuf_iterator<char>(f)), {});
  std::vector<std::byte> b(c.size());
  std::memcpy(b.data(), c.data(), c.size());
  return b;
}

/// A safetensors file from a header text and raw data (no checks: for bad inputs).
std::vector<std::byte> raw_file(const std::string& header, const std::vector<std::byte>& data, std::uint64_t n = ~0ull) {
  if (n == ~0ull) n = header.size();
  std::vector<std::byte> out(8);
  for (int i = 0; i < 8; ++i) out[i] = static_cast<std::byte>((n >> (8 * i)) & 0xFF);
  for (char c : header) out.push_back(static_cast<std::byte>(c));
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

template <class T>
std::vector<std::byte> le_bytes(const std::vector<T>& v) {
  std::vector<std::byte> b(v.size() * sizeof(T));
  std::memcpy(b.data(), v.data(), b.size());  // the test hosts are little-endian, like the format
  return b;
}

template <class NetT>
bool same_params(const NetT& a, const NetT& b) {
  return std::memcmp(a.params().data(), b.params().data(), NetT::param_count * sizeof(float)) == 0;
}

template <class NetT>
std::string load_error(NetT& net, const std::vector<std::byte>& bytes) {
  const NetT before = net;
  std::string msg;
  try {
    io::load(net, std::span<const std::byte>(bytes), "bad.safetensors");
  } catch (const Error& e) {
    msg = e.what();
  }
  EXPECT_TRUE(same_params(net, before)) << "a failed load changed the network";
  return msg;
}

// Tiny's two tensors (0.weight [2, 3], 0.bias [2]) as F32, with a header to edit.
const std::vector<float> tiny_w = {1, 2, 3, 4, 5, 6};
const std::vector<float> tiny_b = {0.5f, -0.5f};
std::vector<std::byte> tiny_data() {
  auto d = le_bytes(tiny_w);
  auto b = le_bytes(tiny_b);
  d.insert(d.end(), b.begin(), b.end());
  return d;
}
const std::string tiny_header =
    R"({"0.weight":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},)"
    R"("0.bias":{"dtype":"F32","shape":[2],"data_offsets":[24,32]}})";

}  // namespace

TEST(WeightNames, PyTorchSequentialNamesAndShapes) {
  const auto t = io::param_tensors<LeNet>();
  ASSERT_EQ(t.size(), 10u);
  EXPECT_EQ(t[0].name, "0.weight");
  EXPECT_EQ(t[0].shape, (std::vector<std::size_t>{6, 1, 5, 5}));
  EXPECT_EQ(t[2].name, "3.weight");
  EXPECT_EQ(t[2].shape, (std::vector<std::size_t>{16, 6, 5, 5}));
  EXPECT_EQ(t[4].name, "7.weight");  // Flatten is module 6, as in nn.Sequential
  EXPECT_EQ(t[4].shape, (std::vector<std::size_t>{120, 400}));
  EXPECT_EQ(t[9].name, "11.bias");
  EXPECT_EQ(t[9].shape, (std::vector<std::size_t>{10}));
  EXPECT_EQ(t[4].offset, LeNet::param_offsets[7]);
  EXPECT_EQ(net_name<LeNet>(),
            "ctnn::Net<ctnn::Input<1, 28, 28>, ctnn::Conv2D<6, 5, 1, 2>, ctnn::ReLU, ctnn::MaxPool2D<2, 2>, "
            "ctnn::Conv2D<16, 5, 1, 0>, ctnn::ReLU, ctnn::MaxPool2D<2, 2>, ctnn::Flatten, ctnn::Dense<120>, "
            "ctnn::ReLU, ctnn::Dense<84>, ctnn::ReLU, ctnn::Dense<10>>");
  EXPECT_EQ(layer_name<LeakyReLU>(), "ctnn::LeakyReLU");
  EXPECT_EQ(layer_name<Dropout<250>>(), "ctnn::Dropout<250>");
  EXPECT_EQ((layer_name<Conv2DRect<4, 3, 1, 1, 2, 1, 0>>()), "ctnn::Conv2DRect<4, 3, 1, 1, 2, 1, 0>");
}

TEST(Weights, SaveLoadRoundTripIsBitExact) {
  static Mlp a, b;
  a.init(init::HeUniform{}, 7);
  const auto path = (temp_dir() / "mlp.safetensors").string();
  io::save(a, path);
  io::load(b, path);
  EXPECT_TRUE(same_params(a, b));
  const auto meta = io::read_metadata(path);
  EXPECT_EQ(meta.at("ctnn.format_version"), "1");
  EXPECT_EQ(meta.at("ctnn.network"), net_name<Mlp>());
  // The header is padded to 8 bytes and the data is exactly the parameters in F32.
  const auto bytes = file_bytes(path);
  std::uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  EXPECT_EQ(n % 8, 0u);
  EXPECT_EQ(bytes.size(), 8 + n + Mlp::param_count * 4);

  static LeNet c, d;
  c.init(11);
  const auto mem = io::to_bytes(c);
  io::load(d, std::span<const std::byte>(mem));  // from memory: no file system needed
  EXPECT_TRUE(same_params(c, d));
}

TEST(Weights, DenseIsStoredOutByInAsPyTorchDoes) {
  Tiny net;
  io::load(net, raw_file(tiny_header, tiny_data()));
  // y = W x + b with W [out][in] = {{1,2,3},{4,5,6}}
  const std::array<float, 3> x{1.0f, -1.0f, 2.0f};
  const auto y = net.forward<backend::scalar>(x);
  EXPECT_FLOAT_EQ(y[0], 1 - 2 + 6 + 0.5f);
  EXPECT_FLOAT_EQ(y[1], 4 - 5 + 12 - 0.5f);
  // ctnn's own block is [in][out]
  EXPECT_EQ(net.params()[1], 4.0f);
  EXPECT_EQ(net.params()[2], 2.0f);
  // and it saves back in PyTorch's order
  const auto out = io::SafetensorsView::parse(io::to_bytes(net), "x");
  std::vector<float> w(6);
  out.read_floats(*out.find("0.weight"), w);
  EXPECT_EQ(w, tiny_w);
}

// A Conv2D over 2 channels and a Dense after Flatten, in PyTorch's [C][H][W] order: ctnn
// (channels-last) must compute the same function PyTorch does with the same tensors.
TEST(Weights, ConvAndFlattenLayoutsMatchPyTorchOrder) {
  constexpr std::size_t C = 2, H = 4, W = 5, O = 3, K = 3, P = 1, OH = 4, OW = 5, F = 2;
  using Cnn = Net<Input<C, H, W>, Conv2D<O, K, 1, P>, Flatten, Dense<F>>;
  std::mt19937 gen(3);
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<float> cw(O * C * K * K), cb(O), dw(F * O * OH * OW), db(F), x_chw(C * H * W);
  for (auto* v : {&cw, &cb, &dw, &db, &x_chw})
    for (auto& e : *v) e = u(gen);
  io::TensorToWrite t0{"0.weight", {O, C, K, K}, cw}, t1{"0.bias", {O}, cb}, t2{"2.weight", {F, O * OH * OW}, dw},
      t3{"2.bias", {F}, db};
  Cnn net;
  io::load(net, io::encode_safetensors({t0, t1, t2, t3}, {}));

  // PyTorch's function, in double, [C][H][W] everywhere.
  std::vector<double> conv(O * OH * OW);
  for (std::size_t o = 0; o < O; ++o)
    for (std::size_t i = 0; i < OH; ++i)
      for (std::size_t j = 0; j < OW; ++j) {
        double s = cb[o];
        for (std::size_t c = 0; c < C; ++c)
          for (std::size_t a = 0; a < K; ++a)
            for (std::size_t b = 0; b < K; ++b) {
              const long r = long(i + a) - long(P), q = long(j + b) - long(P);
              if (r < 0 || q < 0 || r >= long(H) || q >= long(W)) continue;
              s += double(cw[((o * C + c) * K + a) * K + b]) * x_chw[(c * H + r) * W + q];
            }
        conv[(o * OH + i) * OW + j] = s;
      }
  std::array<double, F> ref{};
  for (std::size_t f = 0; f < F; ++f) {
    ref[f] = db[f];
    for (std::size_t k = 0; k < conv.size(); ++k) ref[f] += double(dw[f * conv.size() + k]) * conv[k];
  }
  std::array<float, C * H * W> x_hwc;
  for (std::size_t c = 0; c < C; ++c)
    for (std::size_t h = 0; h < H; ++h)
      for (std::size_t w = 0; w < W; ++w) x_hwc[(h * W + w) * C + c] = x_chw[(c * H + h) * W + w];
  const auto y = net.forward<backend::scalar>(x_hwc);
  for (std::size_t f = 0; f < F; ++f) EXPECT_NEAR(y[f], ref[f], 1e-4) << f;

  // Saving gives back the PyTorch tensors exactly.
  const auto bytes = io::to_bytes(net);
  const auto view = io::SafetensorsView::parse(bytes, "x");
  std::vector<float> back(dw.size());
  view.read_floats(*view.find("2.weight"), back);
  EXPECT_EQ(back, dw);
  back.resize(cw.size());
  view.read_floats(*view.find("0.weight"), back);
  EXPECT_EQ(back, cw);
}

TEST(Weights, ReadsF64F16AndBF16) {
  Tiny net;
  // F64 weight, F16 bias
  const std::vector<double> w64 = {1, 2, 3, 4, 5, 6.25};
  const std::vector<std::uint16_t> b16 = {0x3C00 /*1*/, 0x0001 /*2^-24*/};
  auto data = le_bytes(w64);
  auto b = le_bytes(b16);
  data.insert(data.end(), b.begin(), b.end());
  io::load(net, raw_file(R"({"0.weight":{"dtype":"F64","shape":[2,3],"data_offsets":[0,48]},)"
                         R"("0.bias":{"dtype":"F16","shape":[2],"data_offsets":[48,52]}})",
                         data));
  EXPECT_EQ(net.params()[5], 6.25f);
  EXPECT_EQ(net.params()[6], 1.0f);
  EXPECT_EQ(net.params()[7], std::ldexp(1.0f, -24));

  const std::vector<std::uint16_t> wb = {0x3F80 /*1*/, 0xC020 /*-2.5*/, 0x7F80 /*inf*/, 0, 0x8000, 0x4040 /*3*/};
  const std::vector<std::uint16_t> bh = {0x7BFF /*65504*/, 0xC100 /*-2.5*/};
  data = le_bytes(wb);
  b = le_bytes(bh);
  data.insert(data.end(), b.begin(), b.end());
  io::load(net, raw_file(R"({"0.weight":{"dtype":"BF16","shape":[2,3],"data_offsets":[0,12]},)"
                         R"("0.bias":{"dtype":"F16","shape":[2],"data_offsets":[12,16]}})",
                         data));
  EXPECT_EQ(net.params()[0], 1.0f);    // W[0][0]
  EXPECT_EQ(net.params()[2], -2.5f);   // W[0][1] is torch [0][1]
  EXPECT_TRUE(std::isinf(net.params()[4]));
  EXPECT_EQ(net.params()[6], 65504.0f);
  EXPECT_EQ(net.params()[7], -2.5f);
}

TEST(Weights, SavesBF16OnRequest) {
  static Mlp a, b;
  a.init(3);
  const auto bytes = io::to_bytes(a, {.dtype = io::Dtype::BF16});
  EXPECT_LT(bytes.size(), Mlp::param_count * 2 + 2048);
  io::load(b, std::span<const std::byte>(bytes));
  for (std::size_t i = 0; i < Mlp::param_count; ++i)
    ASSERT_NEAR(b.params()[i], a.params()[i], std::fabs(a.params()[i]) / 256 + 1e-30) << i;
}

TEST(WeightErrors, MissingFileNamesThePath) {
  Tiny net;
  net.init(1);
  const Tiny before = net;
  const std::string m = error_of([&] { io::load(net, (temp_dir() / "nope.safetensors").string()); });
  EXPECT_NE(m.find("nope.safetensors"), std::string::npos) << m;
  EXPECT_NE(m.find("No such file"), std::string::npos) << m;
  EXPECT_TRUE(same_params(net, before));
}

TEST(WeightErrors, EachBadInputIsAClearErrorAndChangesNothing) {
  Tiny net;
  net.init(5);
  const auto good = raw_file(tiny_header, tiny_data());
  ASSERT_NO_THROW(io::load(net, std::span<const std::byte>(good)));  // the control is valid
  net.init(5);
  auto expect = [&](const std::vector<std::byte>& bytes, std::vector<std::string> parts) {
    const std::string msg = load_error(net, bytes);
    EXPECT_FALSE(msg.empty()) << "accepted: " << parts[0];
    EXPECT_NE(msg.find("bad.safetensors"), std::string::npos) << msg;
    for (const auto& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
  };
  const auto data = tiny_data();
  auto hdr = [&](std::string h) { return raw_file(h, data); };

  expect({good.begin(), good.begin() + 5}, {"truncated", "8-byte header length"});
  expect({good.begin(), good.end() - 4}, {"'0.bias'", "out of range", "28 bytes"});
  expect(raw_file(tiny_header, data, 5000), {"truncated", "header length (5000", "runs past the end"});
  expect(raw_file(tiny_header, data, 200'000'000), {"header of 200000000 bytes", "over the limit"});
  expect(hdr(R"({"0.weight":{"dtype":"F32",)"), {"invalid JSON header"});
  expect(hdr("[1, 2]"), {"JSON array", "expected an object"});
  expect(hdr(R"({"0.weight":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},)"
             R"("0.weight":{"dtype":"F32","shape":[2],"data_offsets":[24,32]}})"),
         {"names tensor '0.weight' twice"});
  expect(raw_file(R"({"0.weight":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}})",
                  {data.begin(), data.begin() + 24}),
         {"tensor '0.bias'", "[2]", "is missing", "0.weight"});
  {
    auto d = data;
    d.resize(36);
    expect(raw_file(tiny_header.substr(0, tiny_header.size() - 1) +
                        R"(,"9.weight":{"dtype":"F32","shape":[1],"data_offsets":[32,36]}})",
                    d),
           {"holds tensor '9.weight'", "does not have", "expects 0.weight, 0.bias"});
  }
  expect(hdr(R"({"0.weight":{"dtype":"F32","shape":[3,2],"data_offsets":[0,24]},)"
             R"("0.bias":{"dtype":"F32","shape":[2],"data_offsets":[24,32]}})"),
         {"'0.weight' has shape [3, 2], expected [2, 3]", "layer 0", "ctnn::Dense<2>"});
  expect(hdr(R"({"0.weight":{"dtype":"I32","shape":[2,3],"data_offsets":[0,24]},)"
             R"("0.bias":{"dtype":"F32","shape":[2],"data_offsets":[24,32]}})"),
         {"'0.weight' has dtype I32", "F32, F64, F16 and BF16"});
  expect(hdr(R"({"0.weight":{"dtype":"Q7","shape":[2,3],"data_offsets":[0,24]},)"
             R"("0.bias":{"dtype":"F32","shape":[2],"data_offsets":[24,32]}})"),
         {"'0.weight' has an unknown dtype 'Q7'"});
  expect(hdr(R"({"0.weight":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},)"
             R"("0.bias":{"dtype":"F32","shape":[2],"data_offsets":[24,40]}})"),
         {"'0.bias'", "[24, 40] out of range", "32 bytes"});
  expect(hdr(R"({"0.weight":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},)"
             R"("0.bias":{"dtype":"F32","shape":[2],"data_offsets":[20,28]}})"),
         {"overlap", "'0.weight'", "'0.bias'"});
  expect(hdr(R"({"0.weight":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},)"
             R"("0.bias":{"dtype":"F32","shape":[1],"data_offsets":[28,32]}})"),
         {"hole", "bytes 24 to 28"});
  expect(hdr(R"({"0.weight":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},)"
             R"("0.bias":{"dtype":"F32","shape":[1],"data_offsets":[24,28]}})"),
         {"hole", "bytes 28 to 32"});
  expect(hdr(R"({"0.weight":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]},)"
             R"("0.bias":{"dtype":"F32","shape":[2],"data_offsets":[20,32]}})"),
         {"'0.weight' holds 20 bytes", "shape [2, 3] of F32 needs 24"});
  expect(hdr(R"({"0.weight":{"dtype":"F32","shape":[2,-3],"data_offsets":[0,24]},)"
             R"("0.bias":{"dtype":"F32","shape":[2],"data_offsets":[24,32]}})"),
         {"shape extent must be a non-negative integer"});
  expect(hdr(R"({"0.weight":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,24]},)"
             R"("0.bias":{"dtype":"F32","shape":[2],"data_offsets":[24,32]}})"),
         {"more than can be addressed"});
  expect(hdr(R"({"__metadata__":{"ctnn.network":"ctnn::Net<ctnn::Input<4>, ctnn::Dense<2>>"},)"
             R"("0.weight":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"x":{"dtype":"F32","shape":[2],"data_offsets":[24,32]}})"),
         {"holds tensor 'x'", "the file was saved from ctnn::Net<ctnn::Input<4>, ctnn::Dense<2>>"});
  expect(hdr(R"({"__metadata__":{"a":1},)" + tiny_header.substr(1)), {"__metadata__ 'a' is a number"});
  {
    const std::vector<double> w64 = {1e300, 0, 0, 0, 0, 0};
    auto d = le_bytes(w64);
    auto b = le_bytes(tiny_b);
    d.insert(d.end(), b.begin(), b.end());
    expect(raw_file(R"({"0.weight":{"dtype":"F64","shape":[2,3],"data_offsets":[0,48]},)"
                    R"("0.bias":{"dtype":"F32","shape":[2],"data_offsets":[48,56]}})",
                    d),
           {"'0.weight' element 0", "does not fit a float"});
  }
  // A file cut anywhere is an error, never a crash or a partial load.
  for (std::size_t cut = 0; cut < good.size(); ++cut) EXPECT_FALSE(load_error(net, {good.begin(), good.begin() + cut}).empty()) << cut;
}

TEST(WeightErrors, OversizedFileIsRefusedBeforeReading) {
  const auto path = temp_dir() / "big.safetensors";
  {
    std::ofstream f(path, std::ios::binary);
    f.seekp(600'000'000);
    f.put('x');
  }
  Tiny net;
  const std::string m = error_of([&] { io::load(net, path.string()); });
  EXPECT_NE(m.find("more than any safetensors file for this network can be"), std::string::npos) << m;
  fs::remove(path);
}

TEST(WeightErrors, UnwritablePathIsAClearError) {
  Tiny net;
  const std::string m = error_of([&] { io::save(net, (temp_dir() / "no_such_dir" / "w.safetensors").string()); });
  EXPECT_NE(m.find("cannot write"), std::string::npos) << m;
  EXPECT_NE(m.find("no_such_dir"), std::string::npos) << m;
}

// A child process saves two different networks to the same path in turn and is killed
// with SIGKILL at random moments; the file on disk must always be one of the two, whole.
TEST(WeightsAtomic, SigkillDuringSaveLeavesAWholeFile) {
  static Mlp a, b, got;
  a.init(1);
  b.init(2);
  const auto path = (temp_dir() / "atomic.safetensors").string();
  io::save(a, path);
  std::mt19937 gen(42);
  for (int round = 0; round < 24; ++round) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      for (int k = 0;; ++k) io::save(k % 2 ? a : b, path);
    }
    ::usleep(static_cast<useconds_t>(2000 + gen() % 30000));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status));
    ASSERT_NO_THROW(io::load(got, path)) << "round " << round;
    const bool is_a = same_params(got, a), is_b = same_params(got, b);
    ASSERT_TRUE(is_a || is_b) << "round " << round;
  }
  // Leftover temporary files are the only trace a kill leaves; they never replace the target.
  for (const auto& e : fs::directory_iterator(temp_dir()))
    if (e.path().filename().string().starts_with(".atomic.safetensors.tmp.")) fs::remove(e.path());
}

TEST(WeightsHeader, TextIsExactAndNamed) {
  Tiny net;
  io::load(net, raw_file(tiny_header, tiny_data()));
  const std::string h = io::header_text(net, "tiny_weights");
  EXPECT_NE(h.find("namespace tiny_weights {"), std::string::npos);
  EXPECT_NE(h.find("inline constexpr std::size_t param_count = 8;"), std::string::npos);
  EXPECT_NE(h.find("0x1p+0f, 0x1p+2f, 0x1p+1f, 0x1.4p+2f"), std::string::npos) << h;  // [in][out]
  EXPECT_NE(h.find("ctnn::Net<ctnn::Input<3>, ctnn::Dense<2>>"), std::string::npos);
  EXPECT_THROW(io::header_text(net, "9lives"), Error);
  EXPECT_THROW(io::header_text(net, "a-b"), Error);
}

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  const int rc = RUN_ALL_TESTS();
  fs::remove_all(temp_dir());
  return rc;
}
