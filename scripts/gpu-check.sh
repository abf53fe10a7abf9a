#!/usr/bin/env bash
# The GPU checks, in one go, on a machine with one NVIDIA GPU (issue 5):
#   1. installs what is missing (scripts/setup.sh) and builds, or, with
#      DENSESSM_PREBUILT=1, takes the build scripts/gpu-bundle.sh installed
#      (a machine without Debian's LLVM 22 or a package mirror);
#   2. runs every test that needs the GPU (lit feature cuda-gpu: the scans
#      against the double-precision references, the four models compiled
#      with --target=cuda against the CPU), next to the CUDA compile checks,
#      in one parallel lit run, while the benchmark models compile;
#   3. measures the GPU's copy bandwidth (bench/gpu/copy_bandwidth.py), the
#      parallel selective scan's throughput at B=8, L=2048, d_inner=1536,
#      N=16 (bench/gpu/scan_throughput.py; target 1e12 state updates/s)
#      with the defaults in f32 and bf16, and in f32 with the chunked scan
#      instead of the column scan and three other shapes of the column
#      scan (to tune the defaults from), and
#      batch-1 decode of a DenseRetNet-350M-shaped and a Mamba-130M-shaped
#      bf16 random model (compiled with --weight-type=bf16) on the GPU and
#      the CPU, against the HBM bound (weight bytes read per token, from
#      bench/gpu/decode_bytes.py, / copy bandwidth; target 50%), on the
#      GPU with and without CUDA graphs (DENSESSM_CUDA_GRAPHS) and
#      programmatic dependent launch (DENSESSM_CUDA_PDL), and the
#      DenseRetNet's GPU decode with the GEMV's wide loads turned off
#      (--cuda-pipeline-options=gemv-wide-loads=false), to say what they
#      are worth;
#   4. where Nsight Compute (ncu) is installed, profiles the DenseRetNet's
#      decode kernel by kernel (bench/gpu/decode_profile.py);
# and prints each result as it lands, then one summary table. Budget:
# under 8 minutes. The lit run stops after GPU_CHECK_LIT_SECONDS (300) so
# that the benchmarks always run; a test it cut short is reported.
#
#   bash scripts/gpu-check.sh
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
BIN=$BUILD_DIR/bin
WORK=${WORK:-$BUILD_DIR/gpu-check}
LLVM_LIB=/usr/lib/llvm-22/lib
JOBS=$(nproc)
# Results as they come (lit, when timeout stops it, loses no finished line).
export PYTHONUNBUFFERED=1
mkdir -p "$WORK"
declare -a ROWS
declare -A DECODE_MS # model -> ms per token on the GPU, graphs on
FAILED=0

row() {
  ROWS+=("$(printf '%-46s %-8s %s' "$1" "$2" "$3")")
  echo "-- ${ROWS[-1]}"
  [ "$2" = FAIL ] && FAILED=1
}
stamp() { echo "== $(date +%T) $*"; }

if ! nvidia-smi -L >/dev/null 2>&1; then
  echo "gpu-check: error: no GPU here (nvidia-smi -L failed); nothing to check" >&2
  exit 1
fi
GPU=$(nvidia-smi -L | head -1)
echo "gpu-check: $GPU, driver $(nvidia-smi --query-gpu=driver_version --format=csv,noheader | head -1)"

# The CUDA Toolkit (ptxas, libdevice, cuBLAS: densessm-compile, the lit
# tests and the runtime look in $CUDA_HOME, then /usr/local/cuda) where only
# its nvcc is on the PATH.
if [ -z "${CUDA_HOME:-}" ] && [ ! -x /usr/local/cuda/bin/ptxas ] && command -v nvcc >/dev/null; then
  CUDA_HOME=$(dirname "$(dirname "$(readlink -f "$(command -v nvcc)")")")
  export CUDA_HOME
  echo "gpu-check: CUDA_HOME=$CUDA_HOME (nvcc's)"
fi

stamp "setup and build"
if [ "${DENSESSM_PREBUILT:-0}" = 1 ]; then
  if "$BIN/densessm-opt" --version >"$WORK/build.log" 2>&1; then
    row "build" PASS "prebuilt (scripts/gpu-bundle.sh)"
  else
    row "build" FAIL "DENSESSM_PREBUILT=1 but $BIN/densessm-opt does not run: $(tail -1 "$WORK/build.log")"
  fi
