"""The chunkwise retention kernel (ScanGPU/ChunkwiseRetentionKernel.cpp)
against double-precision references: the pipeline forced onto it
(chunkwise-min-length) with chunks of 16 tokens, so that small sequences
are shorter than, equal to, and several chunks long, not a multiple of the
chunk size; from zeros and from a carried state at later positions (initial
and final state); more than one key block (BK = 16) and value tile
(BV = 32); bf16 and f16 activations; a dynamic length (the run-time choice between
the chunked scan and the chunkwise kernel, both sides); DenseRetNet's fused
dense values; and the kernel-level scan with every operand a per-head decay
allows (grouped q/k, dt bias and softplus, input scale, dt scaling the
input, skip, gate) against a direct evaluation of the scan's recurrence.

Used by check_scans.py (retention), in both modes: the emulator runs these
small shapes in reasonable time; a GPU runs the same kernels."""

import math
import struct

import harness
import check_retention
import reference

CHUNK = 16


def pipeline_of(base, min_length=1):
    """The pipeline `base` (a --densessm-cuda-pipeline flag) with the
    chunkwise kernel chosen from `min_length` tokens, chunks of 16."""
    options = f"chunkwise-min-length={min_length} chunkwise-chunk-size={CHUNK}"
    if base.endswith("pipeline"):
        return f"{base}={options}"
    return f"{base} {options}"


def retention(tools, check, pipeline, name, batch, length, heads, key_dim, value_dim,
              dtype="f32", normalization="authors", dynamic=False):
    """densessm.retention over `length` tokens, from zeros at position 0 and
    from a carried state at per-sequence positions, against
    reference.retention (the parallel form, in doubles)."""
    case = dict(name=name, batch=batch, length=length, heads=heads, key_dim=key_dim,
                value_dim=value_dim, normalization=normalization, dtype=dtype,
                dynamic=dynamic)
    rng = harness.seeded(sum(map(ord, name)))
    b, L, h = batch, length, heads
    q = harness.random_tensor(rng, [b, L, h, key_dim])
    k = harness.random_tensor(rng, [b, L, h, key_dim])
    v = harness.random_tensor(rng, [b, L, h, value_dim])
    if dtype == "bf16":
        q, k, v = harness.round_bf16(q), harness.round_bf16(k), harness.round_bf16(v)
    rtol = 1e-2 if dtype == "bf16" else 1e-4
    decay = [1 - 2 ** (-5 - j) for j in range(h)]
    s0 = harness.random_tensor(rng, [b, h, key_dim, value_dim])
    starts = [3 + 5 * i for i in range(b)]
    for position, state_in in (([0] * b, None), (starts, s0)):
        args = [harness.Argument(q, dtype), harness.Argument(k, dtype),
                harness.Argument(v, dtype), harness.Argument(decay),
                harness.Argument(position, "i64")]
        if state_in is not None:
            args.append(harness.Argument(state_in))
        o, s = harness.run(tools, check_retention.kernel(case, L, state_in is not None), args,
                           [[b, L, h, value_dim], [b, h, key_dim, value_dim]],
                           dynamic=dynamic, pipeline=pipeline)
        want_o, want_s = reference.retention(q, k, v, decay, position=position,
                                             initial_state=state_in,
                                             normalization=normalization)
        label = f"chunkwise {name}: L={L} at positions {position}"
        check.close(f"{label} o", o, want_o, rtol)
        check.close(f"{label} final state", s, want_s)


def softplus(x):
    return x if x > 20.0 else math.log1p(math.exp(x))


def silu(x):
    return x / (1.0 + math.exp(-x))


def scan_reference(q, k, v, dt, A, dt_bias, scale, skip, gate, s0):
    """The kernel-level scan's definition (DenseSSMOps.td) with a per-head
    decay, dt_softplus and dt_scales_input, evaluated token by token in
    doubles: S_t = exp(δ_t A[h]) S_{t-1} + β_t k_t[gk(h)]ᵀ v_t[h],
    y_t = (q_t[gq(h)] S_t + skip[h] v_t) · SiLU(gate_t)."""
    B, L, H, V = len(v), len(v[0]), len(v[0][0]), len(v[0][0][0])
    Gq, Gk, K = len(q[0][0]), len(k[0][0]), len(q[0][0][0])
    y = [[[[0.0] * V for _ in range(H)] for _ in range(L)] for _ in range(B)]
    final = []
    for b in range(B):
        fb = []
        for h in range(H):
            gq, gk = h // (H // Gq), h // (H // Gk)
            S = [row[:] for row in s0[b][h]]
            for t in range(L):
                delta = softplus(dt[b][t][h] + dt_bias[h])
                beta = scale[b][t][h] * delta
                a = math.exp(delta * A[h])
                for i in range(K):
                    for j in range(V):
                        S[i][j] = a * S[i][j] + beta * k[b][t][gk][i] * v[b][t][h][j]
                for j in range(V):
                    acc = sum(q[b][t][gq][i] * S[i][j] for i in range(K))
                    acc += skip[h] * v[b][t][h][j]
                    y[b][t][h][j] = acc * silu(gate[b][t][h][j])
            fb.append(S)
        final.append(fb)
    return y, final


def round_f16(values):
    """The values rounded to IEEE half precision, as the compiler will see
    them."""
    if isinstance(values, list):
        return [round_f16(v) for v in values]
    return struct.unpack("<e", struct.pack("<e", values))[0]


