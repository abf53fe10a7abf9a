"""The CUDA pipeline's projections, y[b, l, o] = Σ_i x[b, l, i] · w[o, i]
(a model's linear layers), against a double-precision reference:

  - few rows (decoding): the GEMV kernel of
    --densessm-lower-projections-to-gpu-gemv, one warp per output, with f32,
    bf16 and f16 weights; input sizes that are not a multiple of the warp
    or of its unrolled stride, fewer inputs than lanes, outputs that leave
    warps of the last block idle, rows over the batch and over the tokens;
    wide loads (16 bytes of weights per lane, x staged in shared memory)
    where a row is a multiple of 16 bytes, over whole and partial tiles;
    few outputs, each one's inputs split over a block's warps (2, 4 or 8
    parts added in shared memory), with an epilogue and a norm's prologue,
    and the same without the split;
  - more rows than gemv-max-rows: cuBLAS (the emulator runs the runtime
    call as the same sum), narrow weights widened to f32 by a kernel first;
  - dynamic sizes: the run-time choice between the two, both sides;
  - an elementwise op on the output split into heads (silu, a per-head
    scale, the position in the head), folded into the GEMV kernel (one
    launch in all), and the same op after cuBLAS;
  - an RMSNorm (a sum of squares, then the scaling) computing the input
    of two projections, folded into both GEMV kernels (two launches in
    all), and the same norm before cuBLAS;
  - projections of the same x (q, k and v) in one GEMV kernel, and a
    different load width in a kernel of its own;
  - RetNet's group norm (a statistic per head) and gate, the heads
    flattened into the projection's input, folded into its GEMV kernel
    (one launch), and before cuBLAS.

The weights are rounded to their type before the reference sees them, so
the only error is f32 accumulation. Used by check_scans.py (--ops
projection) in both modes."""

import math
import re
import struct
import subprocess

import harness
from host_launches import launches_outside_else_blocks

GEMV_MAX_ROWS = 8  # the pipeline's gemv-max-rows

MAPS = """#x = affine_map<(b, l, o, i) -> (b, l, i)>
#w = affine_map<(b, l, o, i) -> (o, i)>
#y = affine_map<(b, l, o, i) -> (b, l, o)>
"""


def round_to(values, element):
    """`values` as the compiler stores them in `element`."""
    if element == "bf16":
        return harness.round_bf16(values)
    if element == "f16":
        if isinstance(values, list):
            return [round_to(v, element) for v in values]
        return struct.unpack("<e", struct.pack("<e", values))[0]
    return values


def kernel(batch, length, inputs, outputs, element, dynamic):
    """@kernel(x, w) -> y: a zero-filled y, then the projection."""
    def shape(*dims):
        return "x".join("?" if dynamic else str(d) for d in dims)
    x_type = f"tensor<{shape(batch, length, inputs)}xf32>"
    w_type = f"tensor<{shape(outputs, inputs)}x{element}>"
    y_type = f"tensor<{shape(batch, length, outputs)}xf32>"
    sizes = ""
    if dynamic:
        sizes = """  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %b = tensor.dim %x, %c0 : TX
  %l = tensor.dim %x, %c1 : TX
  %o = tensor.dim %w, %c0 : TW
""".replace("TX", x_type).replace("TW", w_type)
    empty_sizes = "%b, %l, %o" if dynamic else ""
    return MAPS + f"""func.func @kernel(%x: {x_type}, %w: {w_type}) -> {y_type} {{
{sizes}  %zero = arith.constant 0.0 : f32
  %empty = tensor.empty({empty_sizes}) : {y_type}
  %y0 = linalg.fill ins(%zero : f32) outs(%empty : {y_type}) -> {y_type}
  %y = linalg.contract indexing_maps = [#x, #w, #y]
         ins(%x, %w : {x_type}, {w_type}) outs(%y0 : {y_type}) -> {y_type}
  return %y : {y_type}
}}
"""


def reference(x, w):
    return [[[sum(a * b for a, b in zip(row, w_row)) for w_row in w] for row in seq]
            for seq in x]


