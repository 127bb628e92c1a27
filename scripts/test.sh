#!/usr/bin/env bash
# Installs the dependencies, builds ctnn (Release) with its tests, examples and
# benchmarks, and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
# The CUDA backend is compiled (sm_80 and sm_90) wherever nvcc is, e.g. /usr/local/cuda; its
# tests then run, or report "Skipped" with the reason where there is no GPU.
cuda=()
if [ -x /usr/local/cuda/bin/nvcc ] || command -v nvcc >/dev/null; then
  if command -v ccache >/dev/null; then cuda=(-DCMAKE_CUDA_COMPILER_LAUNCHER=ccache); fi
else
  echo "NOTE: no nvcc on this machine: ctnn::cuda is not compiled here" >&2
fi
# fashion_mnist_mlp gets the training units its tests run (batches 32 and 64, native); a
# build with the defaults has all twenty (examples/CMakeLists.txt).
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" "${cuda[@]}" \
  -DCTNN_EXAMPLE_BATCHES="32;64" -DCTNN_EXAMPLE_BACKENDS=native
cmake --build build
ctest --test-dir build --output-on-failure -j "$(nproc)"

# The SIMD suite again for AVX2 + FMA without AVX-512 (the widest backend is then avx2).
cmake -S . -B build-avx2 -G Ninja -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" \
  -DCTNN_ARCH_FLAGS="-mavx2 -mfma" -DCTNN_BUILD_EXAMPLES=OFF -DCTNN_BUILD_BENCHMARKS=OFF -DCTNN_WITH_CUDA=OFF
cmake --build build-avx2 --target test_simd test_simd_loss test_simd_network test_simd_conv test_predictor test_reference test_trainer test_no_heap \
  test_sequence test_stream test_gradcheck_sequence test_reduced_precision
ctest --test-dir build-avx2 --output-on-failure -j "$(nproc)" -R 'Simd|Predictor|Reference|Trainer|NoHeap|Sequence|Stream|Bf16|Int8'

# The pipeline's threads under ThreadSanitizer (ASLR off: TSan needs its fixed memory layout).
cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${launcher[@]}" \
  -DCMAKE_CXX_FLAGS="-fsanitize=thread" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=thread" \
  -DCTNN_BUILD_EXAMPLES=OFF -DCTNN_BUILD_BENCHMARKS=OFF -DCTNN_WITH_CUDA=OFF
cmake --build build-tsan --target test_pipeline test_data_parallel test_data_parallel_errors test_threading test_loader test_sequence
for t in test_pipeline test_data_parallel test_data_parallel_errors test_threading test_loader test_sequence; do
  TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" setarch "$(uname -m)" -R "build-tsan/tests/$t"
done

# AArch64 (NEON): cross-compile the SIMD suite and run it under qemu-user. GoogleTest is
# built from Debian's sources; xsimd's headers come through a folder of their own so the
# host's /usr/include never reaches the cross compiler.
mkdir -p build-aarch64/xsimd-include
ln -sfn /usr/include/xsimd build-aarch64/xsimd-include/xsimd
cmake -S . -B build-aarch64 -G Ninja -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" \
  -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake -DCTNN_ARCH_FLAGS= \
  -DCTNN_XSIMD_INCLUDE_DIR="$PWD/build-aarch64/xsimd-include" -DCTNN_GTEST_SOURCE_DIR=/usr/src/googletest \
  -DCTNN_BUILD_EXAMPLES=OFF -DCTNN_BUILD_BENCHMARKS=OFF -DCTNN_WITH_CUDA=OFF
cmake --build build-aarch64 --target test_simd test_simd_loss test_simd_network test_simd_conv test_predictor test_reference test_trainer \
  test_sequence test_stream test_gradcheck_sequence test_reduced_precision test_reduced_precision_dotprod
ctest --test-dir build-aarch64 --output-on-failure -j "$(nproc)" -R 'Simd|Predictor|Reference|Trainer|Sequence|Stream|Bf16|Int8'
