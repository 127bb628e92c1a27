#!/usr/bin/env bash
# The main job: installs the dependencies, builds the Fashion-MNIST example in Release,
# and trains it; the last line printed is
#   result test_accuracy=... epoch_seconds=... infer_batch1_ns=...
# Extra arguments go to the example (e.g. --optimizer sgd --epochs 5). Only the training
# units those arguments need are compiled (one batch size, optimizer and backend), so the
# build takes seconds; tests/ and scripts/test.sh build every configuration.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
batch=64 optimizer=Adam backend=native threads=OFF
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  next="${args[i + 1]:-}"
  case "${args[i]}" in
    --batch) batch="$next" ;;
    --batch=*) batch="${args[i]#*=}" ;;
    --optimizer) [ "$next" = sgd ] && optimizer=SGD || optimizer=Adam ;;
    --optimizer=*) [ "${args[i]#*=}" = sgd ] && optimizer=SGD || optimizer=Adam ;;
    --backend) [ "$next" = scalar ] && backend=scalar || backend=native ;;
    --backend=*) [ "${args[i]#*=}" = scalar ] && backend=scalar || backend=native ;;
    --threads | --threads=* | --data-parallel) threads=ON ;;
  esac
done
launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCTNN_BUILD_TESTS=OFF -DCTNN_BUILD_BENCHMARKS=OFF -DCTNN_WITH_CUDA=OFF "${launcher[@]}" \
  -DCTNN_EXAMPLE_BATCHES="$batch" -DCTNN_EXAMPLE_OPTIMIZERS="$optimizer" -DCTNN_EXAMPLE_BACKENDS="$backend" \
  -DCTNN_EXAMPLE_THREADS="$threads" >/dev/null
cmake --build build-release --target fashion_mnist_mlp
./build-release/examples/fashion_mnist_mlp "$@"
