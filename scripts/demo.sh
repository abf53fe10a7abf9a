#!/usr/bin/env bash
# The main job, for now: runs the bundled example models (models/examples/)
# through densessm-opt — verify, fix each function's schedule, canonicalise —
# prints what each model holds, then compiles each one for the CPU
# (--densessm-cpu-pipeline, mlir-translate, clang) into an object file.
# (The end-to-end compile-and-generate demo replaces this with the runtime.)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
OPT="$BUILD_DIR/bin/densessm-opt"
OUT="$BUILD_DIR/demo"
mkdir -p "$OUT"

for model in mamba densemamba retnet denseretnet; do
  src="models/examples/$model.mlir"
  dst="$OUT/$model.mlir"
  echo "== $model: $src"
  grep -m1 '^// config:' "$src" | sed 's|^// config: |   config: |'
  "$OPT" "$src" --densessm-select-schedule --canonicalize -o "$dst"
  for fn in prefill step; do
    sig=$(grep "func.func @$fn(" "$dst")
    schedule=$(sed -n 's/.*#densessm.schedule<\([a-z]*\)>.*/\1/p' <<<"$sig")
    weights=$(grep -o 'densessm.weight' <<<"$sig" | wc -l)
    results=$(sed -n 's/.*) -> (\(.*\)) attributes.*/\1/p' <<<"$sig")
    echo "   @$fn  schedule=$schedule  weights=$weights"
    echo "      returns: $results"
  done
  echo "   densessm ops after canonicalisation (both functions):"
  "$OPT" "$dst" --print-op-stats -o /dev/null 2>&1 \
    | grep -E 'densessm\.' | sed 's/^ */      /'
  echo "   written: $dst"
  start=$(date +%s%N)
  "$OPT" "$src" --densessm-cpu-pipeline -o "$OUT/$model.llvm.mlir"
  /usr/lib/llvm-22/bin/mlir-translate --mlir-to-llvmir "$OUT/$model.llvm.mlir" -o "$OUT/$model.ll"
  clang++-22 -O3 -march=native -Wno-override-module -c "$OUT/$model.ll" -o "$OUT/$model.o"
  took_ms=$(( ($(date +%s%N) - start) / 1000000 ))
  entries=$(/usr/lib/llvm-22/bin/llvm-nm "$OUT/$model.o" | grep -cE ' T (prefill|step)$')
  echo "   compiled for the CPU in ${took_ms} ms: $OUT/$model.o" \
       "($(stat -c %s "$OUT/$model.o") bytes, entry points @prefill and @step: $entries of 2)"
done
echo "demo: all four example models verified, canonicalised and compiled for the CPU"
