"""The CUDA pipeline's sums (a norm's sum of squares, a per-head statistic)
against a double-precision reference: --densessm-lower-reductions-to-gpu
gives each output element a block whose threads stride over its terms
and whose warps add their sums through shared memory.

  - rows of 1024 terms: 256 threads, eight warps, the zero fill absorbed;
  - a statistic per head, weighted, added to what the output held (no fill:
    the kernel loads the output first), one warp per output;
  - dynamic rows (the batch and tokens of a model's entry point) over 200
    terms from a fill of 1.5: two warps, 3 or 4 terms a thread;
  - two reduction axes around the output's, the terms reading their own
    position (linalg.index);
  - a sum of four terms (a convolution's taps): left to the loop kernels,
    one thread per output element;
  - three independent sums (a layer's norms of k and of v, and another):
    one kernel; one of 16 terms over the same rows as a long one rides
    along, one over fewer rows is guarded.

  - a norm of k over two heads of 24 (48 terms) that only a retention
    step's kernel reads, through k's normalisation folded into it: each of
    the step's blocks adds the terms itself, and the step is the only
    kernel;
  - an RMSNorm over dynamic rows of 300: the scaling computed by the sum's
    blocks, one kernel.

Each case also checks which of the two kernels it compiled to. Used by
check_scans.py (--ops reduction) in both modes."""

import math
import subprocess

import harness
import projection_cases
import reference


def compiled_to_block_sum(tools, pipeline, text):
    """Whether the compiled sum is the block reduction (its warp sums'
    shuffles; the loop kernel has none)."""
    lowered = subprocess.run([tools.opt, "-", pipeline], input=text, capture_output=True,
                             text=True, check=True).stdout
    return "gpu.shuffle  xor" in lowered


def sum_kernel(x_shape, s_shape, x_map, s_map, iterators, term, extra_inputs=(),
               init="fill", dynamic_axes=0, fill=0.0):
    """@kernel(x, extra..., [s0]) -> s = init + Σ term over the reduction
    loops; `term` is the body computing %t from %in (and the extra inputs'
    block arguments %b0...). `init` is "fill" (of `fill`) or "argument"
    (2 · s0, s0 the last argument). The first `dynamic_axes` axes of x and s are
    dynamic in the kernel's types."""
    def type_of(shape):
        dims = ["?" if i < dynamic_axes else str(d) for i, d in enumerate(shape)]
        return f"tensor<{'x'.join(dims)}xf32>"
    x_type, s_type = type_of(x_shape), type_of(s_shape)
    params = [f"%x: {x_type}"] + [f"%e{i}: {t}" for i, (t, _) in enumerate(extra_inputs)]
    ins = ["%x"] + [f"%e{i}" for i in range(len(extra_inputs))]
    in_types = [x_type] + [t for t, _ in extra_inputs]
    maps = [x_map] + [m for _, m in extra_inputs] + [s_map]
    block_args = ["%in: f32"] + [f"%b{i}: f32" for i in range(len(extra_inputs))]
    sizes = "".join(f"  %c{i} = arith.constant {i} : index\n"
                    f"  %d{i} = tensor.dim %x, %c{i} : {x_type}\n"
                    for i in range(dynamic_axes))
    empty = ", ".join(f"%d{i}" for i in range(dynamic_axes))
    if init == "fill":
        start = (f"  %zero = arith.constant {fill!r} : f32\n"
                 f"  %s0 = tensor.empty({empty}) : {s_type}\n"
                 f"  %s1 = linalg.fill ins(%zero : f32) outs(%s0 : {s_type}) -> {s_type}\n")
    else:
        # Twice the last argument, into a fresh buffer: an output some
        # kernel wrote (an argument itself would be copied on the host).
        params.append(f"%s0: {s_type}")
        rank = len(s_shape)
        dims = ", ".join(f"d{i}" for i in range(rank))
        parallel = ", ".join(['"parallel"'] * rank)
        start = (f"  %s2 = tensor.empty({empty}) : {s_type}\n"
                 f"  %s1 = linalg.generic {{indexing_maps = [affine_map<({dims}) -> ({dims})>, "
                 f"affine_map<({dims}) -> ({dims})>], "
                 f"iterator_types = [{parallel}]}}\n"
                 f"       ins(%s0 : {s_type}) outs(%s2 : {s_type}) {{\n"
                 f"  ^bb0(%v: f32, %o: f32):\n"
                 f"    %twice = arith.addf %v, %v : f32\n"
                 f"    linalg.yield %twice : f32\n"
                 f"  }} -> {s_type}\n")
    iterator_list = ", ".join(f'"{i}"' for i in iterators)
    return f"""func.func @kernel({', '.join(params)}) -> {s_type} {{
{sizes}{start}  %s = linalg.generic {{indexing_maps = [{', '.join(maps)}],
                        iterator_types = [{iterator_list}]}}
       ins({', '.join(ins)} : {', '.join(in_types)}) outs(%s1 : {s_type}) {{
  ^bb0({', '.join(block_args)}, %acc: f32):
{term}    %next = arith.addf %acc, %t : f32
    linalg.yield %next : f32
  }} -> {s_type}
  return %s : {s_type}
}}
"""


