#pragma once
/**
 * @file summary.hpp
 * @brief `ctnn::summary<Net>()`: a table of the layers (name, output shape, parameters,
 * forward FLOPs, activation bytes) with totals, like Keras' `summary()` or torchinfo.
 * Print it with `<<` or `.str()`.
 */
#include <cstddef>
#include <cstdio>
#include <ostream>
#include <string>
#include <vector>

#include "names.hpp"

CTNN_BEGIN_NAMESPACE

/// One row of a summary.
struct LayerSummary {
  std::size_t index;             ///< position after Input (= the nn.Sequential index)
  std::string name;              ///< e.g. "ctnn::Dense<256>"
  std::string output_shape;      ///< of one sample, e.g. "[6, 28, 28]"
  std::size_t params;            ///< trainable parameters
  std::size_t flops;             ///< forward floating-point operations per sample
  std::size_t activation_bytes;  ///< the layer's output per sample
};

/// The summary of a network; `batch` sizes the training figures.
struct Summary {
  std::string network;
  std::string input_shape;
  std::vector<LayerSummary> layers;
  std::size_t params = 0, param_bytes = 0, flops = 0, activation_bytes = 0;
  std::size_t batch = 0;
  std::size_t training_bytes = 0;  ///< activations, output and gradient buffers of one batch

  /// The table as text.
  std::string str() const {
    auto group = [](std::size_t v) {  // 1234567 -> "1,234,567"
      const std::string d = std::to_string(v);
      std::string s;
      for (std::size_t i = 0; i < d.size(); ++i) {
        if (i != 0 && (d.size() - i) % 3 == 0) s += ',';
        s += d[i];
      }
      return s;
    };
    auto bytes = [](std::size_t b) {
      char buf[32];
      if (b < 1024) std::snprintf(buf, sizeof buf, "%zu B", b);
      else if (b < 1024 * 1024) std::snprintf(buf, sizeof buf, "%.1f KiB", double(b) / 1024);
      else std::snprintf(buf, sizeof buf, "%.2f MiB", double(b) / (1024 * 1024));
      return std::string(buf);
    };
    std::size_t w = 5;
    for (const auto& l : layers) w = std::max(w, l.name.size());
    auto pad = [](std::string s, std::size_t n, bool right = false) {
      if (s.size() < n) s = right ? std::string(n - s.size(), ' ') + s : s + std::string(n - s.size(), ' ');
      return s;
    };
    std::string out = network + "\n";
    const std::string head = pad("#", 3, true) + "  " + pad("layer", w) + "  " + pad("output", 14) + "  " +
                             pad("params", 11, true) + "  " + pad("FLOPs", 13, true) + "  " +
                             pad("activations", 11, true);
    const std::string rule(head.size(), '-');
    out += head + "\n" + rule + "\n";
    out += pad("", 3) + "  " + pad("input", w) + "  " + input_shape + "\n";
    for (const auto& l : layers)
      out += pad(std::to_string(l.index), 3, true) + "  " + pad(l.name, w) + "  " + pad(l.output_shape, 14) + "  " +
             pad(group(l.params), 11, true) + "  " + pad(group(l.flops), 13, true) + "  " +
             pad(bytes(l.activation_bytes), 11, true) + "\n";
    out += rule + "\n";
    out += "parameters " + group(params) + " (" + bytes(param_bytes) + "); forward " + group(flops) +
           " FLOPs and " + bytes(activation_bytes) + " of activations per sample\n";
    out += "training at batch " + std::to_string(batch) + ": " + bytes(training_bytes) +
           " of activations and scratch, plus gradients (" + bytes(param_bytes) +
           ") and optimizer state (SGD with momentum " + bytes(param_bytes) + ", Adam " + bytes(2 * param_bytes) +
           ")\n";
    return out;
  }
  friend std::ostream& operator<<(std::ostream& os, const Summary& s) { return os << s.str(); }
};

namespace detail {
template <class S>
std::string shape_text() {
  return [&]<std::size_t... I>(std::index_sequence<I...>) {
    std::string s = "[";
    ((s += (I ? ", " : "") + std::to_string(S::dims[I])), ...);
    return s + "]";
  }(std::make_index_sequence<S::rank>{});
}
}  // namespace detail

/**
 * @brief The summary of `NetT`, with training figures for a batch of `batch`.
 * `std::cout << ctnn::summary<Mlp>();`
 */
template <class NetT>
Summary summary(std::size_t batch = 64) {
  Summary s;
  s.network = net_name<NetT>();
  s.input_shape = detail::shape_text<typename NetT::input_shape_t>();
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (s.layers.push_back({I, layer_name<typename NetT::template layer<I>::tag>(),
                         detail::shape_text<typename NetT::template layer<I>::output_shape>(),
                         NetT::param_sizes[I], NetT::template layer<I>::flops,
                         NetT::activation_sizes[I] * sizeof(float)}),
     ...);
  }(std::make_index_sequence<NetT::layer_count>{});
  s.params = NetT::param_count;
  s.param_bytes = NetT::param_count * sizeof(float);
  s.flops = NetT::flops_forward;
  // The layers' outputs; a training pass also keeps saved values (a recurrent layer's gates),
  // counted in training_bytes.
  for (std::size_t a : NetT::activation_sizes) s.activation_bytes += a * sizeof(float);
  s.batch = batch;
  s.training_bytes = NetT::template training_workspace_bytes<1> * batch;  // linear in the batch
  return s;
}

CTNN_END_NAMESPACE
