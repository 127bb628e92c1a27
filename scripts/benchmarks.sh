#!/usr/bin/env bash
# Runs the benchmark suite and regenerates docs/benchmarks.md and docs/benchmarks.png:
# ctnn_bench (ctnn, scalar, Eigen, OpenBLAS, FMA peak), the PyTorch peer, and ctnn's
# Fashion-MNIST epochs (MLP and CNN), all on this machine. The OpenBLAS and PyTorch peers run with
# OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset in their command alone, so they use their
# best kernels. Needs the build from scripts/test.sh (or any Release build in build/).
# GPU_OUT=DIR adds W8 from a GPU machine: the ctnn_gpu.json and torch_gpu.json that
# scripts/gpu_check.sh wrote there. On a machine with AVX-512, ctnn_bench is also built with
# SECOND_ARCH (default -march=x86-64-v3: AVX2 and FMA) in build-second and reported in a section
# of its own, so the page shows both instruction sets; SECOND_ARCH= (empty) skips it.
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
# ONNX Runtime (float and its dynamic int8 quantization) from PyPI, pinned in
# benchmarks/requirements.txt, in a virtual environment that also sees Debian's PyTorch.
if ! .venv-bench/bin/python -c "import onnxruntime, onnx" 2>/dev/null; then
  /usr/bin/python3 -m venv --system-site-packages .venv-bench
  .venv-bench/bin/pip install --quiet --disable-pip-version-check -r benchmarks/requirements.txt
fi
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv-bench/bin/python benchmarks/onnxruntime_peer.py --out "$out/onnxruntime.json"
build/examples/fashion_mnist_mlp --optimizer sgd --epochs 3 --schedule constant | tee "$out/epoch.log"
sed -n 's/^result test_accuracy=\([0-9.]*\) epoch_seconds=\([0-9.]*\).*/{"accuracy": \1, "seconds": \2}/p' "$out/epoch.log" > "$out/epoch.json"
sed -n 's/^reduced precision.* bf16_test_accuracy=\([0-9.]*\) .* int8_test_accuracy=\([0-9.]*\) .*/{"bf16": \1, "int8": \2}/p' "$out/epoch.log" > "$out/reduced.json"
build/examples/fashion_mnist_mlp --optimizer sgd --epochs 3 --schedule constant --threads 2 | tee "$out/epoch_threads.log"
sed -n 's/^result test_accuracy=\([0-9.]*\) epoch_seconds=\([0-9.]*\).*/{"accuracy": \1, "seconds": \2}/p' "$out/epoch_threads.log" > "$out/epoch_threads.json"
build/examples/fashion_mnist_cnn --epochs 1 | tee "$out/cnn_epoch.log"
sed -n 's/^result test_accuracy=\([0-9.]*\) epoch_seconds=\([0-9.]*\).*/{"accuracy": \1, "seconds": \2}/p' "$out/cnn_epoch.log" > "$out/cnn_epoch.json"
second=()
if grep -qw avx512f /proc/cpuinfo && [ -n "${SECOND_ARCH-"-march=x86-64-v3"}" ]; then
  cmake -S . -B build-second -G Ninja -DCMAKE_BUILD_TYPE=Release -DCTNN_ARCH_FLAGS="${SECOND_ARCH-"-march=x86-64-v3"}" \
    -DCTNN_BUILD_TESTS=OFF -DCTNN_BUILD_EXAMPLES=OFF -DCTNN_WITH_CUDA=OFF
  cmake --build build-second --target ctnn_bench
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE build-second/benchmarks/ctnn_bench --benchmark_filter='^(W[0-9]|peak)' \
    --benchmark_repetitions="$reps" --benchmark_report_aggregates_only=true \
    --benchmark_out="$out/ctnn_second.json" --benchmark_out_format=json
  second=(--ctnn-second "$out/ctnn_second.json")
fi
/usr/bin/python3 benchmarks/compile_time.py --out "$out/compile.json" --runs "$reps"
/usr/bin/python3 benchmarks/report.py --ctnn "$out/ctnn.json" --torch "$out/torch.json" --epoch "$out/epoch.json" --reduced "$out/reduced.json" \
  --cnn-epoch "$out/cnn_epoch.json" --epoch-threads "$out/epoch_threads.json" \
  --extra "$out/compile.json" "$out/onnxruntime.json" ${GPU_OUT:+"$GPU_OUT/ctnn_gpu.json" "$GPU_OUT/torch_gpu.json"} \
  "${second[@]}" --md docs/benchmarks.md --png docs/benchmarks.png --command "bash scripts/benchmarks.sh   # REPS=$reps"