SQUARE = "    %t = arith.mulf %in, %in : f32\n"


def kernel_launches(tools, pipeline, text):
    """The kernel launches of the compiled @kernel's host code."""
    lowered = subprocess.run([tools.opt, "-", pipeline], input=text, capture_output=True,
                             text=True, check=True).stdout
    host = lowered[lowered.index("func.func @kernel("):]
    return host[:host.index("\n  }\n")].count("gpu.launch_func")


def check_case(tools, check, pipeline, name, text, arguments, result_shape, want,
               block_sum, signature=None):
    if "stop-at-gpu=true" in pipeline:
        got = compiled_to_block_sum(tools, pipeline, text)
        kind = {True: "a block per output", False: "a thread per output"}
        check.expect(got == block_sum,
                     f"sum {name}: compiled to {kind[got]}, want {kind[block_sum]}")
    (s,) = harness.run(tools, text, arguments, [result_shape], pipeline=pipeline,
                       signature=signature)
    check.close(f"sum {name}", s, want)


def rows(tools, check, pipeline, name, batch, length, terms, dynamic=False, fill=0.0):
    """fill + Σ x² over the last axis of [batch, length, terms]."""
    text = sum_kernel([batch, length, terms], [batch, length],
                      "affine_map<(b, l, d) -> (b, l, d)>", "affine_map<(b, l, d) -> (b, l)>",
                      ["parallel", "parallel", "reduction"], SQUARE,
                      dynamic_axes=2 if dynamic else 0, fill=fill)
    rng = harness.seeded(sum(map(ord, name)))
    x = harness.random_tensor(rng, [batch, length, terms])
    signature = None
    if dynamic:
        signature = ([f"tensor<?x?x{terms}xf32>"], ["tensor<?x?xf32>"])
    want = [[fill + sum(v * v for v in row) for row in seq] for seq in x]
    check_case(tools, check, pipeline, f"{name}: {batch}x{length} rows of {terms}"
               f"{', dynamic rows' if dynamic else ''}", text, [harness.Argument(x)],
               [batch, length], want, True, signature)


def per_head(tools, check, pipeline, name, batch, length, heads, head_dim):
    """2 · s0 + Σ_d x[b, l, h, d] · w[d]: no fill, the output's values kept."""
    text = sum_kernel([batch, length, heads, head_dim], [batch, length, heads],
                      "affine_map<(b, l, h, d) -> (b, l, h, d)>",
                      "affine_map<(b, l, h, d) -> (b, l, h)>",
                      ["parallel", "parallel", "parallel", "reduction"],
                      "    %t = arith.mulf %in, %b0 : f32\n",
                      extra_inputs=[(f"tensor<{head_dim}xf32>",
                                     "affine_map<(b, l, h, d) -> (d)>")],
                      init="argument")
    rng = harness.seeded(sum(map(ord, name)))
    x = harness.random_tensor(rng, [batch, length, heads, head_dim])
    w = harness.random_tensor(rng, [head_dim])
    s0 = harness.random_tensor(rng, [batch, length, heads])
    want = [[[2 * s0[b][t][h] + sum(a * c for a, c in zip(x[b][t][h], w))
              for h in range(heads)] for t in range(length)] for b in range(batch)]
    check_case(tools, check, pipeline,
               f"{name}: {batch}x{length}x{heads} heads of {head_dim}, weighted, "
               f"added to the output", text,
               [harness.Argument(x), harness.Argument(w), harness.Argument(s0)],
               [batch, length, heads], want, True)


