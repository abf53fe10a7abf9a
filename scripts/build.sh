#!/usr/bin/env bash
# Configures (once) and builds densessm with CMake + Ninja against the system
# LLVM/MLIR 22, with clang-22 and lld. Incremental: re-running rebuilds only
# what changed. BUILD_DIR (default: build) and BUILD_TYPE (default: Release)
# may be set in the environment.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${BUILD_DIR:-build}
BUILD_TYPE=${BUILD_TYPE:-Release}

if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  echo "build: configuring $BUILD_DIR ($BUILD_TYPE)"
  cmake -G Ninja -S . -B "$BUILD_DIR" \
    -DCMAKE_BUILD_TYPE="$BUILD_TYPE" \
    -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
    -DLLVM_USE_LINKER=lld
fi
echo "build: compiling in $BUILD_DIR"
ninja -C "$BUILD_DIR"
echo "build: tools in $BUILD_DIR/bin: $(ls "$BUILD_DIR/bin" | tr '\n' ' ')"
