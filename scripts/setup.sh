#!/usr/bin/env bash
# Installs every system package densessm needs on a fresh Debian 12 machine.
# Idempotent: when everything is already installed it only says so.
set -euo pipefail

PACKAGES=(
  # build
  cmake ninja-build git python3
  # LLVM/MLIR 22 (shared libLLVM/libMLIR, tablegen, FileCheck, lit, not)
  llvm-22-dev llvm-22-tools libmlir-22-dev mlir-22-tools
  # compiler and linker the project is built with
  clang-22 lld-22
  # OpenMP runtime: the CPU code runs its parallel loops on it
  libomp-22-dev
  # module and graph files (FlatBuffers schemas and their compiler)
  flatbuffers-compiler libflatbuffers-dev
  # CPU GEMMs in compiled modules
  libopenblas-dev
  # tests and benchmarks
  libgtest-dev libbenchmark-dev
  # sanitiser and libFuzzer runtimes of clang 22 (scripts/sanitize.sh, fuzz/)
  libclang-rt-22-dev
  # the performance report (bench/run.sh): PyTorch eager as the peer, plots
  python3-torch python3-matplotlib python3-numpy
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} system packages already installed"
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "setup: done"
