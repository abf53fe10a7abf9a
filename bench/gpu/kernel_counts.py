#!/usr/bin/python3
"""Kernels per decode step of the CUDA pipeline, for the four example models
(models/examples/*.mlir), with each kernel-cutting step of the pipeline
turned off in turn: counted in the IR (stop-at-gpu), not on a GPU.

  bench/gpu/kernel_counts.py [--opt build/bin/densessm-opt]

A decode step launches the kernels of its host code outside the `else`
blocks of the projections' run-time choice (few rows: the GEMV side).
Every launch costs the CPU microseconds and the GPU an idle gap, which a
step that streams its weights in a fraction of a millisecond cannot afford:
this table says how many remain. Prints a Markdown table."""

import argparse
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT / "test" / "Integration" / "CUDA"))
from host_launches import launches_outside_else_blocks  # noqa: E402

MODELS = ["mamba", "densemamba", "retnet", "denseretnet"]
# Each column: the pipeline options, cumulative from left to right.
CONFIGS = [
    ("none of them", "fuse-elementwise=false fuse-loops=false fuse-gemv-epilogues=false "
                     "fuse-gemv-prologues=false fuse-gemv-siblings=false "
                     "fold-kernel-producers=false fuse-kernels=false"),
    ("+ elementwise fusion", "fuse-loops=false fuse-gemv-epilogues=false fuse-gemv-prologues=false "
                             "fuse-gemv-siblings=false fold-kernel-producers=false "
                             "fuse-kernels=false"),
    ("+ loop fusion", "fuse-gemv-epilogues=false fuse-gemv-prologues=false "
                      "fuse-gemv-siblings=false fold-kernel-producers=false fuse-kernels=false"),
    ("+ GEMV epilogues", "fuse-gemv-prologues=false fuse-gemv-siblings=false "
                         "fold-kernel-producers=false fuse-kernels=false"),
    ("+ GEMV prologues", "fuse-gemv-siblings=false fold-kernel-producers=false "
                         "fuse-kernels=false"),
    ("+ sibling GEMVs", "fold-kernel-producers=false fuse-kernels=false"),
    ("+ producers in scan kernels", "fuse-kernels=false"),
    ("+ sibling kernels (default)", ""),
]


def function(text, name):
    """The text of func.func @name in the module `text`."""
    start = text.index(f"func.func @{name}(")
    return text[start:text.index("\n  }\n", start)]


def count(opt, model, options):
    source = ROOT / "models" / "examples" / f"{model}.mlir"
    lowered = subprocess.run(
        [opt, str(source), f"--densessm-cuda-pipeline=stop-at-gpu=true {options}"],
        capture_output=True, text=True, check=True).stdout
    return launches_outside_else_blocks(function(lowered, "step"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--opt", default=str(ROOT / "build" / "bin" / "densessm-opt"))
    args = parser.parse_args()
    print("| model (tiny example) | " + " | ".join(name for name, _ in CONFIGS) + " |")
    print("| --- |" + " ---: |" * len(CONFIGS))
    for model in MODELS:
        counts = [count(args.opt, model, options) for _, options in CONFIGS]
        print(f"| {model} | " + " | ".join(str(c) for c in counts) + " |")


if __name__ == "__main__":
    main()
