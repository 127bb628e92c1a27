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
