"""The non-scan densessm ops compiled for the CPU against the double-precision
references: rms_norm (a layer norm and retention's per-head group norm),
rotary, embedding, causal_conv1d (widths 1-5, carried window, a sequence split
in two) and dense_connect (m = 1, 2, 3, the released form and the ablation's
linear projection with concatenation)."""

import sys

import harness
import reference


def kernel(params, body, results):
    """@kernel(params...) -> results: `params` are (name, Argument) pairs,
    `body` the op's text producing %r0.. in order, `results` their types."""
    sig = ", ".join(f"%{n}: {a.type}" for n, a in params)
    names = ", ".join(f"%r{i}" for i in range(len(results)))
    return (f"func.func @kernel({sig}) -> ({', '.join(results)}) {{\n  {body}\n"
            f"  return {names} : {', '.join(results)}\n}}\n")


def run_op(tools, params, body, result_shapes):
    types = [harness.tensor_type(s, "f32") for s in result_shapes]
    return harness.run(tools, kernel(params, body, types), [a for _, a in params], result_shapes)


def types_of(params):
    return ", ".join(a.type for _, a in params)


def check_rms_norm(tools, check, rng):
    for shape, eps in (([2, 5, 6], 1e-5), ([1, 3, 2, 4], 1e-6)):
        x = harness.random_tensor(rng, shape)
        w = harness.random_tensor(rng, [shape[-1]], 0.5, 1.5)
        params = [("x", harness.Argument(x)), ("w", harness.Argument(w))]
        (got,) = run_op(tools, params,
                        f"%r0 = densessm.rms_norm %x, %w {{eps = {eps:e} : f32}} : {types_of(params)}",
                        [shape])
        check.close(f"rms_norm {shape}", got, reference.rms_norm(x, w, eps))


def check_rotary(tools, check, rng):
    x = harness.random_tensor(rng, [2, 4, 2, 6])
    params = [("x", harness.Argument(x)), ("p", harness.Argument([3, 0], "i64"))]
    (got,) = run_op(tools, params, f"%r0 = densessm.rotary %x position(%p) : {types_of(params)}",
                    [[2, 4, 2, 6]])
    check.close("rotary at positions [3, 0]", got, reference.rotary(x, [3, 0]))
    params = params[:1]
    (got,) = run_op(tools, params,
                    f"%r0 = densessm.rotary %x {{base = 5.0e+02 : f32}} : {types_of(params)}",
                    [[2, 4, 2, 6]])
    check.close("rotary from 0, base 500", got, reference.rotary(x, None, 500.0))


def check_embedding(tools, check, rng):
    table = harness.random_tensor(rng, [7, 5])
    tokens = [[1, 6, 0], [3, 3, 2]]
    params = [("t", harness.Argument(table)), ("ids", harness.Argument(tokens, "i64"))]
    (got,) = run_op(tools, params,
                    f"%r0 = densessm.embedding %t[%ids] : {types_of(params)} -> tensor<2x3x5xf32>",
                    [[2, 3, 5]])
    check.close("embedding", got, reference.embedding(table, tokens))


def conv(tools, x, w, bias, window):
    B, L, C, K = len(x), len(x[0]), len(x[0][0]), len(w[0])
    params = [("x", harness.Argument(x)), ("w", harness.Argument(w))]
    text = "%x, %w"
    if bias:
        params.append(("b", harness.Argument(bias)))
        text += " bias(%b)"
    if window:
        params.append(("win", harness.Argument(window)))
        text += " window(%win)"
    y_t = harness.tensor_type([B, L, C], "f32")
    w_t = harness.tensor_type([B, C, K - 1], "f32")
    return run_op(tools, params,
                  f"%r0, %r1 = densessm.causal_conv1d {text} {{activation = #densessm.activation<silu>}}"
                  f" : {types_of(params)} -> {y_t}, {w_t}", [[B, L, C], [B, C, K - 1]])


