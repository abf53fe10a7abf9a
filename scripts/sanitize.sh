#!/usr/bin/env bash
# The sanitiser job and the bounded fuzz runs (scripts/test.sh runs this after
# ctest; docs/errors.md says what each test checks). Incremental: the two
# sanitised builds are configured once and rebuilt only where sources
# changed; the fuzzers' corpora persist between runs.
#
#   1. build-asan (ASan + UBSan, every finding fatal, RelWithDebInfo) with the
#      libFuzzer targets; build-tsan (TSan), the runtime and its robustness
#      test only. Neither builds the compiler (densessm-compile: our passes
#      on LLVM/MLIR, whose libraries would stay uninstrumented): building it
#      sanitised would take most of the budget, and its file readers are
#      fuzzed instead (4.).
#   2. Under ASan + UBSan, on modules compiled from random checkpoints by the
#      normal build's (uninstrumented) densessm-compile:
#        - the runtime API tests (RuntimeAPITest.cpp) and the robustness tests
#          (argument validation, allocation failure, 8 threads x 100 decode
#          steps; test/unit/runtime/) for mamba and denseretnet;
#        - the mgpu* functions and the queue on a recording driver
#          (MGPURuntimeTest.cpp);
#        - the numerical end-to-end tests through densessm-run
#          (test/Integration/Tools/e2e_models.py, all four families: logits
#          against the fp64 reference, recurrent vs parallel prefill, batches);
#        - the bad-input tests through densessm-run (e2e_errors.py: damaged
#          and hostile modules, bad command lines).
#   3. Under TSan: the concurrency test (8 threads x 100 decode steps, one
#      session each over one module), with OMP_NUM_THREADS=1 and
#      OPENBLAS_NUM_THREADS=1: libomp and OpenBLAS are not instrumented, so
#      TSan cannot see their synchronisation and would report their worker
#      threads; with one thread each they run on the calling thread. What
#      libomp still does on its own memory is suppressed (scripts/tsan.supp).
#   4. Each fuzz target (fuzz/) for FUZZ_SECONDS (default 60 s), starting from
#      its committed corpus (fuzz/corpus/<target>/, regression inputs
#      included: every one is run first) plus seeds made here (the random
#      checkpoints' safetensors and config.json, their .dsg and .dssm). Any
#      crash, leak, sanitizer report, timeout (> 10 s) or out-of-memory
#      (> 2 GiB) fails the job; its input is left in build-asan/fuzz-findings/.
#
# Not covered, and why: the lit tests that run mlir-runner (test/Integration/
# CPU, LLVM's JIT: an uninstrumented program cannot load the instrumented
# libdensessm_runtime.so), and the compiler's passes and code generation
# (not built sanitised, above). The compiler's checkpoint, config.json and
# graph readers run sanitised in their fuzz targets, on every committed and
# generated seed.
#
# Time, from scratch, measured on a 2-core machine shared with other builds:
# 202 s to build build-asan and build-tsan, 42 s of tests, 184 s of fuzzing
# (3 x 60 s): 7 min 9 s in all, well within the 25 min this job may add to
# CI. A re-run without source changes skips the builds (under 4 min).
#
# Environment: BUILD_DIR (the normal build, default build), ASAN_BUILD_DIR
# (build-asan), TSAN_BUILD_DIR (build-tsan), FUZZ_SECONDS (60).
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${BUILD_DIR:-build}
ASAN_DIR=${ASAN_BUILD_DIR:-build-asan}
TSAN_DIR=${TSAN_BUILD_DIR:-build-tsan}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
PYTHON=/usr/bin/python3 # Debian's, with numpy (the reference models need it)
started=$SECONDS

for tool in densessm-compile densessm-export; do
  if [ ! -x "$BUILD_DIR/bin/$tool" ]; then
    echo "sanitize: $BUILD_DIR/bin/$tool is missing; run scripts/build.sh first" >&2
    exit 1
  fi
done

configure() { # DIR SANITIZERS [CMAKE ARGS...]
  local dir=$1 sanitizers=$2
  shift 2
  if [ ! -f "$dir/build.ninja" ]; then
    echo "sanitize: configuring $dir ($sanitizers)"
    mkdir -p "$dir"
    cmake -G Ninja -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
      -DLLVM_USE_LINKER=lld -DDENSESSM_SANITIZE="$sanitizers" "$@" > "$dir/configure.log" \
      || { cat "$dir/configure.log"; exit 1; }
  fi
}

configure "$ASAN_DIR" address,undefined -DDENSESSM_FUZZERS=ON
echo "sanitize: building $ASAN_DIR"
ninja -C "$ASAN_DIR" densessm-run densessm-runtime-tests \
  densessm-runtime-robustness-tests densessm-mgpu-runtime-tests densessm-fuzzers | tail -n 1
configure "$TSAN_DIR" thread
echo "sanitize: building $TSAN_DIR"
ninja -C "$TSAN_DIR" densessm-runtime-robustness-tests | tail -n 1
echo "sanitize: built in $((SECONDS - started)) s"

