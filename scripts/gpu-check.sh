#!/usr/bin/env bash
# The GPU checks, in one go, on a machine with one NVIDIA GPU: builds, runs
# every test that needs the GPU (lit feature cuda-gpu) next to the CUDA
# compile checks, measures decode on the GPU against the CPU for a
# DenseRetNet-350M-shaped and a Mamba-130M-shaped random model, and prints
# one summary table. Budget: under 8 minutes.
#
#   bash scripts/gpu-check.sh            (after scripts/setup.sh)
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
BIN=$BUILD_DIR/bin
WORK=${WORK:-$BUILD_DIR/gpu-check}
mkdir -p "$WORK"
declare -a ROWS

row() { ROWS+=("$(printf '%-44s %-8s %s' "$1" "$2" "$3")"); }

if ! nvidia-smi -L >/dev/null 2>&1; then
  echo "gpu-check: no GPU here (nvidia-smi -L failed); nothing to check" >&2
  exit 1
fi
GPU=$(nvidia-smi -L | head -1)

echo "== build"
bash scripts/build.sh >"$WORK/build.log" 2>&1 && row "build" PASS "" \
  || { row "build" FAIL "$WORK/build.log"; }

echo "== GPU and CUDA tests"
LIT=/usr/lib/llvm-22/bin/lit
for t in test/Integration/CUDA test/Integration/Tools/cuda-target.test \
         test/Integration/Tools/cuda-ptx.test test/Pipelines/densessm-cuda-pipeline.mlir; do
  name=${t#test/}
  if "$LIT" -q --show-unsupported "$BUILD_DIR/$t" >"$WORK/lit-${name//\//_}.log" 2>&1; then
    if grep -q "Unsupported" "$WORK/lit-${name//\//_}.log"; then
      row "lit $name" SKIPPED "see $WORK/lit-${name//\//_}.log"
    else
      row "lit $name" PASS ""
    fi
  else
    row "lit $name" FAIL "$WORK/lit-${name//\//_}.log"
  fi
done

echo "== decode on the GPU and the CPU"
decode() { # family, name, extra --set flags
  local family=$1 name=$2; shift 2
  local ckpt=$WORK/$name module=$WORK/$name.dssm
  python3 models/checkpoints/write_random_checkpoint.py --family "$family" \
    --out "$ckpt" --dtype bf16 "$@" >/dev/null
  if ! "$BIN/densessm-compile" "$ckpt" -o "$module" --target=cuda --quiet \
      >"$WORK/$name.compile.log" 2>&1; then
    row "decode $name" FAIL "compile: $WORK/$name.compile.log"; return
  fi
  for device in cuda cpu; do
    out=$("$BIN/densessm-run" "$module" --device=$device --tokens=1,2,3,4,5,6,7,8 \
          --generate=32 2>&1)
    rate=$(sed -n 's/^decode: .*(\([0-9.]*\) tokens\/s.*/\1/p' <<<"$out")
    [ -n "$rate" ] && row "decode $name batch 1 ($device)" PASS "$rate tokens/s" \
                   || row "decode $name batch 1 ($device)" FAIL "$(tail -1 <<<"$out")"
  done
}
decode denseretnet denseretnet-350m --set hidden_size=1024 --set query_key_dim=512 \
  --set num_attention_heads=4 --set num_hidden_layers=24 --set vocab_size=50280
decode mamba mamba-130m --tied --set hidden_size=768 --set num_hidden_layers=24 \
  --set vocab_size=50280 --set state_size=16 --set time_step_rank=auto

echo
echo "gpu-check on $GPU"
printf '%-44s %-8s %s\n' "check" "result" "detail"
for r in "${ROWS[@]}"; do echo "$r"; done
! printf '%s\n' "${ROWS[@]}" | grep -q " FAIL "