def kernels_of(tools, pipeline, text):
    """Which of the two ways the compiled kernel takes: the GEMV kernel
    (its shuffle-xor sum) and the cuBLAS call."""
    lowered = subprocess.run([tools.opt, "-", pipeline], input=text, capture_output=True,
                             text=True, check=True).stdout
    return {"gemv": "gpu.shuffle  xor" in lowered,
            "cublas": "call @densessm_cuda_linear_f32" in lowered}


def gemv_grid(tools, pipeline, text):
    """The blocks along x of each kernel launch of the compiled `text` (a
    GEMV's: its outputs over the outputs per block), where static."""
    lowered = subprocess.run([tools.opt, "-", pipeline], input=text, capture_output=True,
                             text=True, check=True).stdout
    return [int(m) for m in re.findall(r"gpu.launch_func .* blocks in \(%c(\d+)\b", lowered)]


def projection(tools, check, pipeline, name, batch, length, inputs, outputs,
               element="f32", dynamic=False, blocks=None):
    """With `blocks`, also checks that the GEMV kernel is that many blocks
    along x (how many warps share an output: the split of its inputs)."""
    text = kernel(batch, length, inputs, outputs, element, dynamic)
    if "stop-at-gpu=true" in pipeline:
        rows = batch * length
        want = {"gemv": dynamic or rows <= GEMV_MAX_ROWS,
                "cublas": dynamic or rows > GEMV_MAX_ROWS}
        got = kernels_of(tools, pipeline, text)
        check.expect(got == want, f"projection {name}: compiled to {got}, want {want}")
        if blocks is not None:
            grid = gemv_grid(tools, pipeline, text)
            check.expect(grid == [blocks],
                         f"projection {name}: launches of {grid} blocks, want [{blocks}]")
    rng = harness.seeded(sum(map(ord, name)))
    x = harness.random_tensor(rng, [batch, length, inputs])
    w = round_to(harness.random_tensor(rng, [outputs, inputs]), element)
    (y,) = harness.run(tools, text,
                       [harness.Argument(x), harness.Argument(w, element)],
                       [[batch, length, outputs]], pipeline=pipeline, dynamic=dynamic)
    label = (f"projection {name}: {batch}x{length} rows x {inputs} -> {outputs}, "
             f"{element} weights{', dynamic sizes' if dynamic else ''}")
    check.close(label, y, reference(x, w))


def with_option(pipeline, option):
    """`pipeline` (--densessm-cuda-pipeline with or without options) with
    `option` (name=value) set, in place of any value it had."""
    name = option.split("=")[0]
    if "=" not in pipeline:
        return f"{pipeline}={option}"
    head, options = pipeline.split("=", 1)
    kept = [o for o in options.split() if o.split("=")[0] != name]
    return f"{head}={' '.join(kept + [option])}"


def expect_gemv_launches(tools, check, pipeline, text, rows, dynamic, want, label, why):
    """With stop-at-gpu, where `text` has a GEMV side (few rows, or a
    dynamic count), checks that side launches `want` kernels (what is
    folded into the GEMV kernels launches nothing of its own)."""
    if "stop-at-gpu=true" not in pipeline or not (dynamic or rows <= GEMV_MAX_ROWS):
        return
    lowered = subprocess.run([tools.opt, "-", pipeline], input=text, capture_output=True,
                             text=True, check=True).stdout
    launches = launches_outside_else_blocks(lowered)
    check.expect(launches == want, f"{label}: {launches} launches on the GEMV side, "
                                   f"want {want} ({why})")


