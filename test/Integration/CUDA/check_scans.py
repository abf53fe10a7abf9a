"""densessm.selective_scan and densessm.retention compiled through
--densessm-cuda-pipeline against the double-precision references of the CPU
tests (test/Integration/CPU: reference.py, and check_selective_scan.py /
check_retention.py, whose cases and checks are reused as they are): whole
sequences (the chunked parallel-scan kernel) with and without a carried
state, a sequence split in two, one token at a time (the recurrent step
kernel), bf16, grouped B/C, dynamic sizes; plus sequences longer than a
chunk, so that the carry passes between chunks and across warps; for
retention, the chunkwise kernel (chunkwise_cases.py); and the projections
(linear layers: the GEMV kernel, cuBLAS, projection_cases.py) around them.

Two ways to run the kernels:

  --mode gpu       the full pipeline (PTX, host code calling the mgpu*
                   functions), run by mlir-runner with the CUDA runtime
                   wrappers on a GPU;
  --mode emulate   the pipeline stopped at the GPU dialect
                   (stop-at-gpu=true), run by gpu_emulator.py: every thread
                   of every block, in lockstep at shuffles and barriers, on
                   the CPU. Smaller blocks keep it fast.

    check_scans.py --mode gpu --opt densessm-opt --runner mlir-runner \\
        --runner-libs libmlir_cuda_runtime.so,libmlir_c_runner_utils.so,...
    check_scans.py --mode emulate --opt densessm-opt [--ops selective_scan]
"""

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "CPU"))

import harness  # noqa: E402
import check_retention  # noqa: E402
import check_selective_scan  # noqa: E402
import chunkwise_cases  # noqa: E402
import projection_cases  # noqa: E402
import reduction_cases  # noqa: E402
import reference  # noqa: E402

# Emulated blocks are small (one warp, two tokens per thread: 64-token
# chunks) so that every thread can be interpreted; the long cases below use
# two warps. The recurrent step gets three warps, which split the cases'
# 2 to 5 keys unevenly (the column scan's runs below give it one).
EMULATED = "--densessm-cuda-pipeline=stop-at-gpu=true scan-block-size=32 " \
           "tokens-per-thread=2 recurrent-block-size=96 loop-block-size=32 gemv-block-size=64"
EMULATED_TWO_WARPS = "--densessm-cuda-pipeline=stop-at-gpu=true scan-block-size=64 " \
                     "tokens-per-thread=1 recurrent-block-size=64 loop-block-size=64"
# The column scan forced (it takes over from 4096 columns, more than any
# case here has): three warps along time, chunks of six tokens.
EMULATED_COLUMNS = "--densessm-cuda-pipeline=stop-at-gpu=true scan-block-size=96 " \
                   "column-scan-min-columns=0 column-tokens-per-thread=2 " \
                   "recurrent-block-size=32 loop-block-size=32 gemv-block-size=64"
# The recurrent step with one warp, so that a thread's 37 keys take three
# passes of the key loop (16 keys each, the last partly past K; 4 keys a
# pass when K is dynamic).
EMULATED_ONE_WARP_STEP = "--densessm-cuda-pipeline=stop-at-gpu=true scan-block-size=32 " \
                         "tokens-per-thread=2 recurrent-block-size=32 loop-block-size=32"
MANY_KEYS_MAMBA = [dict(name=f"many-keys{suffix}", batch=1, length=3, channels=3, state=37,
                        groups=None, softplus=True, D=True, z=True, bias=True, dynamic=dynamic)
                   for suffix, dynamic in (("", False), (" dynamic", True))]
MANY_KEYS_RETENTION = [dict(name=f"many-keys{suffix}", batch=1, length=3, heads=2, key_dim=37,
                            value_dim=3, normalization="authors", dynamic=dynamic)
                       for suffix, dynamic in (("", False), (" dynamic", True))]
