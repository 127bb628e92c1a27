#!/usr/bin/env bash
# The main job: installs the dependencies, builds the Fashion-MNIST example in Release,
# and trains it; the last line printed is
#   result test_accuracy=... epoch_seconds=... infer_batch1_ns=...
# Extra arguments go to the example (e.g. --optimizer sgd --epochs 5).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCTNN_BUILD_TESTS=OFF -DCTNN_BUILD_BENCHMARKS=OFF "${launcher[@]}"
cmake --build build-release --target fashion_mnist_mlp
./build-release/examples/fashion_mnist_mlp "$@"
