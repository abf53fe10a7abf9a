#!/usr/bin/env bash
# The main job: compiles the bundled tiny DenseRetNet checkpoint
# (models/examples/denseretnet-tiny: config.json + model.safetensors, random
# weights) into a module file and generates with it through the runtime,
# printing each phase and the timings.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BUILD_DIR:-build}/bin
OUT=${BUILD_DIR:-build}/demo
CKPT=models/examples/denseretnet-tiny
mkdir -p "$OUT"

echo "== 1. compile the checkpoint $CKPT for the CPU"
"$BIN/densessm-compile" "$CKPT" -o "$OUT/denseretnet.dssm" --target=cpu

echo
echo "== 2. what the module holds"
"$BIN/densessm-dump-module" "$OUT/denseretnet.dssm" \
  | sed -e 's/\(config *\).\{100\}.*/\1(the checkpoint'"'"'s config.json)/' \
  | grep -v -e '^    in   State' -e '^    out  State'

echo
echo "== 3. generate 16 tokens after a 3-token prompt (greedy), logits to $OUT/logits.npy"
"$BIN/densessm-run" "$OUT/denseretnet.dssm" --tokens=1,2,3 --generate=16 \
  --dump-logits="$OUT/logits.npy"

echo
echo "== 4. a batch of three prompts of different lengths, sampled (T=0.8, top-k 20)"
"$BIN/densessm-run" "$OUT/denseretnet.dssm" --tokens=1,2,3:4,5:6,7,8,9,10 \
  --generate=8 --temperature=0.8 --top-k=20 --seed=7

echo
echo "== 5. the same prompt with a recurrent prefill (one step per token)"
"$BIN/densessm-run" "$OUT/denseretnet.dssm" --tokens=1,2,3 --generate=16 \
  --prefill=recurrent

echo
echo "== 6. each compiler stage on its own: densessm IR and LLVM IR"
"$BIN/densessm-compile" "$CKPT" --emit=mlir -o "$OUT/denseretnet.mlir" --quiet
"$BIN/densessm-compile" "$CKPT" --emit=llvm -o "$OUT/denseretnet.ll" --quiet
echo "   $OUT/denseretnet.mlir: $(grep -c 'densessm\.' "$OUT/denseretnet.mlir") lines with densessm ops"
echo "   $OUT/denseretnet.ll: $(grep -c '^define' "$OUT/denseretnet.ll") LLVM functions"
echo
echo "demo: compiled, ran and generated with the bundled DenseRetNet"