FULL = "--densessm-cuda-pipeline"
FULL_COLUMNS = "--densessm-cuda-pipeline=column-scan-min-columns=0"


def cases_of(module, pipeline):
    """The CPU test's cases on the CUDA pipeline (its CPU-only variants,
    which select a CPU pipeline option, left out)."""
    return [dict(case, pipeline=pipeline) for case in module.CASES
            if "pipeline" not in case]


def column_cases_of(module, pipeline):
    """The same cases with the column scan forced in the parallel schedule."""
    return [dict(case, name=f"{case['name']} (column scan)")
            for case in cases_of(module, pipeline)]


def long_selective_scan(tools, check, pipeline, name, batch, length, channels, state):
    """One Mamba scan longer than a chunk, from zeros and from a carried
    state, against the reference (no token-by-token run: L is large)."""
    case = dict(name=name, batch=batch, length=length, channels=channels, state=state,
                groups=None, softplus=True, D=True, z=True, bias=True)
    rng = harness.seeded(sum(map(ord, name)))
    b, L, d, n = batch, length, channels, state
    inputs = dict(u=harness.random_tensor(rng, [b, L, d]),
                  delta=harness.random_tensor(rng, [b, L, d], -1.0, 1.0),
                  A=harness.random_tensor(rng, [d, n], -2.0, -0.1),
                  B=harness.random_tensor(rng, [b, L, n]), C=harness.random_tensor(rng, [b, L, n]),
                  D=harness.random_tensor(rng, [d]), z=harness.random_tensor(rng, [b, L, d]),
                  bias=harness.random_tensor(rng, [d], -0.5, 0.5))
    s0 = harness.random_tensor(rng, [b, d, n])
    for state_in in (None, s0):
        args = [harness.Argument(inputs[k]) for k in ("u", "delta", "A", "B", "C", "D", "z", "bias")]
        if state_in is not None:
            args.append(harness.Argument(state_in))
        y, s = harness.run(tools, check_selective_scan.kernel(case, L, state_in is not None), args,
                           [[b, L, d], [b, d, n]], pipeline=pipeline)
        want_y, want_s = reference.selective_scan(
            inputs["u"], inputs["delta"], inputs["A"], inputs["B"], inputs["C"], D=inputs["D"],
            z=inputs["z"], delta_bias=inputs["bias"], initial_state=state_in, delta_softplus=True)
        label = f"{name}: L={L} {'carried state' if state_in is not None else 'from zeros'}"
        check.close(f"{label} y", y, want_y)
        check.close(f"{label} final state", s, want_s)


def long_retention(tools, check, pipeline, name, batch, length, heads, key_dim, value_dim):
    case = dict(name=name, batch=batch, length=length, heads=heads, key_dim=key_dim,
                value_dim=value_dim, normalization="authors")
    rng = harness.seeded(sum(map(ord, name)))
    b, L, h = batch, length, heads
    q = harness.random_tensor(rng, [b, L, h, key_dim])
    k = harness.random_tensor(rng, [b, L, h, key_dim])
    v = harness.random_tensor(rng, [b, L, h, value_dim])
    decay = [1 - 2 ** (-5 - j) for j in range(h)]
    s0 = harness.random_tensor(rng, [b, h, key_dim, value_dim])
    starts = [3 + 5 * i for i in range(b)]
    for position, state_in in (([0] * b, None), (starts, s0)):
        args = [harness.Argument(q), harness.Argument(k), harness.Argument(v),
                harness.Argument(decay), harness.Argument(position, "i64")]
        if state_in is not None:
            args.append(harness.Argument(state_in))
        o, s = harness.run(tools, check_retention.kernel(case, L, state_in is not None), args,
                           [[b, L, h, value_dim], [b, h, key_dim, value_dim]], pipeline=pipeline)
        want_o, want_s = reference.retention(q, k, v, decay, position=position,
                                             initial_state=state_in)
        label = f"{name}: L={L} at positions {position}"
        check.close(f"{label} o", o, want_o)
        check.close(f"{label} final state", s, want_s)