def epilogue_kernel(batch, length, inputs, heads, head_dim, element, dynamic):
    """@kernel(x, w, s) -> r: r[b, l, h, d] = silu(y[b, l, h·D + d]) · s[h] + d
    with y = x wᵀ, the op reading y through a tensor.expand_shape."""
    outputs = heads * head_dim
    def shape(*dims):
        return "x".join("?" if dynamic else str(d) for d in dims)
    x_type = f"tensor<{shape(batch, length, inputs)}xf32>"
    w_type = f"tensor<{shape(outputs, inputs)}x{element}>"
    s_type = f"tensor<{shape(heads)}xf32>"
    y_type = f"tensor<{shape(batch, length, outputs)}xf32>"
    rows = "?x?" if dynamic else f"{batch}x{length}"
    split_type = f"tensor<{rows}x{heads}x{head_dim}xf32>"
    r_type = f"tensor<{shape(batch, length, heads, head_dim)}xf32>"
    if dynamic:
        sizes = f"""  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %b = tensor.dim %x, %c0 : {x_type}
  %l = tensor.dim %x, %c1 : {x_type}
  %o = tensor.dim %w, %c0 : {w_type}
"""
        empty_y, rows_shape, empty_r = "%b, %l, %o", "%b, %l", "%b, %l"
    else:
        sizes, empty_y, rows_shape, empty_r = "", "", f"{batch}, {length}", ""
    cast = (f"  %out = tensor.cast %r : {split_type} to {r_type}\n  return %out : {r_type}"
            if dynamic else f"  return %r : {r_type}")
    # Only a static axis splits into static ones.
    static_y_type = f"tensor<{rows}x{outputs}xf32>"
    to_static = (f"  %ys = tensor.cast %y : {y_type} to {static_y_type}\n"
                 if dynamic else "")
    y_split, y_split_type = ("%ys", static_y_type) if dynamic else ("%y", y_type)
    return MAPS + f"""#id4 = affine_map<(b, l, h, d) -> (b, l, h, d)>
#head = affine_map<(b, l, h, d) -> (h)>
func.func @kernel(%x: {x_type}, %w: {w_type}, %s: {s_type}) -> {r_type} {{
{sizes}  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %empty = tensor.empty({empty_y}) : {y_type}
  %y0 = linalg.fill ins(%zero : f32) outs(%empty : {y_type}) -> {y_type}
  %y = linalg.contract indexing_maps = [#x, #w, #y]
         ins(%x, %w : {x_type}, {w_type}) outs(%y0 : {y_type}) -> {y_type}
{to_static}  %split = tensor.expand_shape {y_split} [[0], [1], [2, 3]] output_shape [{rows_shape}, {heads}, {head_dim}]
           : {y_split_type} into {split_type}
  %r0 = tensor.empty({empty_r}) : {split_type}
  %r = linalg.generic {{indexing_maps = [#id4, #head, #id4],
                        iterator_types = ["parallel", "parallel", "parallel", "parallel"]}}
       ins(%split, %s : {split_type}, {s_type}) outs(%r0 : {split_type}) {{
  ^bb0(%v: f32, %scale: f32, %unused: f32):
    %n = arith.negf %v : f32
    %e = math.exp %n : f32
    %den = arith.addf %e, %one : f32
    %silu = arith.divf %v, %den : f32
    %d = linalg.index 3 : index
    %di = arith.index_cast %d : index to i64
    %df = arith.sitofp %di : i64 to f32
    %scaled = arith.mulf %silu, %scale : f32
    %sum = arith.addf %scaled, %df : f32
    linalg.yield %sum : f32
  }} -> {split_type}
{cast}
}}
"""


def epilogue(tools, check, pipeline, name, batch, length, inputs, heads, head_dim,
             element="f32", dynamic=False):
    text = epilogue_kernel(batch, length, inputs, heads, head_dim, element, dynamic)
    expect_gemv_launches(tools, check, pipeline, text, batch * length, dynamic, 1,
                         f"epilogue {name}", "the op folded into the GEMV kernel")
    rng = harness.seeded(sum(map(ord, name)))
    x = harness.random_tensor(rng, [batch, length, inputs])
    w = round_to(harness.random_tensor(rng, [heads * head_dim, inputs]), element)
    s = harness.random_tensor(rng, [heads])
    (r,) = harness.run(tools, text,
                       [harness.Argument(x), harness.Argument(w, element), harness.Argument(s)],
                       [[batch, length, heads, head_dim]], pipeline=pipeline, dynamic=dynamic)
    y = reference(x, w)
    want = [[[[v / (1.0 + math.exp(-v)) * s[h] + d
               for d, v in enumerate(row[h * head_dim:(h + 1) * head_dim])]
              for h in range(heads)] for row in seq] for seq in y]
    label = (f"epilogue {name}: {batch}x{length} rows x {inputs} -> {heads}x{head_dim}, "
             f"{element} weights{', dynamic sizes' if dynamic else ''}")
    check.close(label, r, want)


