#!/usr/bin/env bash
# Configures (once) and builds densessm with CMake + Ninja against the system
# LLVM/MLIR 22, with clang-22 and lld. Incremental: re-running rebuilds only
# what changed. BUILD_DIR (default: build), BUILD_TYPE (default: Release)
# and BUILD_TARGETS (default: everything; e.g. "densessm-compile
# densessm-run") may be set in the environment.
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
BUILD_TARGETS=${BUILD_TARGETS:-}
echo "build: compiling in $BUILD_DIR${BUILD_TARGETS:+ ($BUILD_TARGETS)}"
# shellcheck disable=SC2086
ninja -C "$BUILD_DIR" $BUILD_TARGETS
echo "build: tools in $BUILD_DIR/bin: $(ls "$BUILD_DIR/bin" | tr '\n' ' ')"
