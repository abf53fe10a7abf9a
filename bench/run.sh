#!/usr/bin/env bash
# Builds densessm in Release, runs every benchmark (the machine's bounds, the
# kernel grid, PyTorch eager on the same kernels, whole models in densessm and
# in PyTorch) and writes docs/performance.md and docs/performance/*.png.
#
#   bash bench/run.sh
#
# Environment: BUILD_DIR (default build) is the build directory scripts/build.sh
# builds; BENCH_RESULTS (default $BUILD_DIR/bench-results) keeps the raw
# results and the random checkpoints (regenerated when absent: delete the
# directory to start from scratch); DOCS_DIR (default docs) is where the report
# goes; PYTHON (default /usr/bin/python3, Debian's, which has torch, numpy and
# matplotlib); SKIP_BUILD=1 uses the tools already in $BUILD_DIR. Every process uses all cores: OpenMP and OpenBLAS threads in
# densessm, torch.set_num_threads in PyTorch.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${BUILD_DIR:-build}
RESULTS=${BENCH_RESULTS:-$BUILD_DIR/bench-results}
DOCS_DIR=${DOCS_DIR:-docs}
PYTHON=${PYTHON:-/usr/bin/python3}
BIN=$BUILD_DIR/bin
THREADS=$(nproc)
export OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS

if ! "$PYTHON" -c 'import torch, numpy, matplotlib' 2>/dev/null; then
  echo "bench/run.sh: $PYTHON lacks torch, numpy or matplotlib (Debian: python3-torch," \
       "python3-numpy, python3-matplotlib; or set PYTHON)" >&2
  exit 1
fi

start=$(date +%s)
step() { echo "bench: [$(( $(date +%s) - start ))s] $*"; }

if [ "${SKIP_BUILD:-0}" = 1 ] && [ -x "$BIN/densessm-bench-model" ]; then
  step "using the tools already built in $BUILD_DIR (SKIP_BUILD=1)"
  built="the build skipped (SKIP_BUILD=1)"
else
  built="build included"
  step "building $BUILD_DIR (Release): the compiler and the benchmarks"
  BUILD_DIR=$BUILD_DIR BUILD_TYPE=Release \
    BUILD_TARGETS="densessm-compile densessm-bench-machine densessm-bench-kernels densessm-bench-model" \
    bash scripts/build.sh >/dev/null
fi
mkdir -p "$RESULTS/models"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

step "machine: bandwidth and FMA peak"
grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //' > "$RESULTS/cpu.txt"
"$BIN/densessm-bench-machine" > "$RESULTS/machine.json"
cat "$RESULTS/machine.json"

