#!/usr/bin/env bash
# Gathers into .carry/gpu (git-ignored) what a GPU machine with nvcc and CMake but no
# package manager needs to build and run ctnn's CUDA tests and benchmarks: xsimd's
# headers, GoogleTest's sources, Google Benchmark (headers, library, CMake files), zlib and
# the Fashion-MNIST files. Then, on that machine: `bash scripts/gpu_check.sh` (the device
# tool: carry [".carry/gpu"]). Run after scripts/deps.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
d=.carry/gpu
rm -rf "$d"
mkdir -p "$d/xsimd-include" "$d/benchmark/include" "$d/benchmark/lib/x86_64-linux-gnu/cmake" "$d/zlib" "$d/data"
cp -r /usr/include/xsimd "$d/xsimd-include/"
cp -r /usr/src/googletest "$d/googletest"
cp -r /usr/include/benchmark "$d/benchmark/include/"
cp -a /usr/lib/x86_64-linux-gnu/libbenchmark.so* /usr/lib/x86_64-linux-gnu/libbenchmark_main.a \
  "$d/benchmark/lib/x86_64-linux-gnu/"
cp -r /usr/lib/x86_64-linux-gnu/cmake/benchmark "$d/benchmark/lib/x86_64-linux-gnu/cmake/"
cp /usr/include/zlib.h /usr/include/zconf.h /usr/lib/x86_64-linux-gnu/libz.a "$d/zlib/"
cp /usr/share/datasets/fashion-mnist/*.gz "$d/data/"
du -sh "$d"