def rms_norm_ops(rank, size, v_type, s_type, g_type, empty, out):
    """The ops of %out = %v · rsqrt(mean(%v²) + ε) · %g over the last of
    `rank` axes (of `size`): the fill and sum of squares of %s, then the
    scaling, with #id, #stat and #gain the maps of the point, of its
    statistic (all axes but the last) and of the last axis."""
    parallel = ", ".join(['"parallel"'] * (rank - 1))
    return f"""  %n = arith.constant {float(size)} : f32
  %eps = arith.constant 1.0e-5 : f32
  %s0 = tensor.empty({empty}) : {s_type}
  %s1 = linalg.fill ins(%zero : f32) outs(%s0 : {s_type}) -> {s_type}
  %s = linalg.generic {{indexing_maps = [#id, #stat],
                        iterator_types = [{parallel}, "reduction"]}}
       ins(%v : {v_type}) outs(%s1 : {s_type}) {{
  ^bb0(%in: f32, %acc: f32):
    %sq = arith.mulf %in, %in : f32
    %sum = arith.addf %acc, %sq : f32
    linalg.yield %sum : f32
  }} -> {s_type}
  %{out}0 = tensor.empty({empty}) : {v_type}
  %{out} = linalg.generic {{indexing_maps = [#id, #stat, #gain, #id],
                        iterator_types = [{parallel}, "parallel"]}}
       ins(%v, %s, %g : {v_type}, {s_type}, {g_type}) outs(%{out}0 : {v_type}) {{
  ^bb0(%in: f32, %sum: f32, %gain: f32, %out: f32):
    %mean = arith.divf %sum, %n : f32
    %shifted = arith.addf %mean, %eps : f32
    %r = math.rsqrt %shifted : f32
    %scaled = arith.mulf %in, %r : f32
    %xg = arith.mulf %scaled, %gain : f32
    linalg.yield %xg : f32
  }} -> {v_type}
"""


def rms_normed(values, gains):
    """The reference of rms_norm_ops over one row or group."""
    scale = 1.0 / math.sqrt(sum(a * a for a in values) / len(values) + 1e-5)
    return [value * scale * gain for value, gain in zip(values, gains)]


def norm_kernel(rows, inputs, outputs, element, dynamic):
    """@kernel(v, g, wq, wk) -> (q, k): x = v · rsqrt(mean(v²) + ε) · g over
    each row, then q = x wqᵀ and k = x wkᵀ; with `dynamic`, the rows'
    sizes are dynamic (the inputs' stay static, as in a model)."""
    row_shape = "?x?" if dynamic else f"{rows[0]}x{rows[1]}"
    v_type = f"tensor<{row_shape}x{inputs}xf32>"
    s_type = f"tensor<{row_shape}xf32>"
    g_type = f"tensor<{inputs}xf32>"
    w_types = [f"tensor<{o}x{inputs}x{element}>" for o in outputs]
    y_types = [f"tensor<{row_shape}x{o}xf32>" for o in outputs]
    sizes = empty = ""
    if dynamic:
        sizes = f"""  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %b = tensor.dim %v, %c0 : {v_type}
  %l = tensor.dim %v, %c1 : {v_type}
"""
        empty = "%b, %l"
    projections = ""
    for name, w_type, y_type in zip("qk", w_types, y_types):
        projections += f"""  %{name}0 = tensor.empty({empty}) : {y_type}
  %{name}1 = linalg.fill ins(%zero : f32) outs(%{name}0 : {y_type}) -> {y_type}
  %{name} = linalg.contract indexing_maps = [#x, #w, #y]
         ins(%x, %w{name} : {v_type}, {w_type}) outs(%{name}1 : {y_type}) -> {y_type}
"""
    return MAPS + f"""#id = affine_map<(b, l, i) -> (b, l, i)>
#stat = affine_map<(b, l, i) -> (b, l)>
#gain = affine_map<(b, l, i) -> (i)>
func.func @kernel(%v: {v_type}, %g: {g_type}, %wq: {w_types[0]}, %wk: {w_types[1]})
    -> ({y_types[0]}, {y_types[1]}) {{
{sizes}  %zero = arith.constant 0.0 : f32
{rms_norm_ops(3, inputs, v_type, s_type, g_type, empty, "x")}{projections}  return %q, %k : {y_types[0]}, {y_types[1]}
}}
"""


