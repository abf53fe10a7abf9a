#!/usr/bin/env bash
# Runs every test: the lit suite (one ctest test per lit file) and the check
# that the committed dialect docs match the ODS. Expects scripts/build.sh to
# have run. ctest's closing line reports the counts.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$(nproc)"
