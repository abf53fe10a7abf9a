#!/usr/bin/env bash
# The GPU checks, in one go, on a machine with one NVIDIA GPU (issue 5):
#   1. installs what is missing (scripts/setup.sh) and builds;
#   2. runs every test that needs the GPU (lit feature cuda-gpu: the scans
#      against the double-precision references, the four models compiled
#      with --target=cuda against the CPU), next to the CUDA compile checks;
#   3. measures the GPU's copy bandwidth (bench/gpu/copy_bandwidth.py), the
#      parallel selective scan's throughput at B=8, L=2048, d_inner=1536,
#      N=16 (bench/gpu/scan_throughput.py; target 1e12 state updates/s), and
#      batch-1 decode of a DenseRetNet-350M-shaped and a Mamba-130M-shaped
#      bf16 random model (compiled with --weight-type=bf16) on the GPU and
#      the CPU, against the HBM bound (weight bytes read per token, from
#      bench/gpu/decode_bytes.py, / copy bandwidth; target 50%), on the
#      GPU with and without CUDA graphs (DENSESSM_CUDA_GRAPHS), and the
#      DenseRetNet's GPU decode with the GEMV's wide loads turned off
#      (--cuda-pipeline-options=gemv-wide-loads=false), to say what they
#      are worth;
# and prints one summary table. Budget: under 8 minutes (the checkpoints
# are written while the build runs).
#
#   bash scripts/gpu-check.sh
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
BIN=$BUILD_DIR/bin
WORK=${WORK:-$BUILD_DIR/gpu-check}
LLVM_LIB=/usr/lib/llvm-22/lib
mkdir -p "$WORK"
declare -a ROWS
declare -A DECODE_MS # model -> ms per token on the GPU, graphs on
FAILED=0

row() { ROWS+=("$(printf '%-46s %-8s %s' "$1" "$2" "$3")"); [ "$2" = FAIL ] && FAILED=1; }
stamp() { echo "== $(date +%T) $*"; }

if ! nvidia-smi -L >/dev/null 2>&1; then
  echo "gpu-check: error: no GPU here (nvidia-smi -L failed); nothing to check" >&2
  exit 1
fi
GPU=$(nvidia-smi -L | head -1)

# The random checkpoints (pure Python: a minute or two) while we build.
write_checkpoint() { # name family --set flags...
  local name=$1 family=$2; shift 2
  python3 models/checkpoints/write_random_checkpoint.py --family "$family" \
    --out "$WORK/$name" --dtype bf16 "$@" >"$WORK/$name.write.log" 2>&1
}
DENSERETNET_350M=(--set hidden_size=1024 --set query_key_dim=512 --set num_attention_heads=4
                  --set num_hidden_layers=24 --set vocab_size=50280)
MAMBA_130M=(--tied --set hidden_size=768 --set num_hidden_layers=24 --set vocab_size=50280
            --set state_size=16 --set time_step_rank=auto)
write_checkpoint denseretnet-350m denseretnet "${DENSERETNET_350M[@]}" & WRITE_DR=$!
write_checkpoint mamba-130m mamba "${MAMBA_130M[@]}" & WRITE_M=$!

stamp "setup and build"
if bash scripts/setup.sh >"$WORK/setup.log" 2>&1 && bash scripts/build.sh >"$WORK/build.log" 2>&1; then
  row "build" PASS ""
else
  row "build" FAIL "$WORK/build.log"
fi

