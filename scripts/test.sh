#!/usr/bin/env bash
# Runs every test: the lit suite (one ctest test per lit file) and the check
# that the committed dialect docs match the ODS. Expects scripts/build.sh to
# have run. ctest's closing line reports the counts. Then the sanitiser job
# and the bounded fuzz runs (scripts/sanitize.sh; SANITIZE=0 skips them).
# Fails if either fails.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
status=0
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$(nproc)" || status=$?
if [ "${SANITIZE:-1}" != 0 ]; then
  BUILD_DIR=$BUILD_DIR bash scripts/sanitize.sh || status=1
fi
exit $status