def norm(tools, check, pipeline, name, batch, length, inputs, outputs,
         element="f32", dynamic=False):
    text = norm_kernel((batch, length), inputs, outputs, element, dynamic)
    expect_gemv_launches(tools, check, pipeline, text, batch * length, dynamic, 1,
                         f"norm {name}",
                         "the norm folded into the one GEMV kernel of both projections")
    rng = harness.seeded(sum(map(ord, name)))
    v = harness.random_tensor(rng, [batch, length, inputs])
    g = harness.random_tensor(rng, [inputs])
    ws = [round_to(harness.random_tensor(rng, [o, inputs]), element) for o in outputs]
    arguments = [harness.Argument(v), harness.Argument(g)] + [
        harness.Argument(w, element) for w in ws]
    signature = None
    if dynamic:
        signature = ([f"tensor<?x?x{inputs}xf32>", f"tensor<{inputs}xf32>"] +
                     [f"tensor<{o}x{inputs}x{element}>" for o in outputs],
                     [f"tensor<?x?x{o}xf32>" for o in outputs])
    results = harness.run(tools, text, arguments, [[batch, length, o] for o in outputs],
                          pipeline=pipeline, signature=signature)
    x = [[rms_normed(row, g) for row in seq] for seq in v]
    label = (f"norm {name}: {batch}x{length} rows x {inputs} -> {outputs}, "
             f"{element} weights{', dynamic rows' if dynamic else ''}")
    for result, w in zip(results, ws):
        check.close(label, result, reference(x, w))


def siblings_kernel(rows, inputs, outputs, elements, chained=None):
    """@kernel(x, w0, w1, ... [, wc]) -> (y0, y1, ... [, z]): projections of
    the same x one after the other (a layer's q, k and v): those that lower
    the same way (the same weight load width) share one GEMV kernel. With
    `chained` outputs, a projection of y0 comes between y0 and y1 (a dense
    layer's first gate's second layer, before its second gate): y1 moves up
    into y0's kernel."""
    rows = f"{rows[0]}x{rows[1]}"
    x_type = f"tensor<{rows}x{inputs}xf32>"
    w_types = [f"tensor<{o}x{inputs}x{e}>" for o, e in zip(outputs, elements)]
    y_types = [f"tensor<{rows}x{o}xf32>" for o in outputs]
    weights = ", ".join(f"%w{p}: {t}" for p, t in enumerate(w_types))
    results = [f"%y{p}" for p in range(len(outputs))]
    result_types = list(y_types)
    body = ""
    for p, (w_type, y_type) in enumerate(zip(w_types, y_types)):
        body += f"""  %e{p} = tensor.empty() : {y_type}
  %f{p} = linalg.fill ins(%zero : f32) outs(%e{p} : {y_type}) -> {y_type}
  %y{p} = linalg.contract indexing_maps = [#x, #w, #y]
         ins(%x, %w{p} : {x_type}, {w_type}) outs(%f{p} : {y_type}) -> {y_type}
"""
        if p == 0 and chained:
            wc_type = f"tensor<{chained}x{outputs[0]}xf32>"
            z_type = f"tensor<{rows}x{chained}xf32>"
            weights += f", %wc: {wc_type}"
            body += f"""  %ez = tensor.empty() : {z_type}
  %fz = linalg.fill ins(%zero : f32) outs(%ez : {z_type}) -> {z_type}
  %z = linalg.contract indexing_maps = [#x, #w, #y]
         ins(%y0, %wc : {y_type}, {wc_type}) outs(%fz : {z_type}) -> {z_type}
"""
            results.append("%z")
            result_types.append(z_type)
    return MAPS + f"""func.func @kernel(%x: {x_type}, {weights}) -> ({", ".join(result_types)}) {{
  %zero = arith.constant 0.0 : f32
{body}  return {", ".join(results)} : {", ".join(result_types)}
}}
"""