def two_axes(tools, check, pipeline, name, outer, middle, inner):
    """s[j] = Σ_i Σ_k x[i, j, k] · k: reduction axes on both sides of the
    output's, the term reading its own position."""
    term = ("    %k = linalg.index 2 : index\n"
            "    %ki = arith.index_cast %k : index to i32\n"
            "    %kf = arith.sitofp %ki : i32 to f32\n"
            "    %t = arith.mulf %in, %kf : f32\n")
    text = sum_kernel([outer, middle, inner], [middle],
                      "affine_map<(i, j, k) -> (i, j, k)>", "affine_map<(i, j, k) -> (j)>",
                      ["reduction", "parallel", "reduction"], term)
    rng = harness.seeded(sum(map(ord, name)))
    x = harness.random_tensor(rng, [outer, middle, inner])
    want = [sum(x[i][j][k] * k for i in range(outer) for k in range(inner))
            for j in range(middle)]
    check_case(tools, check, pipeline,
               f"{name}: {middle} outputs of {outer}x{inner} terms", text,
               [harness.Argument(x)], [middle], want, True)


def taps(tools, check, pipeline, name, channels, width):
    """Σ over `width` terms per output: fewer than min-size (32)."""
    text = sum_kernel([channels, width], [channels], "affine_map<(c, w) -> (c, w)>",
                      "affine_map<(c, w) -> (c)>", ["parallel", "reduction"], SQUARE)
    rng = harness.seeded(sum(map(ord, name)))
    x = harness.random_tensor(rng, [channels, width])
    want = [sum(v * v for v in row) for row in x]
    check_case(tools, check, pipeline, f"{name}: {channels} outputs of {width} terms",
               text, [harness.Argument(x)], [channels], want, False)


def siblings(tools, check, pipeline, name, batch, length, short, long, rows, middle):
    """Three independent sums, one kernel: Σ k² over [batch, length] rows
    of `short` terms (fewer than min-size: it rides along, the same rows
    as the next), Σ v² over the same rows of `long` terms, and Σ q² over
    `rows` rows of `middle` terms (fewer rows: guarded)."""
    sums = [("k", [batch, length], short), ("v", [batch, length], long), ("q", [rows], middle)]
    def types(shape, terms):
        dims = "x".join(map(str, shape))
        return f"tensor<{dims}x{terms}xf32>", f"tensor<{dims}xf32>"
    body = ""
    for var, shape, terms in sums:
        x_type, s_type = types(shape, terms)
        axes = ["b", "l"][:len(shape)]
        point = ", ".join(axes)
        parallel = ", ".join(['"parallel"'] * len(shape))
        body += f"""  %{var}0 = tensor.empty() : {s_type}
  %{var}1 = linalg.fill ins(%zero : f32) outs(%{var}0 : {s_type}) -> {s_type}
  %s{var} = linalg.generic {{indexing_maps = [affine_map<({point}, d) -> ({point}, d)>,
                                          affine_map<({point}, d) -> ({point})>],
                         iterator_types = [{parallel}, "reduction"]}}
       ins(%{var} : {x_type}) outs(%{var}1 : {s_type}) {{
  ^bb0(%in: f32, %acc: f32):
{SQUARE}    %next = arith.addf %acc, %t : f32
    linalg.yield %next : f32
  }} -> {s_type}
"""
    params = ", ".join(f"%{var}: {types(shape, terms)[0]}" for var, shape, terms in sums)
    results = ", ".join(types(shape, terms)[1] for _, shape, terms in sums)
    text = f"""func.func @kernel({params}) -> ({results}) {{
  %zero = arith.constant 0.0 : f32
{body}  return %sk, %sv, %sq : {results}
}}
"""
    label = (f"sum {name}: {batch}x{length} rows of {short} and of {long}, "
             f"{rows} rows of {middle}")
    if "stop-at-gpu=true" in pipeline:
        lowered = subprocess.run([tools.opt, "-", pipeline], input=text, capture_output=True,
                                 text=True, check=True).stdout
        launches = lowered.count("gpu.launch_func")
        check.expect(launches == 1 and compiled_to_block_sum(tools, pipeline, text),
                     f"{label}: {launches} launches, want 1 of a block per output")
    rng = harness.seeded(sum(map(ord, name)))
    inputs = [harness.random_tensor(rng, shape + [terms]) for _, shape, terms in sums]
    got = harness.run(tools, text, [harness.Argument(x) for x in inputs],
                      [shape for _, shape, _ in sums], pipeline=pipeline)
    def squares(values):
        if isinstance(values[0], list):
            return [squares(v) for v in values]
        return sum(a * a for a in values)
    for (var, _, _), result, x in zip(sums, got, inputs):
        check.close(f"{label} ({var})", result, squares(x))


