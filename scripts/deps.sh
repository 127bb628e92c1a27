#!/usr/bin/env bash
# Installs everything ctnn's build, tests, examples and benchmarks need, from Debian 12's
# packages. Run as root (or with sudo) on a fresh machine; safe to run again.
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
packages=(
  g++ make cmake ninja-build ccache pkg-config libeigen3-dev libopenblas-dev
  g++-aarch64-linux-gnu qemu-user clang-14 openmpi-bin libopenmpi-dev
  libxsimd-dev libboost-dev libgtest-dev libbenchmark-dev zlib1g-dev libcli11-dev
  nlohmann-json3-dev dataset-fashion-mnist
  python3-torch python3-numpy python3-venv python3-matplotlib clang-15 libfuzzer-15-dev
  gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib qemu-system-arm
  iproute2
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The Python side of the PyTorch interop tests and examples: Debian's PyTorch and NumPy, and
# the reference safetensors package (pinned in python/requirements.txt) in a virtual
# environment that sees the system packages.
cd "$(dirname "$0")/.."
if ! .venv/bin/python -c "import safetensors, torch" 2>/dev/null; then
  /usr/bin/python3 -m venv --system-site-packages .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -r python/requirements.txt
fi