def siblings(tools, check, pipeline, name, batch, length, inputs, outputs, elements,
             launches, chained=None):
    text = siblings_kernel((batch, length), inputs, outputs, elements, chained)
    expect_gemv_launches(tools, check, pipeline, text, batch * length, False, launches,
                         f"siblings {name}",
                         "projections of the same x and load width share a kernel")
    rng = harness.seeded(sum(map(ord, name)))
    x = harness.random_tensor(rng, [batch, length, inputs])
    ws = [round_to(harness.random_tensor(rng, [o, inputs]), e)
          for o, e in zip(outputs, elements)]
    arguments = [harness.Argument(x)] + [harness.Argument(w, e) for w, e in zip(ws, elements)]
    shapes = [[batch, length, o] for o in outputs]
    if chained:
        wc = harness.random_tensor(rng, [chained, outputs[0]])
        arguments.append(harness.Argument(wc))
        shapes.append([batch, length, chained])
    results = harness.run(tools, text, arguments, shapes, pipeline=pipeline)
    for p, (result, w) in enumerate(zip(results, ws)):
        label = (f"siblings {name}: projection {p}, {batch}x{length} rows x {inputs} -> "
                 f"{outputs[p]}, {elements[p]} weights")
        check.close(label, result, reference(x, w))
    if chained:
        check.close(f"siblings {name}: the projection of projection 0 between them",
                    results[-1], reference(reference(x, ws[0]), wc))


def group_norm_kernel(rows, heads, head_dim, outputs, element):
    """@kernel(v, g, z, w) -> y: RetNet's group norm and gate before its
    output projection, x = (v · rsqrt(mean_d(v²) + ε) · g[d]) flattened to
    [b, l, h·D], times z, then y = x wᵀ: the norm's ops fused across the
    flattening (--densessm-fuse-elementwise), then folded into the GEMV
    kernel with a statistic per head."""
    rows = f"{rows[0]}x{rows[1]}"
    inputs = heads * head_dim
    v_type = f"tensor<{rows}x{heads}x{head_dim}xf32>"
    s_type = f"tensor<{rows}x{heads}xf32>"
    x_type = f"tensor<{rows}x{inputs}xf32>"
    w_type = f"tensor<{outputs}x{inputs}x{element}>"
    y_type = f"tensor<{rows}x{outputs}xf32>"
    return MAPS + f"""#id3 = affine_map<(b, l, i) -> (b, l, i)>
#id = affine_map<(b, l, h, d) -> (b, l, h, d)>
#stat = affine_map<(b, l, h, d) -> (b, l, h)>
#gain = affine_map<(b, l, h, d) -> (d)>
func.func @kernel(%v: {v_type}, %g: tensor<{head_dim}xf32>, %z: {x_type}, %w: {w_type})
    -> {y_type} {{
  %zero = arith.constant 0.0 : f32
{rms_norm_ops(4, head_dim, v_type, s_type, f"tensor<{head_dim}xf32>", "", "normed")}  %flat = tensor.collapse_shape %normed [[0], [1], [2, 3]] : {v_type} into {x_type}
  %x0 = tensor.empty() : {x_type}
  %x = linalg.generic {{indexing_maps = [#id3, #id3, #id3],
                        iterator_types = ["parallel", "parallel", "parallel"]}}
       ins(%flat, %z : {x_type}, {x_type}) outs(%x0 : {x_type}) {{
  ^bb0(%a: f32, %b: f32, %out: f32):
    %p = arith.mulf %a, %b : f32
    linalg.yield %p : f32
  }} -> {x_type}
  %y0 = tensor.empty() : {y_type}
  %y1 = linalg.fill ins(%zero : f32) outs(%y0 : {y_type}) -> {y_type}
  %y = linalg.contract indexing_maps = [#x, #w, #y]
         ins(%x, %w : {x_type}, {w_type}) outs(%y1 : {y_type}) -> {y_type}
  return %y : {y_type}
}}
"""


