#!/usr/bin/env bash
# On a machine with an NVIDIA GPU, nvcc, CMake, ninja and PyTorch (no package manager):
# builds the CUDA tests and benchmarks against what scripts/gpu_bundle.sh gathered in
# .carry/gpu, runs them, and writes the logs and JSON to $OUT (default build-gpu/out):
# machine.txt, build.txt (configure, build and test_cuda_spec), test_cuda_mlp.txt (FP32),
# test_cuda_tc.txt (FP16/BF16 tensor cores), ctnn_gpu.json (fused against unfused cuBLAS),
# torch_gpu.json. BENCH_REPS (default 5) sets the benchmark repetitions, BENCH_ARGS adds flags.
set -uo pipefail
cd "$(dirname "$0")/.."
d=$PWD/.carry/gpu
out=${OUT:-$PWD/build-gpu/out}
mkdir -p "$out" /usr/share/datasets/fashion-mnist
cp "$d"/data/*.gz /usr/share/datasets/fashion-mnist/
{ nvidia-smi; nvcc --version; cmake --version; } > "$out/machine.txt" 2>&1
cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES="${CUDA_ARCH:-90}" \
  -DCTNN_XSIMD_INCLUDE_DIR="$d/xsimd-include" -DCTNN_GTEST_SOURCE_DIR="$d/googletest" \
  -Dbenchmark_DIR="$d/benchmark/lib/x86_64-linux-gnu/cmake/benchmark" \
  -DZLIB_INCLUDE_DIR="$d/zlib" -DZLIB_LIBRARY="$d/zlib/libz.a" \
  -DCTNN_BUILD_EXAMPLES=OFF -DCTNN_BENCHMARK_CPU_PEERS=OFF -DCTNN_WITH_MPI=OFF > "$out/build.txt" 2>&1 ||
  { tail -30 "$out/build.txt"; exit 1; }
cmake --build build-gpu --target test_cuda_spec test_cuda_mlp test_cuda_tc ctnn_bench_cuda >> "$out/build.txt" 2>&1 ||
  { grep -E "error|FAILED" "$out/build.txt" | head -30; exit 1; }
rc=0
build-gpu/tests/test_cuda_spec >> "$out/build.txt" 2>&1 || rc=1
for t in test_cuda_mlp test_cuda_tc; do
  build-gpu/tests/$t > "$out/$t.txt" 2>&1 || rc=1
  grep -E "^\[  (FAILED|PASSED) |Failure|SKIPPED|Fashion|teacher" "$out/$t.txt" || true
done
export LD_LIBRARY_PATH="$d/benchmark/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
build-gpu/benchmarks/ctnn_bench_cuda --benchmark_repetitions="${BENCH_REPS:-5}" --benchmark_report_aggregates_only=true \
  --benchmark_out="$out/ctnn_gpu.json" --benchmark_out_format=json ${BENCH_ARGS:-} 2>&1 | grep -E "median|ERROR" || rc=1
python3 benchmarks/cuda/pytorch_gpu.py --out "$out/torch_gpu.json" || rc=1
exit $rc