def dense_retention(tools, check, pipeline, batch, length, heads, key_dim, value_dim, kept,
                    kernel=""):
    """DenseRetNet's v path: a dense connection (gate, add, RMSNorm) read only
    as retention's values, which the pipeline folds into the scan (the
    statistics kernel, then the scan kernels recomputing each connected
    value): a whole sequence from zeros (chunked scan), then one token from a
    carried state at a later position (recurrent step)."""
    rng = harness.seeded(31 + length)
    b, h, dk, dv = batch, heads, key_dim, value_dim
    E, H, R = h * dv, 8, 2
    decay = [1 - 2 ** (-5 - j) for j in range(h)]
    fc1 = harness.random_tensor(rng, [R, H])
    fc2 = harness.random_tensor(rng, [E, R])
    norm = harness.random_tensor(rng, [E], 0.5, 1.5)
    ty = harness.tensor_type
    for L, position, with_state in ((length, 0, False), (1, 9, True)):
        q = harness.random_tensor(rng, [b, L, h, dk])
        k = harness.random_tensor(rng, [b, L, h, dk])
        v = harness.random_tensor(rng, [b, L, E])
        keep = [harness.random_tensor(rng, [b, L, E]) for _ in range(kept)]
        x = harness.random_tensor(rng, [b, L, H])
        s0 = harness.random_tensor(rng, [b, h, dk, dv]) if with_state else None
        names = ["q", "k", "v"] + [f"v{i}" for i in range(kept)] + ["x", "fc1", "fc2", "w", "g", "p"]
        types = [ty([b, L, h, dk], "f32")] * 2 + [ty([b, L, E], "f32")] * (1 + kept) + [
            ty([b, L, H], "f32"), ty([R, H], "f32"), ty([E, R], "f32"), ty([E], "f32"),
            ty([h], "f32"), ty([b], "i64")]
        values = [q, k, v] + keep + [x, fc1, fc2, norm, decay, [position] * b]
        if with_state:
            names.append("s0")
            types.append(ty([b, h, dk, dv], "f32"))
            values.append(s0)
        kept_args = ", ".join(f"%v{i}" for i in range(kept))
        connect_types = ", ".join([ty([b, L, E], "f32")] * (1 + kept) + types[3 + kept:7 + kept])
        out, state = ty([b, L, h, dv], "f32"), ty([b, h, dk, dv], "f32")
        retention_types = types[:2] + [out, ty([h], "f32"), ty([b], "i64")] + (
            [state] if with_state else [])
        params = ", ".join(f"%{n}: {t}" for n, t in zip(names, types))
        text = (f"func.func @kernel({params}) -> ({out}, {state}) {{\n"
                f"  %vf = densessm.dense_connect %v, [{kept_args}] gate(%x, %fc1, %fc2)"
                f" norm(%w) : {connect_types}\n"
                f"  %vh = tensor.expand_shape %vf [[0], [1], [2, 3]]"
                f" output_shape [{b}, {L}, {h}, {dv}] : {ty([b, L, E], 'f32')} into {out}\n"
                f"  %o, %s = densessm.retention %q, %k, %vh decay(%g) position(%p)"
                f"{' initial_state(%s0)' if with_state else ''}"
                f" : {', '.join(retention_types)} -> {out}, {state}\n"
                f"  return %o, %s : {out}, {state}\n}}\n")
        o, s = harness.run(tools, text, [harness.Argument(val, "i64" if n == "p" else "f32")
                                         for n, val in zip(names, values)],
                           [[b, L, h, dv], [b, h, dk, dv]], pipeline=pipeline)
        fused = reference.dense_connect(v, keep, gate=(x, fc1, fc2), norm_weight=norm, eps=1e-6)
        heads_v = [[[row[j * dv:(j + 1) * dv] for j in range(h)] for row in seq] for seq in fused]
        want_o, want_s = reference.retention(q, k, heads_v, decay, position=[position] * b,
                                             initial_state=s0)
        label = f"dense retention (m={kept}{kernel}): L={L} at position {position}"
        check.close(f"{label} o", o, want_o)
        check.close(f"{label} final state", s, want_s)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=["gpu", "emulate"], required=True)
    parser.add_argument("--opt", required=True)
    parser.add_argument("--runner", help="mlir-runner (--mode gpu)")
    parser.add_argument("--runner-libs", default="",
                        help="the CUDA runtime wrappers and runner utils (--mode gpu)")
    parser.add_argument("--ops", default="selective_scan,retention",
                        help="comma-separated: selective_scan, retention, projection, reduction")
    args = parser.parse_args(argv)
    ops = args.ops.split(",")

    if args.mode == "emulate":
        # harness.run hands the lowered module to the "runner" in custom
        # form; the emulator turns it into generic form with this tool.
        os.environ["DENSESSM_OPT"] = args.opt
        tools = harness.Tools(args.opt, os.path.join(HERE, "gpu_emulator.py"), "")
        pipeline, long_pipeline = EMULATED, EMULATED_TWO_WARPS
        columns, one_warp_step = EMULATED_COLUMNS, EMULATED_ONE_WARP_STEP
    else:
        if not args.runner:
            parser.error("--mode gpu needs --runner")
        tools = harness.Tools(args.opt, args.runner, args.runner_libs)
        pipeline, long_pipeline, columns, one_warp_step = FULL, FULL, FULL_COLUMNS, FULL

    check = harness.Checker()
    if "selective_scan" in ops:
        for case in cases_of(check_selective_scan, pipeline):
            check_selective_scan.run_case(tools, check, case)
        # Two chunks of 64 tokens over two warps each (emulated), or one
        # chunk of 512 over four warps (the pipeline's defaults), carried.
        long_selective_scan(tools, check, long_pipeline, "long-mamba", 1, 70, 3, 4)
        if args.mode == "gpu":
            long_selective_scan(tools, check, long_pipeline, "longer-mamba", 2, 1100, 40, 16)
        # The column scan: partial warps of columns, chunks carried.
        for case in column_cases_of(check_selective_scan, columns):
            check_selective_scan.run_case(tools, check, case)
        long_selective_scan(tools, check, columns, "long-mamba (column scan)", 2, 40, 35, 3)
        for case in MANY_KEYS_MAMBA:
            check_selective_scan.run_case(tools, check, dict(case, pipeline=one_warp_step))
    if "retention" in ops:
        for case in cases_of(check_retention, pipeline):
            check_retention.run_case(tools, check, case)
        long_retention(tools, check, long_pipeline, "long-retention", 1, 70, 2, 3, 2)
        dense_retention(tools, check, pipeline, 2, 6, 2, 3, 4, 2)
        for case in column_cases_of(check_retention, columns):
            check_retention.run_case(tools, check, case)
        dense_retention(tools, check, columns, 2, 6, 2, 3, 4, 2, kernel=", column scan")
        # 80 connected values per token over 32-thread blocks: the step's
        # statistics in three parts (two full, one of 16 values).
        dense_retention(tools, check, columns, 2, 6, 2, 3, 40, 1,
                        kernel=", column scan, statistics in 3 parts")
        chunkwise_cases.run_all(tools, check, pipeline, dense_retention)
        for case in MANY_KEYS_RETENTION:
            check_retention.run_case(tools, check, dict(case, pipeline=one_warp_step))
        if args.mode == "gpu":
            # The pipeline's defaults: 300 tokens pass the chunkwise
            # threshold (256) and span five chunks of 64.
            long_retention(tools, check, FULL, "longer-retention", 1, 300, 2, 8, 8)
    if "projection" in ops:
        projection_cases.run_all(tools, check, pipeline)
    if "reduction" in ops:
        reduction_cases.run_all(tools, check, pipeline)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
