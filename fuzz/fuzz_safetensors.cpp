// libFuzzer harness for the safetensors reader: any bytes either load or raise ctnn::Error
// (never another exception, a crash or a sanitizer report), and a failed load leaves the
// network as it was.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

#include <ctnn/ctnn.hpp>
#include <ctnn/io/weights.hpp>

#include "fuzz_nets.hpp"

namespace {
template <class NetT>
void load_or_keep(NetT& net, std::span<const std::byte> bytes) {
  static NetT before;
  before = net;
  try {
    ctnn::io::load(net, bytes, "fuzz");
  } catch (const ctnn::Error&) {
    if (std::memcmp(net.params().data(), before.params().data(), NetT::param_count * sizeof(float)) != 0) std::abort();
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  // The format alone: parse, then convert every tensor the parse accepted.
  try {
    const auto view = ctnn::io::SafetensorsView::parse(bytes, "fuzz");
    std::vector<float> values;
    for (const auto& t : view.tensors()) {
      values.resize(t.elements());
      try {
        view.read_floats(t, values);
      } catch (const ctnn::Error&) {
      }
    }
  } catch (const ctnn::Error&) {
  }
  // Into networks: Dense, and Conv2D + Flatten + Dense (the layouts that permute).
  static fuzz_nets::Mlp mlp;
  static fuzz_nets::Cnn cnn;
  load_or_keep(mlp, bytes);
  load_or_keep(cnn, bytes);
  return 0;
}