elif bash scripts/setup.sh >"$WORK/setup.log" 2>&1 && bash scripts/build.sh >"$WORK/build.log" 2>&1; then
  row "build" PASS ""
else
  row "build" FAIL "$WORK/build.log"
fi

# The benchmark models, in the background while the tests run: a random
# checkpoint (pure Python), then the module and, for a model given pipeline
# options, a second module compiled with them (compiles are single-threaded).
# Each compile leaves its exit status in $WORK/<module>.status.
prepare_model() { # name, family, pipeline options to compare or "", --set flags...
  local name=$1 family=$2 options=$3; shift 3
  python3 models/checkpoints/write_random_checkpoint.py --family "$family" \
    --out "$WORK/$name" --dtype bf16 "$@" >"$WORK/$name.write.log" 2>&1 || {
    echo "writing the checkpoint failed: $WORK/$name.write.log" >"$WORK/$name.status"; return; }
  # The linear layers' weights in bf16, as the issue's bf16 model (the
  # decode steps' GEMV kernel reads them as they are).
  compile_module() { # module, extra flags...
    local module=$1; shift
    if "$BIN/densessm-compile" "$WORK/$name" -o "$WORK/$module.dssm" --target=cuda \
        --weight-type=bf16 --quiet "$@" >"$WORK/$module.compile.log" 2>&1; then
      echo ok >"$WORK/$module.status"
    else
      echo "compile: $(tail -1 "$WORK/$module.compile.log")" >"$WORK/$module.status"
    fi
  }
  [ -n "$options" ] && compile_module "$name.compare" --cuda-pipeline-options="$options" &
  compile_module "$name"
  wait
}
DENSERETNET_350M=(--set hidden_size=1024 --set query_key_dim=512 --set num_attention_heads=4
                  --set num_hidden_layers=24 --set vocab_size=50280)
MAMBA_130M=(--tied --set hidden_size=768 --set num_hidden_layers=24 --set vocab_size=50280
            --set state_size=16 --set time_step_rank=auto)
prepare_model denseretnet-350m denseretnet gemv-wide-loads=false "${DENSERETNET_350M[@]}" &
PREPARE_DR=$!
prepare_model mamba-130m mamba "" "${MAMBA_130M[@]}" &
PREPARE_M=$!

stamp "GPU and CUDA tests"
LIT=/usr/lib/llvm-22/bin/lit
# The tests a GPU changes (those needing one, and those a GPU makes
# unsupported); the emulated-* and the pipeline's FileCheck tests run in CI.
TESTS=(test/Integration/CUDA test/Integration/Runtime test/Integration/Tools/cuda-target.test
       test/Integration/Tools/cuda-ptx.test)
LIT_LOG=$WORK/lit.log
# python3 (the PATH's, with NumPy), not lit's #! interpreter.
timeout "${GPU_CHECK_LIT_SECONDS:-300}" python3 "$LIT" -v -j "$((JOBS > 4 ? JOBS - 4 : 1))" \
  --filter-out emulated "${TESTS[@]/#/$BUILD_DIR/}" >"$LIT_LOG" 2>&1
