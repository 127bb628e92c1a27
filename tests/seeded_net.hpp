// A network on the heap with its own initialisation plus a small seeded perturbation, so that
// biases are not zero (the sequence and stream tests share it).
#pragma once
#include <cstdint>
#include <ctnn/ctnn.hpp>
#include <memory>

namespace ctnn_test {
template <class N>
std::unique_ptr<N> seeded(std::uint64_t seed) {
  auto n = std::make_unique<N>();
  n->init(seed);
  ctnn::Rng rng(seed + 100);
  for (auto& v : n->params()) v += rng.uniform(0.05f);
  return n;
}
}  // namespace ctnn_test