def check_causal_conv1d(tools, check, rng):
    B, L, C = 2, 6, 3
    for K in range(1, 6):
        x = harness.random_tensor(rng, [B, L, C])
        w = harness.random_tensor(rng, [C, K])
        bias = harness.random_tensor(rng, [C])
        window = harness.random_tensor(rng, [B, C, K - 1]) if K > 1 else None
        want_y, want_w = reference.causal_conv1d(x, w, bias, window, silu_on=True)
        y, win = conv(tools, x, w, bias, window)
        check.close(f"causal_conv1d K={K} y", y, want_y)
        if K > 1:
            check.close(f"causal_conv1d K={K} final window", win, want_w)
    # A sequence split in two continues through the carried window.
    K = 4
    x = harness.random_tensor(rng, [B, L, C])
    w = harness.random_tensor(rng, [C, K])
    want_y, want_w = reference.causal_conv1d(x, w, None, None, silu_on=True)
    y1, w1 = conv(tools, [s[:2] for s in x], w, None, None)
    y2, w2 = conv(tools, [s[2:] for s in x], w, None, w1)
    check.close("causal_conv1d split at 2 y", [a + b for a, b in zip(y1, y2)], want_y)
    check.close("causal_conv1d split at 2 final window", w2, want_w)


def check_dense_connect(tools, check, rng):
    B, L, C, H, R = 1, 3, 6, 8, 2
    for m in (1, 2, 3):
        cur = harness.random_tensor(rng, [B, L, C])
        kept = [harness.random_tensor(rng, [B, L, C]) for _ in range(m)]
        x = harness.random_tensor(rng, [B, L, H])
        fc1 = harness.random_tensor(rng, [R, H])
        fc2 = harness.random_tensor(rng, [C, R])
        nw = harness.random_tensor(rng, [C], 0.5, 1.5)
        params = ([("c", harness.Argument(cur))] +
                  [(f"k{i}", harness.Argument(k)) for i, k in enumerate(kept)] +
                  [("x", harness.Argument(x)), ("f1", harness.Argument(fc1)),
                   ("f2", harness.Argument(fc2)), ("n", harness.Argument(nw))])
        ks = ", ".join(f"%k{i}" for i in range(m))
        (got,) = run_op(tools, params,
                        f"%r0 = densessm.dense_connect %c, [{ks}] gate(%x, %f1, %f2) norm(%n)"
                        f" : {types_of(params)}", [[B, L, C]])
        want = reference.dense_connect(cur, kept, gate=(x, fc1, fc2), norm_weight=nw)
        check.close(f"dense_connect m={m} (gate, add, rms)", got, want)
    # The ablation: linear projections of narrower kept tensors, concatenation.
    cur = harness.random_tensor(rng, [B, L, C])
    kept = [harness.random_tensor(rng, [B, L, 4]), harness.random_tensor(rng, [B, L, 5])]
    proj = [harness.random_tensor(rng, [C, 4]), harness.random_tensor(rng, [C, 5])]
    fuse = harness.random_tensor(rng, [C, 3 * C])
    params = ([("c", harness.Argument(cur)), ("k0", harness.Argument(kept[0])),
               ("k1", harness.Argument(kept[1])), ("p0", harness.Argument(proj[0])),
               ("p1", harness.Argument(proj[1])), ("f", harness.Argument(fuse))])
    (got,) = run_op(tools, params,
                    "%r0 = densessm.dense_connect %c, [%k0, %k1] proj(%p0, %p1) fuse(%f)"
                    " {projection = #densessm.projection<linear>, fusion = #densessm.fusion<concat>,"
                    f" norm = #densessm.norm<none>}} : {types_of(params)}", [[B, L, C]])
    want = reference.dense_connect(cur, kept, proj=proj, fuse_weight=fuse)
    check.close("dense_connect (linear, concat, no norm)", got, want)


def main():
    tools = harness.parse_tools(sys.argv[1:])
    check = harness.Checker()
    rng = harness.seeded(7)
    for test in (check_rms_norm, check_rotary, check_embedding, check_causal_conv1d,
                 check_dense_connect):
        test(tools, check, rng)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