def in_a_step(tools, check, pipeline, name, heads, key_dim, value_dim):
    """k / rms(k) over all of k's heads (a dense layer's norm of k, without
    its weight), read only by a one-token retention step: the sum of squares
    computed by each block of the step's kernel."""
    b, h, dk, dv = 1, heads, key_dim, value_dim
    ty = harness.tensor_type
    qk, vt = ty([b, 1, h, dk], "f32"), ty([b, 1, h, dv], "f32")
    out, state = ty([b, 1, h, dv], "f32"), ty([b, h, dk, dv], "f32")
    text = f"""func.func @kernel(%q: {qk}, %k: {qk}, %v: {vt}, %g: tensor<{h}xf32>,
    %p: tensor<1xi64>) -> ({out}, {state})
    attributes {{densessm.schedule = #densessm.schedule<recurrent>}} {{
  %zero = arith.constant 0.0 : f32
  %count = arith.constant {float(h * dk)!r} : f32
  %eps = arith.constant 1.0e-06 : f32
  %e = tensor.empty() : tensor<1x1xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<1x1xf32>) -> tensor<1x1xf32>
  %ss = linalg.generic {{indexing_maps = [affine_map<(b, l, h, d) -> (b, l, h, d)>,
                                         affine_map<(b, l, h, d) -> (b, l)>],
                        iterator_types = ["parallel", "parallel", "reduction", "reduction"]}}
      ins(%k : {qk}) outs(%f : tensor<1x1xf32>) {{
  ^bb0(%in: f32, %acc: f32):
    %sq = arith.mulf %in, %in : f32
    %s = arith.addf %acc, %sq : f32
    linalg.yield %s : f32
  }} -> tensor<1x1xf32>
  %e2 = tensor.empty() : {qk}
  %kn = linalg.generic {{indexing_maps = [affine_map<(b, l, h, d) -> (b, l, h, d)>,
                                         affine_map<(b, l, h, d) -> (b, l)>,
                                         affine_map<(b, l, h, d) -> (b, l, h, d)>],
                        iterator_types = ["parallel", "parallel", "parallel", "parallel"]}}
      ins(%k, %ss : {qk}, tensor<1x1xf32>) outs(%e2 : {qk}) {{
  ^bb0(%in: f32, %s: f32, %o: f32):
    %m = arith.divf %s, %count : f32
    %me = arith.addf %m, %eps : f32
    %r = math.rsqrt %me : f32
    %n = arith.mulf %in, %r : f32
    linalg.yield %n : f32
  }} -> {qk}
  %o, %s = densessm.retention %q, %kn, %v decay(%g) position(%p)
           : {qk}, {qk}, {vt}, tensor<{h}xf32>, tensor<1xi64> -> {out}, {state}
  return %o, %s : {out}, {state}
}}
"""
    rng = harness.seeded(sum(map(ord, name)))
    q = harness.random_tensor(rng, [b, 1, h, dk])
    k = harness.random_tensor(rng, [b, 1, h, dk])
    v = harness.random_tensor(rng, [b, 1, h, dv])
    decay = [1 - 2 ** (-5 - j) for j in range(h)]
    position = [7]
    rms = [[math.sqrt(sum(x * x for head in tok for x in head) / (h * dk) + 1e-6)
            for tok in seq] for seq in k]
    kn = [[[[x / rms[i][t] for x in head] for head in tok] for t, tok in enumerate(seq)]
          for i, seq in enumerate(k)]
    want_o, want_s = reference.retention(q, kn, v, decay, position=position)
    if "stop-at-gpu=true" in pipeline:
        launches = kernel_launches(tools, pipeline, text)
        check.expect(launches == 1,
                     f"sum {name}: {launches} kernels, want the step's alone")
    o, s = harness.run(tools, text,
                       [harness.Argument(q), harness.Argument(k), harness.Argument(v),
                        harness.Argument(decay), harness.Argument(position, "i64")],
                       [[b, 1, h, dv], [b, h, dk, dv]], pipeline=pipeline)
    check.close(f"sum {name}: norm of k in the step's kernel, o", o, want_o)
    check.close(f"sum {name}: norm of k in the step's kernel, final state", s, want_s)