def group_norm(tools, check, pipeline, name, batch, length, heads, head_dim, outputs,
               element="f32"):
    text = group_norm_kernel((batch, length), heads, head_dim, outputs, element)
    expect_gemv_launches(tools, check, pipeline, text, batch * length, False, 1,
                         f"group norm {name}",
                         "the group norm and the gate folded into the GEMV kernel")
    rng = harness.seeded(sum(map(ord, name)))
    inputs = heads * head_dim
    v = harness.random_tensor(rng, [batch, length, heads, head_dim])
    g = harness.random_tensor(rng, [head_dim])
    z = harness.random_tensor(rng, [batch, length, inputs])
    w = round_to(harness.random_tensor(rng, [outputs, inputs]), element)
    (result,) = harness.run(
        tools, text, [harness.Argument(v), harness.Argument(g), harness.Argument(z),
                      harness.Argument(w, element)],
        [[batch, length, outputs]], pipeline=pipeline)
    x = [[[value * gate for value, gate in
           zip([e for head in token for e in rms_normed(head, g)], gates)]
          for token, gates in zip(seq, zs)] for seq, zs in zip(v, z)]
    label = (f"group norm {name}: {batch}x{length} rows x {heads}x{head_dim} -> "
             f"{outputs}, {element} weights")
    check.close(label, result, reference(x, w))


