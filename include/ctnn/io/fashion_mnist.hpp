#pragma once
/**
 * @file fashion_mnist.hpp
 * @brief Loads Fashion-MNIST (or MNIST) from a directory of IDX files.
 */
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "idx.hpp"

CTNN_BEGIN_NAMESPACE
namespace io {

/// Where Debian's dataset-fashion-mnist package puts the files.
inline constexpr const char* default_fashion_mnist_dir = "/usr/share/datasets/fashion-mnist";

/// Images as floats in [0, 1], one 28·28 row per sample, and labels 0..9.
struct LabelledImages {
  std::vector<float> images;
  std::vector<std::uint8_t> labels;
  std::size_t count = 0;
  static constexpr std::size_t rows = 28, cols = 28, pixels = rows * cols;
};

struct FashionMnist {
  LabelledImages train, test;
};

namespace detail {
inline std::string pick(const std::filesystem::path& dir, const std::string& stem) {
  for (const char* suffix : {".gz", ""}) {
    const auto p = dir / (stem + suffix);
    if (std::filesystem::exists(p)) return p.string();
  }
  return (dir / (stem + ".gz")).string();  // missing: read_idx reports it
}

inline LabelledImages load_split(const std::filesystem::path& dir, const std::string& prefix) {
  const auto img_path = pick(dir, prefix + "-images-idx3-ubyte");
  const auto lbl_path = pick(dir, prefix + "-labels-idx1-ubyte");
  const IdxData img = read_idx(img_path, 3);
  const IdxData lbl = read_idx(lbl_path, 1);
  if (img.dims[1] != LabelledImages::rows || img.dims[2] != LabelledImages::cols)
    ctnn::detail::raise("ctnn::io: '" + img_path + "' holds " + std::to_string(img.dims[1]) + "x" +
                        std::to_string(img.dims[2]) + " images, expected 28x28");
  if (img.dims[0] != lbl.dims[0])
    ctnn::detail::raise("ctnn::io: '" + img_path + "' holds " + std::to_string(img.dims[0]) + " images but '" +
                        lbl_path + "' holds " + std::to_string(lbl.dims[0]) + " labels");
  LabelledImages out;
  out.count = img.dims[0];
  out.images.resize(img.data.size());
  for (std::size_t k = 0; k < img.data.size(); ++k) out.images[k] = static_cast<float>(img.data[k]) / 255.0f;
  out.labels = lbl.data;
  for (std::size_t k = 0; k < out.labels.size(); ++k)
    if (out.labels[k] > 9)
      ctnn::detail::raise("ctnn::io: '" + lbl_path + "' label " + std::to_string(k) + " (offset " +
                          std::to_string(8 + k) + ") is " + std::to_string(out.labels[k]) + ", expected 0..9");
  return out;
}
}  // namespace detail

/**
 * @brief Loads the training and test splits from `dir` (files `train-images-idx3-ubyte[.gz]`,
 * `train-labels-idx1-ubyte[.gz]`, `t10k-...`).
 * @throws ctnn::Error naming the file for a missing directory or file, wrong magic,
 * truncated data, bad geometry or mismatched image and label counts.
 */
inline FashionMnist load_fashion_mnist(const std::string& dir = default_fashion_mnist_dir) {
  if (!std::filesystem::is_directory(dir))
    ctnn::detail::raise("ctnn::io: data set directory '" + dir +
                        "' does not exist (on Debian: apt-get install dataset-fashion-mnist)");
  return {detail::load_split(dir, "train"), detail::load_split(dir, "t10k")};
}

}  // namespace io
CTNN_END_NAMESPACE
