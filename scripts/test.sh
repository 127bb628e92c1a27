#!/usr/bin/env bash
# Installs the dependencies, builds ctnn (Release) with its tests, examples and
# benchmarks, and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "${launcher[@]}"
cmake --build build
ctest --test-dir build --output-on-failure -j "$(nproc)"

# The SIMD suite again for AVX2 + FMA without AVX-512 (the widest backend is then avx2).
cmake -S . -B build-avx2 -G Ninja -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" \
  -DCTNN_ARCH_FLAGS="-mavx2 -mfma" -DCTNN_BUILD_EXAMPLES=OFF -DCTNN_BUILD_BENCHMARKS=OFF
cmake --build build-avx2 --target test_simd test_simd_network test_reference test_trainer test_no_heap
ctest --test-dir build-avx2 --output-on-failure -j "$(nproc)" -R 'Simd|Reference|Trainer|NoHeap'