stamp "GPU and CUDA tests"
LIT=/usr/lib/llvm-22/bin/lit
# emulated-scans runs in CI (no GPU needed); the rest here.
for t in test/Integration/CUDA test/Integration/Runtime test/Integration/Tools/cuda-target.test \
         test/Integration/Tools/cuda-ptx.test test/Pipelines/densessm-cuda-pipeline.mlir; do
  name=${t#test/}
  log=$WORK/lit-${name//\//_}.log
  if "$LIT" -v --filter-out emulated "$BUILD_DIR/$t" >"$log" 2>&1; then
    passed=$(grep -c "^PASS:" "$log"); skipped=$(grep -c "^UNSUPPORTED:" "$log")
    row "lit $name" PASS "$passed passed, $skipped unsupported"
  else
    row "lit $name" FAIL "$(grep -E '^FAIL:' "$log" | head -3 | tr '\n' ' ') ($log)"
  fi
done

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
for dtype in f32 bf16; do
  out=$(python3 bench/gpu/scan_throughput.py --opt "$BIN/densessm-opt" \
        --runner /usr/lib/llvm-22/bin/mlir-runner --runner-libs "$RUNNER_LIBS" --dtype $dtype 2>&1)
  rate=$(sed -n 's/.*state_updates_per_s=\([0-9.e+]*\).*/\1/p' <<<"$out")
  if [ -z "$rate" ]; then
    row "parallel selective scan $dtype" FAIL "$(tail -2 <<<"$out" | tr '\n' ' ')"
  else
    verdict=$(python3 -c "print('PASS' if float('$rate') >= 1e12 else 'BELOW')")
    row "parallel selective scan $dtype (B8 L2048 D1536 N16)" "$verdict" \
        "$rate state updates/s (target 1e12); $(grep -o 'seconds_per_call=[0-9.]*' <<<"$out")"
  fi
done

stamp "decode on the GPU and the CPU"
# One step of the pipeline turned off: the GPU decode (graphs on) of the
# model compiled (by the background job `pid`) as decode() compiles it but
# with `options`, against the default's.
compare() { # name, --densessm-cuda-pipeline options, compile pid
  local name=$1 options=$2 module=$WORK/$1.compare.dssm
  local label="decode $name batch 1 ($options)"
  if ! wait "$3"; then
    row "$label" FAIL "compile: $(tail -1 "$WORK/$name.compare.log")"; return
  fi
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

decode() { # name, checkpoint-writer pid, [pipeline options to compare]
  local name=$1 pid=$2 ckpt=$WORK/$1 module=$WORK/$1.dssm
  if ! wait "$pid"; then
    row "decode $name" FAIL "writing the checkpoint: $WORK/$name.write.log"; return
  fi
  # The module to compare with compiles meanwhile (the machine has cores
  # to spare; compiles are single-threaded).
  local compare_pid=""
  if [ -n "${3:-}" ]; then
    "$BIN/densessm-compile" "$ckpt" -o "$WORK/$name.compare.dssm" --target=cuda \
      --weight-type=bf16 --quiet --cuda-pipeline-options="$3" >"$WORK/$name.compare.log" 2>&1 &
    compare_pid=$!
  fi
  # The linear layers' weights in bf16, as the issue's bf16 model (the
  # decode steps' GEMV kernel reads them as they are).
  if ! "$BIN/densessm-compile" "$ckpt" -o "$module" --target=cuda --weight-type=bf16 --quiet \
      >"$WORK/$name.compile.log" 2>&1; then
    row "decode $name" FAIL "compile: $(tail -1 "$WORK/$name.compile.log")"; return
  fi
  local mib bytes
  bytes=$("$BIN/densessm-dump-module" "$module" --weights | python3 bench/gpu/decode_bytes.py |
          sed -n 's/^weight_bytes_read=\([0-9]*\).*/\1/p')
  mib=$(python3 -c "print(f'{$bytes / 2**20:.1f}')")
  # The GPU with its steps replayed as CUDA graphs (the default) and with
  # each kernel launched as the host code reaches it, then the CPU.
  local run device graphs label ms_graphs=""
  for run in cuda:1 cuda:0 cpu:1; do
    device=${run%:*} graphs=${run#*:} label="$device"
    [ "$device" = cuda ] && label="cuda, graphs $([ "$graphs" = 1 ] && echo on || echo off)"
    out=$(DENSESSM_CUDA_GRAPHS=$graphs "$BIN/densessm-run" "$module" --device=$device \
          --tokens=1,2,3,4,5,6,7,8 --generate=64 2>&1)
    ms=$(sed -n 's/^decode: .*, \([0-9.]*\) ms per step.*/\1/p' <<<"$out")
    if [ -z "$ms" ]; then
      row "decode $name batch 1 ($label)" FAIL "$(tail -1 <<<"$out")"; continue
    fi
    detail="$ms ms/token, $(python3 -c "print(f'{1e3 / $ms:.1f}')") tokens/s; reads $mib MiB of weights per token"
    [ "$run" = cuda:1 ] && ms_graphs=$ms && DECODE_MS[$name]=$ms
    if [ "$run" = cuda:0 ] && [ -n "$ms_graphs" ]; then
      detail="$detail; with graphs: $(python3 -c "print(f'{$ms / $ms_graphs:.2f}')")x faster"
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
  if [ -n "$compare_pid" ]; then compare "$name" "$3" "$compare_pid"; fi
}
decode denseretnet-350m $WRITE_DR gemv-wide-loads=false
decode mamba-130m $WRITE_M

echo
echo "gpu-check on $GPU ($(date +%T))"
printf '%-46s %-8s %s\n' "check" "result" "detail"
for r in "${ROWS[@]}"; do echo "$r"; done
exit $FAILED