def run_all(tools, check, pipeline):
    # The GEMV kernel (gemv-max-rows = 8 by default).
    projection(tools, check, pipeline, "decode", 1, 1, 100, 70)
    projection(tools, check, pipeline, "decode-bf16", 1, 1, 100, 70, "bf16")
    projection(tools, check, pipeline, "decode-f16", 1, 1, 100, 70, "f16")
    projection(tools, check, pipeline, "few-inputs", 1, 1, 20, 9, "bf16")
    projection(tools, check, pipeline, "batch-rows", 3, 1, 67, 40, "bf16")
    projection(tools, check, pipeline, "token-rows", 1, 3, 67, 40)
    projection(tools, check, pipeline, "both-rows", 2, 2, 33, 17, "f16")
    # Wide loads: 8 bf16 / 4 f32 weights per load, 2 tiles and a part.
    projection(tools, check, pipeline, "wide-bf16", 2, 1, 528, 37, "bf16")
    projection(tools, check, pipeline, "wide-f32", 1, 1, 264, 37)
    # Few outputs: each output's inputs split over a block's warps (8 of
    # them at gemv-block-size=256), whose parts are added in shared memory:
    # 8 parts of 10 one-weight tiles (f16 rows of 600 bytes: no wide
    # loads), 4 parts of 4 wide tiles; and without the split
    # (gemv-target-blocks=1), a warp per output.
    eight_warps = with_option(pipeline, "gemv-block-size=256")
    projection(tools, check, eight_warps, "split-8", 1, 1, 300, 10, "f16", blocks=10)
    projection(tools, check, eight_warps, "split-wide-4", 2, 1, 1024, 12, "bf16", blocks=6)
    projection(tools, check, with_option(eight_warps, "gemv-target-blocks=1"),
               "unsplit", 1, 1, 300, 10, "f16", blocks=2)
    # More rows than a GEMV takes: cuBLAS, narrow weights widened first.
    projection(tools, check, pipeline, "prefill", 2, 6, 40, 24)
    projection(tools, check, pipeline, "prefill-bf16", 2, 6, 40, 24, "bf16")
    # Dynamic sizes: decided at run time, both sides.
    projection(tools, check, pipeline, "dynamic-decode", 2, 1, 45, 30, "bf16", dynamic=True)
    projection(tools, check, pipeline, "dynamic-prefill", 1, 12, 45, 30, "bf16", dynamic=True)
    projection(tools, check, pipeline, "dynamic-decode-f32", 1, 1, 45, 30, dynamic=True)
    # An elementwise op after the projection: folded into the GEMV kernel,
    # after cuBLAS as it is, and on both sides of the run-time choice.
    epilogue(tools, check, pipeline, "heads-decode", 2, 1, 40, 3, 8, "bf16")
    epilogue(tools, check, pipeline, "heads-prefill", 1, 12, 40, 3, 8)
    epilogue(tools, check, pipeline, "heads-dynamic-decode", 1, 1, 40, 2, 16, dynamic=True)
    epilogue(tools, check, pipeline, "heads-dynamic-prefill", 2, 5, 40, 2, 16, dynamic=True)
    # ... applied by the output's first warp, after its parts are added
    # (f32 rows of 520: 4 parts of 5 wide tiles, one warp taking two).
    epilogue(tools, check, eight_warps, "heads-split", 1, 1, 520, 2, 4)
    # A norm computing the input of two projections: folded into both GEMV
    # kernels, before cuBLAS as it is, and on both sides of the choice.
    norm(tools, check, pipeline, "norm-decode", 2, 1, 100, (40, 24), "bf16")
    norm(tools, check, pipeline, "norm-wide-bf16", 1, 1, 264, (40, 24), "bf16")
    norm(tools, check, pipeline, "norm-prefill", 1, 12, 100, (40, 24))
    norm(tools, check, pipeline, "norm-dynamic-decode", 1, 1, 72, (33, 8), dynamic=True)
    norm(tools, check, pipeline, "norm-dynamic-prefill", 3, 4, 72, (33, 8), "f16", dynamic=True)
    # Rows long enough that the unrolled bodies of the statistic's and the
    # staging's loops run (4 loads per lane at once), then their remainders.
    norm(tools, check, pipeline, "norm-long-row", 1, 1, 1096, (24, 8), "bf16")
    # The norm's row in shared memory, each output's wide tiles split.
    norm(tools, check, eight_warps, "norm-split", 1, 1, 1024, (12, 8), "bf16")
    # Projections of the same x (q, k, v): one kernel, each on its own
    # blocks (outputs off the 8 warps of a block); a different load width
    # (f32 among bf16, 16-byte rows) is a GEMV kernel of its own, which
    # --densessm-fuse-sibling-kernels then runs in the same launch (without
    # it, a launch of its own).
    siblings(tools, check, pipeline, "siblings-decode", 2, 1, 102, (20, 8, 9),
             ("bf16", "f32", "f16"), 1)
    wide = (264, (37, 16, 24), ("bf16", "bf16", "f32"))
    siblings(tools, check, pipeline, "siblings-wide", 1, 1, *wide, 1)
    expect_gemv_launches(tools, check, with_option(pipeline, "fuse-kernels=false"),
                         siblings_kernel((1, 1), *wide, None), 1, False, 2,
                         "siblings siblings-wide, fuse-kernels=false",
                         "the f32 projection's GEMV kernel apart")
    # A projection of the first one's output between two of them (a dense
    # layer's gates): the second moves up into the first's kernel.
    siblings(tools, check, pipeline, "siblings-hoisted", 2, 1, 72, (16, 24),
             ("bf16", "bf16"), 2, chained=12)
    # RetNet's group norm and gate before its output projection: a statistic
    # per head, folded into the GEMV kernel; more heads than warps; wide
    # loads; and before cuBLAS.
    group_norm(tools, check, pipeline, "group-norm-decode", 2, 1, 3, 40, 24)
    group_norm(tools, check, pipeline, "group-norm-many-heads", 1, 1, 12, 8, 20, "bf16")
    group_norm(tools, check, pipeline, "group-norm-wide-bf16", 1, 1, 2, 136, 24, "bf16")
    group_norm(tools, check, pipeline, "group-norm-prefill", 1, 12, 3, 40, 24)
    group_norm(tools, check, pipeline, "group-norm-long-heads", 1, 1, 2, 1040, 16, "bf16")