# The models: name, family, checkpoint writer flags (the shapes
# scripts/gpu-check.sh uses).
MODELS=(
  "mamba-130m|mamba|--tied --set hidden_size=768 --set num_hidden_layers=24 --set vocab_size=50280 --set state_size=16 --set time_step_rank=auto"
  "densemamba-130m|densemamba|--tied --set hidden_size=768 --set num_hidden_layers=24 --set vocab_size=50280 --set state_size=16 --set time_step_rank=auto --set dense_block_layers=2"
  "denseretnet-350m|denseretnet|--set hidden_size=1024 --set query_key_dim=512 --set num_attention_heads=4 --set num_hidden_layers=24 --set vocab_size=50280 --set dense_block_layers=2"
)
# DenseRetNet-350M once more, from the same checkpoint, with its linear
# layers' weights stored in bf16 (densessm-compile --weight-type=bf16):
# decode at batch 1, next to the f32 module and PyTorch's f32 run
# (bench/report.py pairs a "-bf16" name with the model before the suffix).
BF16_SOURCE=denseretnet-350m
BF16_MODEL=$BF16_SOURCE-bf16
# densessm-compile is single-threaded: the modules compile two at a time,
# the slowest (the last listed, and its bf16 variant) first.
compiled=0
compile_in_background() { # checkpoint dir, module file, extra flags...
  if [ "$(jobs -rp | wc -l)" -ge "$THREADS" ]; then
    wait -n || { echo "bench: densessm-compile failed" >&2; exit 1; }
  fi
  "$BIN/densessm-compile" "$1" -o "$2" --quiet "${@:3}" &
  compiled=$((compiled + 1))
}
for (( i = ${#MODELS[@]} - 1; i >= 0; i-- )); do
  IFS='|' read -r name family flags <<< "${MODELS[$i]}"
  ckpt=$RESULTS/models/$name
  if [ ! -f "$ckpt/config.json" ] || [ ! -f "$ckpt.dssm" ]; then
    step "writing and compiling $name"
    # shellcheck disable=SC2086
    python3 models/checkpoints/write_random_checkpoint.py --family "$family" --out "$ckpt" \
      $flags >/dev/null
    compile_in_background "$ckpt" "$ckpt.dssm"
    if [ "$name" = "$BF16_SOURCE" ]; then
      rm -f "$RESULTS/models/$BF16_MODEL.dssm" # a new checkpoint: recompile the variant
    fi
  fi
  if [ "$name" = "$BF16_SOURCE" ] && [ ! -f "$RESULTS/models/$BF16_MODEL.dssm" ]; then
    step "compiling $BF16_MODEL (--weight-type=bf16)"
    compile_in_background "$ckpt" "$RESULTS/models/$BF16_MODEL.dssm" --weight-type=bf16
  fi
done
while [ "$(jobs -rp | wc -l)" -gt 0 ]; do
  wait -n || { echo "bench: densessm-compile failed" >&2; exit 1; }
done
step "models compiled"
describe=()
for entry in "${MODELS[@]}"; do
  IFS='|' read -r name _ _ <<< "$entry"
  describe+=("$name=$RESULTS/models/$name")
done
describe+=("$BF16_MODEL=$RESULTS/models/$BF16_SOURCE")
"$PYTHON" bench/describe_models.py "${describe[@]}" > "$RESULTS/models.json"

step "kernels: densessm and the naive loops"
"$BIN/densessm-bench-kernels" --benchmark_min_time=0.3 \
  --benchmark_out="$RESULTS/kernels.json" --benchmark_out_format=json \
  --benchmark_format=console | grep -v '^\*\*\*WARNING' || true
[ -s "$RESULTS/kernels.json" ] || { echo "bench: the kernel benchmark failed" >&2; exit 1; }

step "kernels: PyTorch eager ($THREADS threads)"
"$PYTHON" bench/torch_reference.py kernels --threads="$THREADS" > "$RESULTS/torch_kernels.jsonl"

# Whole models: batch 1 at three prompt lengths (cost growth and decode at
# three positions), batch 8 at the shortest (decode batch 8, memory against
# batch); 8 decode steps each. Sized so the whole report takes under 20
# minutes on the 2-core machine: PyTorch's prefill of 2048 tokens alone
# takes about a minute per model there.
CONFIGS=("1 128" "1 512" "1 2048" "8 128")
STEPS=8
: > "$RESULTS/models.jsonl"
for entry in "${MODELS[@]}"; do
  IFS='|' read -r name _ _ <<< "$entry"
  ckpt=$RESULTS/models/$name
  for config in "${CONFIGS[@]}"; do
    read -r batch prompt <<< "$config"
    step "model $name, batch $batch, prompt $prompt: densessm, PyTorch"
    "$BIN/densessm-bench-model" "$ckpt.dssm" --batch="$batch" --prompt="$prompt" \
      --steps=$STEPS >> "$RESULTS/models.jsonl"
    "$PYTHON" bench/torch_reference.py model "$ckpt" --batch="$batch" --prompt="$prompt" \
      --steps=$STEPS --threads="$THREADS" >> "$RESULTS/models.jsonl"
  done
done
read -r batch prompt <<< "${CONFIGS[0]}"
step "model $BF16_MODEL, batch $batch, prompt $prompt: densessm"
"$BIN/densessm-bench-model" "$RESULTS/models/$BF16_MODEL.dssm" --batch="$batch" \
  --prompt="$prompt" --steps=$STEPS >> "$RESULTS/models.jsonl"

load_after=$(cut -d' ' -f1-3 /proc/loadavg)
"$PYTHON" - "$RESULTS/run.json" "$load_before" "$load_after" "$(( $(date +%s) - start ))" \
  "$built" "$compiled" "$(( ${#MODELS[@]} + 1 ))" <<'EOF'
import json, sys, time, torch
path, before, after, seconds, built, compiled, models = sys.argv[1:]
note = (f"Load average (1, 5, 15 min) when the benchmarks started: {before}; when they ended: "
        f"{after}, on {json.load(open(path.replace('run.json', 'machine.json')))['cores']} cores "
        f"(a load above the core count means other work shared the machine and the absolute "
        f"figures are low; the ratios are measured side by side). The run took {seconds} s, "
        f"{built}; {compiled} of {models} models compiled in this run"
        f"{'' if compiled == models else ' (the others reused from an earlier one)'}.")
json.dump({"torch": torch.__version__, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
           "note": note, "seconds": int(seconds), "built": built == "build included",
           "models_compiled": int(compiled), "models": int(models)}, open(path, "w"))
EOF
step "writing the report"
"$PYTHON" bench/report.py "$RESULTS" --out "$DOCS_DIR"
step "done"
