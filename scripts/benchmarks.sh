#!/usr/bin/env bash
# Runs the benchmark suite and regenerates docs/benchmarks.md and docs/benchmarks.png:
# ctnn_bench (ctnn, scalar, Eigen, OpenBLAS, FMA peak), the PyTorch peer, and ctnn's
# Fashion-MNIST epochs (MLP and CNN), all on this machine. The OpenBLAS and PyTorch peers run with
# OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset in their command alone, so they use their
# best kernels. Needs the build from scripts/test.sh (or any Release build in build/).
# GPU_OUT=DIR adds W8 from a GPU machine: the ctnn_gpu.json and torch_gpu.json that
# scripts/gpu_check.sh wrote there.
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${REPS:-5}
out=${OUT:-build/bench}
mkdir -p "$out"
cmake --build build --target ctnn_bench fashion_mnist_mlp fashion_mnist_cnn
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE build/benchmarks/ctnn_bench \
  --benchmark_repetitions="$reps" --benchmark_report_aggregates_only=true \
  --benchmark_out="$out/ctnn.json" --benchmark_out_format=json
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 benchmarks/pytorch_peer.py --out "$out/torch.json" --epochs 3
build/examples/fashion_mnist_mlp --optimizer sgd --epochs 3 --schedule constant | tee "$out/epoch.log"
sed -n 's/^result test_accuracy=\([0-9.]*\) epoch_seconds=\([0-9.]*\).*/{"accuracy": \1, "seconds": \2}/p' "$out/epoch.log" > "$out/epoch.json"
build/examples/fashion_mnist_mlp --optimizer sgd --epochs 3 --schedule constant --threads 2 | tee "$out/epoch_threads.log"
sed -n 's/^result test_accuracy=\([0-9.]*\) epoch_seconds=\([0-9.]*\).*/{"accuracy": \1, "seconds": \2}/p' "$out/epoch_threads.log" > "$out/epoch_threads.json"
build/examples/fashion_mnist_cnn --epochs 1 | tee "$out/cnn_epoch.log"
sed -n 's/^result test_accuracy=\([0-9.]*\) epoch_seconds=\([0-9.]*\).*/{"accuracy": \1, "seconds": \2}/p' "$out/cnn_epoch.log" > "$out/cnn_epoch.json"
/usr/bin/python3 benchmarks/compile_time.py --out "$out/compile.json" --runs "$reps"
/usr/bin/python3 benchmarks/report.py --ctnn "$out/ctnn.json" --torch "$out/torch.json" --epoch "$out/epoch.json" \
  --cnn-epoch "$out/cnn_epoch.json" --epoch-threads "$out/epoch_threads.json" \
  --extra "$out/compile.json" ${GPU_OUT:+"$GPU_OUT/ctnn_gpu.json" "$GPU_OUT/torch_gpu.json"} \
  --md docs/benchmarks.md --png docs/benchmarks.png --command "bash scripts/benchmarks.sh   # REPS=$reps"