# halt_on_error: the first report fails the program. allocator_may_return_null:
# an allocation too large is the bad_alloc the runtime reports (and that the
# robustness tests check), not a sanitizer abort.
export ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:allocator_may_return_null=1:strict_string_checks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
# scripts/tsan.supp: what uninstrumented libomp does to its own memory.
export TSAN_OPTIONS=halt_on_error=1:allocator_may_return_null=1:second_deadlock_stack=1:suppressions=$PWD/scripts/tsan.supp
# Threads waiting in libomp sleep rather than spin for 200 ms: the
# concurrency test's eight OpenMP teams would otherwise starve each other on
# two cores (see test/Integration/Runtime/robustness.test).
export KMP_BLOCKTIME=0

WORK=$ASAN_DIR/sanitize-work
rm -rf "$WORK"
mkdir -p "$WORK"
failed=()
check() { # NAME COMMAND...: runs COMMAND, its output to $WORK/NAME.log
  local name=$1 log=$WORK/$1.log t0=$SECONDS
  shift
  if "$@" > "$log" 2>&1; then
    echo "sanitize: PASS $name ($((SECONDS - t0)) s)"
  else
    echo "sanitize: FAIL $name (exit $?; $log):"
    tail -n 40 "$log" | sed 's/^/    /'
    failed+=("$name")
  fi
}

# Modules from random checkpoints, by the normal build's tools.
for family in mamba denseretnet retnet densemamba; do
  "$PYTHON" models/checkpoints/write_random_checkpoint.py --family "$family" \
    --out "$WORK/$family" > /dev/null
done
for family in mamba denseretnet; do
  "$BUILD_DIR/bin/densessm-compile" "$WORK/$family" -o "$WORK/$family.dssm" --quiet
  "$BUILD_DIR/bin/densessm-export" "$WORK/$family" -o "$WORK/$family.dsg" --quiet
done

for family in mamba denseretnet; do
  check "asan-runtime-api-$family" \
    "$ASAN_DIR/bin/densessm-runtime-tests" --module="$WORK/$family.dssm"
  check "asan-runtime-robustness-$family" \
    "$ASAN_DIR/bin/densessm-runtime-robustness-tests" --module="$WORK/$family.dssm"
done
# The CUDA host code's mgpu* functions and queue, on a recording driver.
check asan-mgpu-runtime "$ASAN_DIR/bin/densessm-mgpu-runtime-tests"
check tsan-concurrency env OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \
  "$TSAN_DIR/bin/densessm-runtime-robustness-tests" --module="$WORK/mamba.dssm" \
  --gtest_filter='Concurrency.*'

e2e() { # SCRIPT ARGS...: one of test/Integration/Tools/e2e_*.py, its tally checked
  local script=$1
  shift
  local out
  out=$("$PYTHON" "test/Integration/Tools/$script" --models models \
    --compile "$BUILD_DIR/bin/densessm-compile" --run "$ASAN_DIR/bin/densessm-run" "$@") \
    || { echo "$out"; return 1; }
  echo "$out"
  ! grep -q '^FAIL' <<< "$out" && grep -q ' passed, 0 failed' <<< "$out"
}
for family in mamba densemamba retnet denseretnet; do
  check "asan-e2e-models-$family" e2e e2e_models.py --family "$family" \
    --work "$WORK/e2e-$family"
done
check asan-e2e-errors e2e e2e_errors.py --work "$WORK/e2e-errors"

# Fuzzing.
fuzz() { # TARGET: runs densessm-fuzz-TARGET on its corpora for FUZZ_SECONDS
  local target=$1 corpus=$ASAN_DIR/fuzz-corpus/$1 seeds=$WORK/seeds-$1
  mkdir -p "$corpus" "$ASAN_DIR/fuzz-findings"
  "$ASAN_DIR/bin/densessm-fuzz-$target" -max_total_time="$FUZZ_SECONDS" \
    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$ASAN_DIR/fuzz-findings/$target-" \
    "$corpus" "$seeds" "fuzz/corpus/$target"
}
mkdir -p "$WORK/seeds-safetensors" "$WORK/seeds-graph" "$WORK/seeds-module"
for family in mamba denseretnet retnet densemamba; do
  cp "$WORK/$family/model.safetensors" "$WORK/seeds-safetensors/$family.safetensors"
  cp "$WORK/$family/config.json" "$WORK/seeds-safetensors/$family.config.json"
done
for family in mamba denseretnet; do
  cp "$WORK/$family.dsg" "$WORK/seeds-graph/"
  cp "$WORK/$family.dssm" "$WORK/seeds-module/"
done
for target in safetensors graph module; do
  check "fuzz-$target" fuzz "$target"
done

echo "sanitize: $((SECONDS - started)) s in all"
if [ ${#failed[@]} -gt 0 ]; then
  echo "sanitize: FAILED: ${failed[*]}"
  exit 1
fi
echo "sanitize: every sanitised test and fuzz run passed"