LIT_STATUS=$?
for t in "${TESTS[@]}"; do
  name=${t#test/}
  results=$(grep -E "^[A-Z]+: densessm :: $name" "$LIT_LOG")
  passed=$(grep -c "^PASS:" <<<"$results"); skipped=$(grep -c "^UNSUPPORTED:" <<<"$results")
  failed=$(grep -E "^(FAIL|XPASS|UNRESOLVED|TIMEOUT):" <<<"$results" | sed 's/ (.*//; s/^[A-Z]*: densessm :: //')
  if [ -n "$failed" ]; then
    row "lit $name" FAIL "$(tr '\n' ' ' <<<"$failed")($LIT_LOG)"
  elif [ "$LIT_STATUS" = 124 ] && [ "$((passed + skipped))" = 0 ]; then
    row "lit $name" FAIL "not finished in ${GPU_CHECK_LIT_SECONDS:-300} s ($LIT_LOG)"
  else
    row "lit $name" PASS "$passed passed, $skipped unsupported"
  fi
done
[ "$LIT_STATUS" = 124 ] && row "lit" FAIL "stopped after ${GPU_CHECK_LIT_SECONDS:-300} s; unfinished tests have no result above"

stamp "copy bandwidth"
BANDWIDTH=$(python3 bench/gpu/copy_bandwidth.py 2>"$WORK/bandwidth.log")
COPY_GBS=$(sed -n 's/.*copy_bandwidth_gbs=\([0-9.]*\).*/\1/p' <<<"$BANDWIDTH")
if [ -n "$COPY_GBS" ]; then
  row "copy bandwidth (read + write)" PASS "$COPY_GBS GB/s ($BANDWIDTH)"
else
  row "copy bandwidth" FAIL "$(tail -1 "$WORK/bandwidth.log")"
fi

stamp "selective scan throughput"
RUNNER_LIBS=$BUILD_DIR/lib/libdensessm_runtime.so,$LLVM_LIB/libmlir_c_runner_utils.so,$LLVM_LIB/libmlir_runner_utils.so
# The defaults (the column scan at this shape) in f32 and bf16, then f32
# under other kernel shapes, to tune the defaults from: the chunked scan
# instead, fewer and more tokens per thread, more warps per block.
SCAN_VARIANTS=(
  "f32|"
  "bf16|"
  "f32|column-scan-min-columns=-1"
  "f32|column-tokens-per-thread=8"
  "f32|column-tokens-per-thread=16"
  "f32|scan-block-size=256"
)
for variant in "${SCAN_VARIANTS[@]}"; do
  dtype=${variant%%|*} options=${variant#*|}
  label="parallel selective scan $dtype (B8 L2048 D1536 N16${options:+, $options})"
  out=$(python3 bench/gpu/scan_throughput.py --opt "$BIN/densessm-opt" \
        --runner /usr/lib/llvm-22/bin/mlir-runner --runner-libs "$RUNNER_LIBS" --dtype "$dtype" \
        --options "$options" 2>&1)
  rate=$(sed -n 's/.*state_updates_per_s=\([0-9.e+]*\).*/\1/p' <<<"$out")
  if [ -z "$rate" ]; then
    row "$label" FAIL "$(tail -2 <<<"$out" | tr '\n' ' ')"
  else
    verdict=$(python3 -c "print('PASS' if float('$rate') >= 1e12 else 'BELOW')")
    row "$label" "$verdict" \
        "$rate state updates/s (target 1e12); $(grep -o 'seconds_per_call=[0-9.]*' <<<"$out")"
  fi
done

stamp "decode on the GPU and the CPU"
# What prepare_model left for `module`: "ok" or why it failed; without a
# status file, the second argument.
status_of() { # module, what to say when there is no status
  cat "$WORK/$1.status" 2>/dev/null || echo "$2"
}

# One step of the pipeline turned off: the GPU decode (graphs on) of the
# model prepare_model compiled with `options`, against the default's.
compare() { # name, --densessm-cuda-pipeline options
  local name=$1 options=$2 module=$WORK/$1.compare.dssm
  local label="decode $name batch 1 ($options)"
  local status
  status=$(status_of "$name.compare" 'not compiled')
  [ "$status" = ok ] || { row "$label" FAIL "$status"; return; }
  out=$(DENSESSM_CUDA_GRAPHS=1 "$BIN/densessm-run" "$module" --device=cuda \
        --tokens=1,2,3,4,5,6,7,8 --generate=64 2>&1)
  ms=$(sed -n 's/^decode: .*, \([0-9.]*\) ms per step.*/\1/p' <<<"$out")
  if [ -z "$ms" ]; then
    row "$label" FAIL "$(tail -1 <<<"$out")"; return
  fi
  local detail="$ms ms/token"
  [ -n "${DECODE_MS[$name]:-}" ] &&
    detail="$detail; the default is $(python3 -c "print(f'{$ms / ${DECODE_MS[$name]}:.2f}')")x faster"
  row "$label" PASS "$detail"
}

decode() { # name, prepare_model pid, [pipeline options compared]
  local name=$1 module=$WORK/$1.dssm
  wait "$2"
  local status
  status=$(status_of "$name" 'not prepared')
  [ "$status" = ok ] || { row "decode $name" FAIL "$status"; return; }
  local mib bytes
  bytes=$("$BIN/densessm-dump-module" "$module" --weights | python3 bench/gpu/decode_bytes.py |
          sed -n 's/^weight_bytes_read=\([0-9]*\).*/\1/p')
  mib=$(python3 -c "print(f'{$bytes / 2**20:.1f}')")
  # The GPU with its steps replayed as CUDA graphs (the default), with
  # each kernel launched as the host code reaches it, and with every kernel
  # launched after the one before ends (no programmatic dependent launch),
  # then the CPU. A run is device:graphs:pdl.
  local run device graphs pdl label ms_graphs=""
  for run in cuda:1:1 cuda:0:1 cuda:1:0 cpu:1:1; do
    IFS=: read -r device graphs pdl <<<"$run"
    label="$device"
    [ "$device" = cuda ] && label="cuda, graphs $([ "$graphs" = 1 ] && echo on || echo off)"
    [ "$pdl" = 0 ] && label="$label, programmatic launch off"
    out=$(DENSESSM_CUDA_GRAPHS=$graphs DENSESSM_CUDA_PDL=$pdl "$BIN/densessm-run" "$module" \
          --device=$device --tokens=1,2,3,4,5,6,7,8 --generate=64 2>&1)
    ms=$(sed -n 's/^decode: .*, \([0-9.]*\) ms per step.*/\1/p' <<<"$out")
    if [ -z "$ms" ]; then
      row "decode $name batch 1 ($label)" FAIL "$(tail -1 <<<"$out")"; continue
    fi
    detail="$ms ms/token, $(python3 -c "print(f'{1e3 / $ms:.1f}')") tokens/s; reads $mib MiB of weights per token"
    [ "$run" = cuda:1:1 ] && ms_graphs=$ms && DECODE_MS[$name]=$ms
    if [ "$run" = cuda:0:1 ] && [ -n "$ms_graphs" ]; then
      detail="$detail; with graphs: $(python3 -c "print(f'{$ms / $ms_graphs:.2f}')")x faster"
    fi
    if [ "$run" = cuda:1:0 ] && [ -n "$ms_graphs" ]; then
      detail="$detail; with it: $(python3 -c "print(f'{$ms / $ms_graphs:.2f}')")x faster"
    fi
    verdict=PASS
    if [ "$device" = cuda ] && [ -n "$COPY_GBS" ]; then
      read -r bound fraction < <(python3 -c "
b = $bytes / ($COPY_GBS * 1e9) * 1e3
print(f'{b:.3f} {b / $ms * 100:.1f}')")
      detail="$detail; HBM bound $bound ms = $fraction% of it (target 50%)"
      python3 -c "import sys; sys.exit(0 if $fraction >= 50 else 1)" || verdict=BELOW
    fi
    row "decode $name batch 1 ($label)" $verdict "$detail"
  done
  if [ -n "${3:-}" ]; then compare "$name" "$3"; fi
}
decode denseretnet-350m $PREPARE_DR gemv-wide-loads=false
decode mamba-130m $PREPARE_M

# Where a DenseRetNet-350M decode step's time goes, kernel by kernel
# (Nsight Compute, when installed; graphs off, so that it sees each launch;
# steps 10 to 20 or so, past the prefill's launches).
NCU=$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu "${CUDA_HOME:-/usr/local/cuda}"/bin/ncu 2>/dev/null | head -1)
if [ -n "$NCU" ] && [ -f "$WORK/denseretnet-350m.dssm" ]; then
  stamp "decode profile (ncu)"
  DENSESSM_CUDA_GRAPHS=0 timeout "${GPU_CHECK_PROFILE_SECONDS:-90}" "$NCU" --csv --print-units base \
    --metrics gpu__time_duration.sum,dram__bytes_read.sum,dram__bytes_write.sum,launch__registers_per_thread \
    --launch-skip 1500 --launch-count 400 "$BIN/densessm-run" "$WORK/denseretnet-350m.dssm" \
    --device=cuda --tokens=1,2,3,4,5,6,7,8 --generate=24 >"$WORK/decode-profile.csv" 2>"$WORK/decode-profile.log"
  if python3 bench/gpu/decode_profile.py "$WORK/decode-profile.csv" ${COPY_GBS:+--bandwidth-gbs "$COPY_GBS"} \
      >"$WORK/decode-profile.md" 2>>"$WORK/decode-profile.log"; then
    cat "$WORK/decode-profile.md"
    row "decode profile denseretnet-350m (ncu)" PASS "$(grep '^kernel_time_us=' "$WORK/decode-profile.md") ($WORK/decode-profile.md)"
  else
    row "decode profile denseretnet-350m (ncu)" FAIL "$(tail -1 "$WORK/decode-profile.log")"
  fi
else
  row "decode profile" SKIP "no Nsight Compute (ncu) here, or no DenseRetNet-350M module"
fi

echo
echo "gpu-check on $GPU ($(date +%T))"
printf '%-46s %-8s %s\n' "check" "result" "detail"
for r in "${ROWS[@]}"; do echo "$r"; done
exit $FAILED