def grouped_scan(tools, check, pipeline, batch, length, heads, q_groups, k_groups,
                 key_dim, value_dim, dtype="f32"):
    """densessm.scan with a per-head decay and every other operand: grouped
    q and k, dt with bias and softplus, an input scale, δ scaling the input,
    skip, gate and an initial state."""
    rng = harness.seeded(7 + length)
    B, L, H, K, V = batch, length, heads, key_dim, value_dim
    q = harness.random_tensor(rng, [B, L, q_groups, K])
    k = harness.random_tensor(rng, [B, L, k_groups, K])
    v = harness.random_tensor(rng, [B, L, H, V])
    gate = harness.random_tensor(rng, [B, L, H, V])
    rounded = dict(bf16=harness.round_bf16, f16=round_f16).get(dtype)
    if rounded:
        q, k, v, gate = (rounded(x) for x in (q, k, v, gate))
    # y is rounded to the activation type on store (bf16: 8 bits, f16: 11).
    rtol = dict(bf16=1e-2, f16=2e-3).get(dtype, 1e-4)
    dt = harness.random_tensor(rng, [B, L, H], -2.0, 0.5)
    A = harness.random_tensor(rng, [H], -1.0, -0.05)
    bias = harness.random_tensor(rng, [H], -0.5, 0.5)
    scale = harness.random_tensor(rng, [B, L, H], 0.5, 1.5)
    skip = harness.random_tensor(rng, [H])
    s0 = harness.random_tensor(rng, [B, H, K, V])
    ty = harness.tensor_type
    types = dict(q=ty([B, L, q_groups, K], dtype), k=ty([B, L, k_groups, K], dtype),
                 v=ty([B, L, H, V], dtype), dt=ty([B, L, H], "f32"), A=ty([H], "f32"),
                 bias=ty([H], "f32"), scale=ty([B, L, H], "f32"), skip=ty([H], "f32"),
                 gate=ty([B, L, H, V], dtype), s0=ty([B, H, K, V], "f32"))
    out, state = ty([B, L, H, V], "f32"), ty([B, H, K, V], "f32")
    order = ["q", "k", "v", "dt", "A", "bias", "scale", "skip", "gate", "s0"]
    params = ", ".join(f"%{n}: {types[n]}" for n in order)
    widen = (f"  %yf = arith.extf %y : {types['v']} to {out}\n" if dtype != "f32"
             else f"  %yf = tensor.cast %y : {types['v']} to {out}\n")
    text = (f"func.func @kernel({params}) -> ({out}, {state})"
            f" attributes {{densessm.schedule = #densessm.schedule<parallel>}} {{\n"
            f"  %y, %s = densessm.scan %q, %k, %v, %dt, %A dt_bias(%bias) input_scale(%scale)"
            f" skip(%skip) gate(%gate) initial_state(%s0) {{dt_softplus, dt_scales_input}}"
            f" : {', '.join(types[n] for n in order)} -> {types['v']}, {state}\n"
            f"{widen}  return %yf, %s : {out}, {state}\n}}\n")
    values = dict(q=q, k=k, v=v, dt=dt, A=A, bias=bias, scale=scale, skip=skip, gate=gate,
                  s0=s0)
    elements = dict(q=dtype, k=dtype, v=dtype, gate=dtype)
    y, s = harness.run(tools, text, [harness.Argument(values[n], elements.get(n, "f32"))
                                     for n in order],
                       [[B, L, H, V], [B, H, K, V]], pipeline=pipeline)
    want_y, want_s = scan_reference(q, k, v, dt, A, bias, scale, skip, gate, s0)
    label = (f"chunkwise scan ({dtype}, {H} heads, q groups {q_groups}, k groups {k_groups}): "
             f"L={L}")
    check.close(f"{label} y", y, want_y, rtol)
    check.close(f"{label} final state", s, want_s)


def run_all(tools, check, base, dense_retention):
    """Every chunkwise check on the pipeline `base` (the emulated or the
    full CUDA pipeline flag). `dense_retention` is check_scans.py's dense
    value check, run here on the chunkwise pipeline."""
    chunkwise = pipeline_of(base)
    # Shorter than a chunk, exactly one, several with a partial last one.
    retention(tools, check, chunkwise, "one-partial-chunk", 1, 10, 2, 3, 4)
    retention(tools, check, chunkwise, "one-chunk", 1, CHUNK, 2, 4, 3)
    retention(tools, check, chunkwise, "three-chunks", 2, 45, 2, 5, 3)
    # Two key blocks (16 + 2 keys) and two value tiles (32 + 2 columns).
    retention(tools, check, chunkwise, "key-blocks-value-tiles", 1, 20, 1, 18, 34)
    retention(tools, check, chunkwise, "bf16-plain", 1, 20, 2, 4, 8, dtype="bf16",
              normalization="none")
    # A dynamic length: the run-time choice, below and above 20 tokens.
    at_20 = pipeline_of(base, min_length=20)
    retention(tools, check, at_20, "dynamic-short", 1, 12, 2, 3, 2, dynamic=True)
    retention(tools, check, at_20, "dynamic-long", 1, 40, 2, 3, 2, dynamic=True)
    dense_retention(tools, check, chunkwise, 1, 40, 2, 3, 4, 2)
    grouped_scan(tools, check, chunkwise, 1, 35, 4, 2, 1, 3, 2)
    grouped_scan(tools, check, chunkwise, 1, 35, 2, 1, 1, 4, 3, dtype="bf16")
    grouped_scan(tools, check, chunkwise, 1, 35, 2, 2, 1, 4, 3, dtype="f16")
