#!/usr/bin/env python3
"""The parallel selective scan's throughput on the GPU, in state updates per
second (batch x length x channels x state size per call), for the shape
issue 5 names: B=8, L=2048, d_inner=1536, N=16, Mamba's options (D skip,
z gate, Δ bias and softplus), f32 (or --dtype bf16) activations.

It writes a program — @kernel, one densessm.selective_scan, and @main,
which fills the inputs, calls @kernel once to warm up (kernel loading, first
touch of the buffers), then --reps times between two rtclock() calls —
compiles it with densessm-opt --densessm-cuda-pipeline and runs it with
mlir-runner, the mgpu* functions coming from libdensessm_runtime.so. Each
call allocates its results and frees them, as a model's prefill does (the
runtime's DeviceMemoryPool reuses them). Every launch is synchronous, so
the clock measures finished work.

    scan_throughput.py --opt build/bin/densessm-opt --runner mlir-runner \\
        --runner-libs build/lib/libdensessm_runtime.so,<llvm>/libmlir_c_runner_utils.so
    prints: scan_shape=... seconds_per_call=... state_updates_per_s=...

--options passes pipeline options (`--options "column-scan-min-columns=-1"`
measures the chunked scan, `"column-tokens-per-thread=16 scan-block-size=256"`
another shape of the column scan); the line printed names them.

--emulate runs a tiny shape through test/Integration/CUDA/gpu_emulator.py
instead (no GPU), to check the program itself.
"""

import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def program(b, length, d, n, dtype, reps):
    act = f"tensor<{b}x{length}x{d}x{dtype}>"
    bc = f"tensor<{b}x{length}x{n}x{dtype}>"
    mat = f"tensor<{d}x{n}xf32>"
    vec = f"tensor<{d}xf32>"
    state = f"tensor<{b}x{d}x{n}xf32>"
    inputs = [("u", act, "0.5"), ("delta", act, "0.1"), ("A", mat, "-0.5"), ("B", bc, "0.3"),
              ("C", bc, "0.3"), ("D", vec, "1.0"), ("z", act, "0.2"), ("bias", vec, "0.1")]
    params = ", ".join(f"%{name}: {ty}" for name, ty, _ in inputs)
    types = ", ".join(ty for _, ty, _ in inputs)
    lines = [
        f"func.func @kernel({params}) -> ({act}, {state}) {{",
        f"  %y, %s = densessm.selective_scan %u, %delta, %A, %B, %C D(%D) z(%z)"
        f" delta_bias(%bias) {{delta_softplus}} : {types} -> {act}, {state}",
        f"  return %y, %s : {act}, {state}",
        "}",
        "func.func @main() {",
    ]
    for name, ty, value in inputs:
        element = ty[ty.rindex("x") + 1:-1]
        lines += [f"  %{name}_v = arith.constant {value} : {element}",
                  f"  %{name}_e = tensor.empty() : {ty}",
                  f"  %{name} = linalg.fill ins(%{name}_v : {element}) outs(%{name}_e : {ty}) -> {ty}"]
    args = ", ".join(f"%{name}" for name, _, _ in inputs)
    call = f"func.call @kernel({args}) : ({types}) -> ({act}, {state})"
    lines += [
        f"  %warm:2 = {call}",
        "  %c0 = arith.constant 0 : index",
        "  %c1 = arith.constant 1 : index",
        f"  %reps = arith.constant {reps} : index",
        "  %t0 = call @rtclock() : () -> f64",
        "  scf.for %i = %c0 to %reps step %c1 {",
        f"    %r:2 = {call}",
        "  }",
        "  %t1 = call @rtclock() : () -> f64",
        "  %dt = arith.subf %t1, %t0 : f64",
        "  call @printF64(%dt) : (f64) -> ()",
        "  call @printNewline() : () -> ()",
        # One value of the warm-up's result, so that a broken kernel shows.
        f"  %y0 = tensor.extract %warm#0[%c0, %c0, %c0] : {act}",
        f"  %y0f = {'arith.extf %y0 : ' + dtype + ' to f64' if dtype != 'f32' else 'arith.extf %y0 : f32 to f64'}",
        "  call @printF64(%y0f) : (f64) -> ()",
        "  call @printNewline() : () -> ()",
        "  return",
        "}",
        "func.func private @rtclock() -> f64",
        "func.func private @printF64(f64)",
        "func.func private @printNewline()",
    ]
    return "\n".join(lines) + "\n"


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--opt", required=True, help="densessm-opt")
    parser.add_argument("--runner", help="mlir-runner")
    parser.add_argument("--runner-libs", default="")
    parser.add_argument("--dtype", choices=["f32", "bf16", "f16"], default="f32")
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--shape", default="8,2048,1536,16", help="B,L,d_inner,N")
    parser.add_argument("--options", default="",
                        help="--densessm-cuda-pipeline options, space-separated")
    parser.add_argument("--emulate", action="store_true",
                        help="run a tiny shape on gpu_emulator.py (no GPU)")
    args = parser.parse_args(argv)
    b, length, d, n = (int(x) for x in args.shape.split(","))
    options = args.options.split()
    if args.emulate:
        b, length, d, n, args.reps = 1, 40, 2, 4, 2
        options = ["stop-at-gpu=true", "scan-block-size=32", "tokens-per-thread=2",
                   "recurrent-block-size=32", "loop-block-size=32"] + options
    pipeline = "--densessm-cuda-pipeline" + ("=" + " ".join(options) if options else "")
    text = program(b, length, d, n, args.dtype, args.reps)
    lowered = subprocess.run([args.opt, "-", pipeline], input=text, capture_output=True, text=True)
    if lowered.returncode != 0:
        print(f"scan_throughput: error: densessm-opt failed:\n{lowered.stderr}", file=sys.stderr)
        return 1
    if args.emulate:
        env = dict(os.environ, DENSESSM_OPT=args.opt)
        command = [sys.executable, os.path.join(HERE, "..", "..", "test", "Integration", "CUDA",
                                                "gpu_emulator.py"), "-", "-e", "main",
                   "-entry-point-result=void"]
    else:
        if not args.runner:
            parser.error("--runner is needed (or --emulate)")
        env = os.environ
        command = [args.runner, "-", "-e", "main", "-entry-point-result=void",
                   f"-shared-libs={args.runner_libs}"]
    ran = subprocess.run(command, input=lowered.stdout, capture_output=True, text=True, env=env)
    if ran.returncode != 0:
        print(f"scan_throughput: error: the program failed:\n{ran.stderr}", file=sys.stderr)
        return 1
    values = [float(v) for v in ran.stdout.split()]
    if len(values) != 2:
        print(f"scan_throughput: error: unexpected output:\n{ran.stdout}{ran.stderr}",
              file=sys.stderr)
        return 1
    seconds, y0 = values
    per_call = seconds / args.reps
    updates = b * length * d * n / per_call
    print(f"scan_shape=B{b}xL{length}xD{d}xN{n}:{args.dtype} "
          f"options={','.join(args.options.split()) or 'default'} "
          f"seconds_per_call={per_call:.6f} "
          f"state_updates_per_s={updates:.3e} y[0,0,0]={y0:.6f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