def norm(tools, check, pipeline, name, batch, length, terms):
    """RMSNorm over the last axis of [batch, length, terms] (rows dynamic;
    projection_cases' ops): the sum of squares, then x · rsqrt(mean + ε) ·
    g, which the sum's blocks compute too: one kernel."""
    v_type, s_type, g_type = f"tensor<?x?x{terms}xf32>", "tensor<?x?xf32>", f"tensor<{terms}xf32>"
    text = f"""#id = affine_map<(b, l, i) -> (b, l, i)>
#stat = affine_map<(b, l, i) -> (b, l)>
#gain = affine_map<(b, l, i) -> (i)>
func.func @kernel(%v: {v_type}, %g: {g_type}) -> {v_type} {{
  %zero = arith.constant 0.0 : f32
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %b = tensor.dim %v, %c0 : {v_type}
  %l = tensor.dim %v, %c1 : {v_type}
{projection_cases.rms_norm_ops(3, terms, v_type, s_type, g_type, "%b, %l", "y")}  return %y : {v_type}
}}
"""
    rng = harness.seeded(sum(map(ord, name)))
    x = harness.random_tensor(rng, [batch, length, terms])
    g = harness.random_tensor(rng, [terms], 0.5, 1.5)
    want = [[projection_cases.rms_normed(row, g) for row in seq] for seq in x]
    label = f"sum {name}: RMSNorm of {batch}x{length} rows of {terms}"
    if "stop-at-gpu=true" in pipeline:
        launches = kernel_launches(tools, pipeline, text)
        check.expect(launches == 1,
                     f"{label}: {launches} kernels, want the sum's with its scaling")
    (y,) = harness.run(tools, text, [harness.Argument(x), harness.Argument(g)],
                       [[batch, length, terms]], pipeline=pipeline,
                       signature=([v_type, g_type], [v_type]))
    check.close(f"{label}, scaled in the sum's kernel", y, want)


def run_all(tools, check, pipeline):
    rows(tools, check, pipeline, "long-rows", 2, 3, 1024)
    per_head(tools, check, pipeline, "heads", 2, 3, 4, 40)
    rows(tools, check, pipeline, "dynamic-rows", 2, 5, 200, dynamic=True, fill=1.5)
    two_axes(tools, check, pipeline, "two-axes", 6, 5, 20)
    taps(tools, check, pipeline, "taps", 40, 4)
    siblings(tools, check, pipeline, "siblings", 2, 3, 16, 300, 4, 100)
    in_a_step(tools, check, pipeline, "k-norm", 2, 24, 4)
    norm(tools, check, pipeline, "norm", 2, 3, 300)
