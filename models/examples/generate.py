#!/usr/bin/env python3
"""Writes the example model IR of models/examples/ in the densessm dialect.

One tiny configuration each of Mamba-1, DenseMamba, RetNet (GAU) and
DenseRetNet (MODELS.md), as a whole model from token ids to logits, in two
functions:

  @prefill  the parallel form over a sequence: tokens [B, L] -> logits
            [B, L, V] and every layer's final recurrent state;
  @step     the recurrent form: one token per sequence, every layer's state
            in and out (and, for retention, each sequence's position).

Weights are function arguments named after the checkpoint tensor they bind
to (`{densessm.weight = "..."}`), in the checkpoint's own layout.

    python3 models/examples/generate.py           # rewrite the .mlir files
    python3 models/examples/generate.py --check   # fail if they are stale
"""

import argparse
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent

# The tiny configurations (MODELS.md names).
MAMBA = dict(vocab_size=64, hidden_size=32, state_size=8, expand=2,
             conv_kernel=4, time_step_rank=2, num_hidden_layers=2,
             layer_norm_epsilon=1e-5, dense_block_layers=0)
DENSEMAMBA = dict(MAMBA, num_hidden_layers=3, dense_block_layers=2)
RETNET = dict(vocab_size=64, hidden_size=32, query_key_dim=16,
              num_attention_heads=2, v_factor=2, num_hidden_layers=2,
              rms_norm_eps=1e-6, dense_block_layers=0)
DENSERETNET = dict(RETNET, num_hidden_layers=3, dense_block_layers=2)

BATCH = 1
PREFILL_LENGTH = 8


def tensor_type(shape, dtype="f32"):
    return "tensor<" + "".join(f"{d}x" for d in shape) + dtype + ">"


def fmt_float(x):
    return f"{x:.8e}"


class Value:
    def __init__(self, name, shape, dtype="f32"):
        self.name, self.shape, self.dtype = name, list(shape), dtype

    @property
    def type(self):
        return tensor_type(self.shape, self.dtype)

    def __str__(self):
        return self.name


class Function:
    """Emits one func.func: arguments, ops on ranked tensors, a return."""

    def __init__(self, name, schedule, comment):
        self.name, self.schedule, self.comment = name, schedule, comment
        self.args, self.body, self.results = [], [], []
        self.counter = 0
        self.constants = {}

    # -- arguments and values ------------------------------------------------
    def arg(self, name, shape, dtype="f32", weight=None):
        value = Value("%" + name.replace(".", "_"), shape, dtype)
        attr = f' {{densessm.weight = "{weight}"}}' if weight else ""
        self.args.append(f"{value}: {value.type}{attr}")
        return value

    def weight(self, checkpoint_name, shape):
        return self.arg(checkpoint_name, shape, weight=checkpoint_name)

    def fresh(self, hint):
        self.counter += 1
        return f"%{hint}{self.counter}"

    def emit(self, hint, shape, rhs, dtype="f32"):
        value = Value(self.fresh(hint), shape, dtype)
        self.body.append(f"{value} = {rhs}")
        return value

    def emit2(self, hints, shapes, rhs):
        a, b = Value(self.fresh(hints[0]), shapes[0]), Value(self.fresh(hints[1]), shapes[1])
        self.body.append(f"{a}, {b} = {rhs}")
        return a, b

    def note(self, text):
        self.body.append(f"// {text}")

    def splat(self, x, shape):
        key = (x, tuple(shape))
        if key not in self.constants:
            self.constants[key] = self.emit(
                "cst", shape, f"arith.constant dense<{fmt_float(x)}> : {tensor_type(shape)}")
        return self.constants[key]

    def zero(self):
        if "zero" not in self.constants:
            v = Value(self.fresh("zero"), [])
            self.body.append(f"{v} = arith.constant 0.000000e+00 : f32")
            self.constants["zero"] = v
        return self.constants["zero"]

    # -- upstream ops ----------------------------------------------------------
    def linear(self, x, w, hint="proj"):
        """x [B, L, in] times w [out, in] (the checkpoint layout)."""
        out = x.shape[:-1] + [w.shape[0]]
        t = tensor_type(out)
        empty = self.emit("empty", out, f"tensor.empty() : {t}")
        init = self.emit("init", out, f"linalg.fill ins({self.zero()} : f32) outs({empty} : {t}) -> {t}")
        return self.emit(hint, out,
                         "linalg.contract indexing_maps = [#proj_x, #proj_w, #proj_y] "
                         f"ins({x}, {w} : {x.type}, {w.type}) outs({init} : {t}) -> {t}")

    def binary(self, op, a, b, hint):
        return self.emit(hint, a.shape, f"arith.{op} {a}, {b} : {a.type}")

    def silu(self, x, hint="silu"):
        """SiLU(x) = x / (1 + exp(-x)), elementwise on the tensor."""
        neg = self.emit("neg", x.shape, f"arith.negf {x} : {x.type}")
        exp = self.emit("exp", x.shape, f"math.exp {neg} : {x.type}")
        den = self.binary("addf", exp, self.splat(1.0, x.shape), "den")
        return self.binary("divf", x, den, hint)

    def slice_last(self, x, offset, size, hint):
        out = x.shape[:-1] + [size]
        offsets = ", ".join(["0"] * (len(x.shape) - 1) + [str(offset)])
        sizes = ", ".join(str(d) for d in out)
        strides = ", ".join(["1"] * len(x.shape))
        return self.emit(hint, out, f"tensor.extract_slice {x}[{offsets}] [{sizes}] [{strides}] "
                                    f": {x.type} to {tensor_type(out)}")

    def split_heads(self, x, heads, hint):
        b, l, c = x.shape
        out = [b, l, heads, c // heads]
        return self.emit(hint, out, f"tensor.expand_shape {x} [[0], [1], [2, 3]] output_shape "
                                    f"[{b}, {l}, {heads}, {c // heads}] : {x.type} into {tensor_type(out)}")

    def merge_heads(self, x, hint):
        b, l, h, d = x.shape
        out = [b, l, h * d]
        return self.emit(hint, out, f"tensor.collapse_shape {x} [[0], [1], [2, 3]] "
                                    f": {x.type} into {tensor_type(out)}")

    # -- densessm ops ------------------------------------------------------
    def rms_norm(self, x, w, eps, hint="norm"):
        return self.emit(hint, x.shape, f"densessm.rms_norm {x}, {w} {{eps = {fmt_float(eps)} : f32}} "
                                        f": {x.type}, {w.type}")

    def embedding(self, table, tokens):
        out = tokens.shape + [table.shape[1]]
        return self.emit("embed", out, f"densessm.embedding {table}[{tokens}] : {table.type}, "
                                       f"{tokens.type} -> {tensor_type(out)}")

    def dense_connect(self, current, kept, gate, norm_weight, eps, hint):
        operands = [current] + kept
        text = f"densessm.dense_connect {current}, [{', '.join(map(str, kept))}]"
        if gate:
            text += f" gate({', '.join(map(str, gate))})"
            operands += gate
        text += f" norm({norm_weight}) {{eps = {fmt_float(eps)} : f32}}"
        operands.append(norm_weight)
        text += " : " + ", ".join(v.type for v in operands)
        return self.emit(hint, current.shape, text)

    # -- text ------------------------------------------------------------------
    def text(self):
        out = [f"// {self.comment}"]
        out.append(f"func.func @{self.name}(")
        out.append(",\n".join("    " + a for a in self.args))
        result_types = ", ".join(v.type for v in self.results)
        out.append(f"  ) -> ({result_types})")
        out.append(f"    attributes {{densessm.schedule = #densessm.schedule<{self.schedule}>}} {{")
        for line in self.body:
            out.append("  " + line)
        names = ", ".join(str(v) for v in self.results)
        out.append(f"  return {names} : {result_types}")
        out.append("}")
        return "\n".join(out)


def begin_model(name, step, step_comment, prefill_comment):
    """A model function and its token argument: [B, 1] for the recurrent
    step, [B, L] for the parallel prefill."""
    length = 1 if step else PREFILL_LENGTH
    f = Function(name, "recurrent" if step else "parallel",
                 step_comment if step else prefill_comment)
    return f, f.arg("tokens", [BATCH, length], "i64"), length


def head(f, h, norm_weight, eps, vocab):
    """The final norm and the language-model head: logits [B, L, V]."""
    f.note("head")
    hn = f.rms_norm(h, f.weight(norm_weight, [h.shape[-1]]), eps, "hn")
    return f.linear(hn, f.weight("lm_head.weight", [vocab, h.shape[-1]]), "logits")


# ---------------------------------------------------------------------------
# Mamba-1 and DenseMamba (MODELS.md §1, §3)
# ---------------------------------------------------------------------------

def mamba_function(cfg, name, step):
    H, N, K, R, V = (cfg["hidden_size"], cfg["state_size"], cfg["conv_kernel"],
                     cfg["time_step_rank"], cfg["vocab_size"])
    D = cfg["expand"] * H
    m, layers, eps = cfg["dense_block_layers"], cfg["num_hidden_layers"], cfg["layer_norm_epsilon"]
    f, tokens, L = begin_model(
        name, step, "recurrent step: one token per sequence, conv window and scan state in and out",
        "parallel form: a whole prompt, from zero state")
    windows_in, states_in = [], []
    if step:
        for l in range(layers):
            windows_in.append(f.arg(f"conv_window{l}", [BATCH, D, K - 1]))
            states_in.append(f.arg(f"ssm_state{l}", [BATCH, D, N]))

    embed = f.weight("backbone.embeddings.weight", [V, H])
    h = f.embedding(embed, tokens)
    kept_u, windows_out, states_out = [], [], []
    for l in range(layers):
        p = f"backbone.layers.{l}."
        q = p + "mixer."
        f.note(f"layer {l}")
        x = f.rms_norm(h, f.weight(p + "norm.weight", [H]), eps, "x")
        xz = f.linear(x, f.weight(q + "in_proj.weight", [2 * D, H]), "xz")
        xs = f.slice_last(xz, 0, D, "xs")
        z = f.slice_last(xz, D, D, "z")
        conv_w3 = f.weight(q + "conv1d.weight", [D, 1, K])
        conv_w = f.emit("convw", [D, K], f"tensor.collapse_shape {conv_w3} [[0, 1], [2]] "
                                         f": {conv_w3.type} into {tensor_type([D, K])}")
        conv_b = f.weight(q + "conv1d.bias", [D])
        window = f" window({windows_in[l]})" if step else ""
        window_type = f", {windows_in[l].type}" if step else ""
        u, win = f.emit2(("u", "window"), ([BATCH, L, D], [BATCH, D, K - 1]),
                         f"densessm.causal_conv1d {xs}, {conv_w} bias({conv_b}){window} "
                         "{activation = #densessm.activation<silu>} : "
                         f"{xs.type}, {conv_w.type}, {conv_b.type}{window_type} -> "
                         f"{tensor_type([BATCH, L, D])}, {tensor_type([BATCH, D, K - 1])}")
        windows_out.append(win)
        if m > 0:
            # DenseMamba: every layer's checkpoint holds the dense tensors;
            # layer 0 has no earlier layer to connect to.
            fc1 = f.weight(q + "u_select.fc1.weight", [H // 32, H])
            fc2 = f.weight(q + "u_select.fc2.weight", [D, H // 32])
            u_norm = f.weight(q + "u_norm.weight", [D])
            u_cur = u
            earlier = kept_u[max(0, l - m):l][::-1]
            if earlier:
                f.note(f"dense hidden connection from layers {', '.join(str(l - 1 - i) for i in range(len(earlier)))}")
                u = f.dense_connect(u, earlier, [x, fc1, fc2], u_norm, eps, "udense")
            kept_u.append(u_cur)
        dbc = f.linear(u, f.weight(q + "x_proj.weight", [R + 2 * N, D]), "dbc")
        dr = f.slice_last(dbc, 0, R, "dtr")
        Bt = f.slice_last(dbc, R, N, "Bt")
        Ct = f.slice_last(dbc, R + N, N, "Ct")
        dt = f.linear(dr, f.weight(q + "dt_proj.weight", [D, R]), "dt")
        dt_bias = f.weight(q + "dt_proj.bias", [D])
        a_log = f.weight(q + "A_log", [D, N])
        a_exp = f.emit("Aexp", [D, N], f"math.exp {a_log} : {a_log.type}")
        A = f.emit("A", [D, N], f"arith.negf {a_exp} : {a_exp.type}")
        Dskip = f.weight(q + "D", [D])
        init = f" initial_state({states_in[l]})" if step else ""
        init_type = f", {states_in[l].type}" if step else ""
        y, s = f.emit2(("y", "state"), ([BATCH, L, D], [BATCH, D, N]),
                       f"densessm.selective_scan {u}, {dt}, {A}, {Bt}, {Ct} D({Dskip}) z({z}) "
                       f"delta_bias({dt_bias}){init} {{delta_softplus}} : "
                       f"{u.type}, {dt.type}, {A.type}, {Bt.type}, {Ct.type}, {Dskip.type}, "
                       f"{z.type}, {dt_bias.type}{init_type} -> {tensor_type([BATCH, L, D])}, "
                       f"{tensor_type([BATCH, D, N])}")
        states_out.append(s)
        out = f.linear(y, f.weight(q + "out_proj.weight", [H, D]), "out")
        h = f.binary("addf", h, out, "h")
    logits = head(f, h, "backbone.norm_f.weight", eps, V)
    f.results = [logits] + [v for pair in zip(windows_out, states_out) for v in pair]
    return f


# ---------------------------------------------------------------------------
# RetNet (GAU) and DenseRetNet (MODELS.md §2)
# ---------------------------------------------------------------------------

def retnet_function(cfg, name, step):
    H, Q, heads, V = cfg["hidden_size"], cfg["query_key_dim"], cfg["num_attention_heads"], cfg["vocab_size"]
    E = cfg["v_factor"] * H
    dk, dv = Q // heads, E // heads
    m, layers, eps = cfg["dense_block_layers"], cfg["num_hidden_layers"], cfg["rms_norm_eps"]
    f, tokens, L = begin_model(
        name, step, "recurrent step: one token per sequence at its position, retention state in and out",
        "parallel form: a whole prompt from position 0")
    position, states_in = None, []
    if step:
        position = f.arg("position", [BATCH], "i64")
        for l in range(layers):
            states_in.append(f.arg(f"retention_state{l}", [BATCH, heads, dk, dv]))

    embed = f.weight("model.embed_tokens.weight", [V, H])
    h = f.embedding(embed, tokens)
    decay = f.emit("decay", [heads], "arith.constant dense<[" +
                   ", ".join(fmt_float(1 - 2 ** (-5 - j)) for j in range(heads)) +
                   f"]> : {tensor_type([heads])}")
    kept_k, kept_v, states_out = [], [], []
    for l in range(layers):
        p = f"model.layers.{l}."
        a = p + "self_attn."
        f.note(f"layer {l}")
        x = f.rms_norm(h, f.weight(p + "input_layernorm.weight", [H]), eps, "x")
        q = f.silu(f.linear(x, f.weight(a + "q_proj.weight", [Q, H]), "qp"), "q")
        kp = f.silu(f.linear(x, f.weight(a + "k_proj.weight", [Q, H]), "kp"), "ks")
        k = f.binary("mulf", kp, f.splat(dk ** -0.5, kp.shape), "k")
        vg = f.silu(f.linear(x, f.weight(a + "to_hidden.0.weight", [2 * E, H]), "vgp"), "vg")
        v = f.slice_last(vg, 0, E, "v")
        g = f.slice_last(vg, E, E, "g")
        out_w = f.weight(a + "to_out.0.weight", [H, E])
        group_norm = f.weight(a + "group_norm.weight", [dv])
        # Every layer's checkpoint holds the dense tensors; layer 0 ignores them.
        kfc1 = f.weight(a + "k_select.fc1.weight", [H // 32, H])
        kfc2 = f.weight(a + "k_select.fc2.weight", [H // 2, H // 32])
        vfc1 = f.weight(a + "v_select.fc1.weight", [H // 32, H])
        vfc2 = f.weight(a + "v_select.fc2.weight", [2 * H, H // 32])
        k_norm = f.weight(a + "k_norm.weight", [Q])
        v_norm = f.weight(a + "v_norm.weight", [E])
        k_cur, v_cur = k, v
        if l >= 1:
            earlier_k = kept_k[max(0, l - m):l][::-1] if m else []
            earlier_v = kept_v[max(0, l - m):l][::-1] if m else []
            if earlier_k:
                f.note(f"dense hidden connection from layers {', '.join(str(l - 1 - i) for i in range(len(earlier_k)))}")
            else:
                f.note("no earlier layers to connect (dense_block_layers = 0): k_norm and v_norm only")
            k = f.dense_connect(k, earlier_k, [x, kfc1, kfc2] if earlier_k else None, k_norm, eps, "kdense")
            v = f.dense_connect(v, earlier_v, [x, vfc1, vfc2] if earlier_v else None, v_norm, eps, "vdense")
        kept_k.append(k_cur)
        kept_v.append(v_cur)
        qh, kh, vh = f.split_heads(q, heads, "qh"), f.split_heads(k, heads, "kh"), f.split_heads(v, heads, "vh")
        pos = f" position({position})" if step else ""
        pos_type = f", {position.type}" if step else ""
        qr = f.emit("qr", qh.shape, f"densessm.rotary {qh}{pos} : {qh.type}{pos_type}")
        kr = f.emit("kr", kh.shape, f"densessm.rotary {kh}{pos} : {kh.type}{pos_type}")
        init = f" initial_state({states_in[l]})" if step else ""
        init_type = f", {states_in[l].type}" if step else ""
        o, S = f.emit2(("o", "state"), ([BATCH, L, heads, dv], [BATCH, heads, dk, dv]),
                       f"densessm.retention {qr}, {kr}, {vh} decay({decay}){pos}{init} : "
                       f"{qr.type}, {kr.type}, {vh.type}, {decay.type}{pos_type}{init_type} -> "
                       f"{tensor_type([BATCH, L, heads, dv])}, {tensor_type([BATCH, heads, dk, dv])}")
        states_out.append(S)
        on = f.rms_norm(o, group_norm, eps, "on")
        og = f.binary("mulf", f.merge_heads(on, "oc"), g, "og")
        h = f.binary("addf", h, f.linear(og, out_w, "out"), "h")
    logits = head(f, h, "model.norm.weight", eps, V)
    f.results = [logits] + states_out
    return f


HEADER = """\
// {title}: a tiny {family} written in the densessm dialect (MODELS.md {section}).
// Generated by models/examples/generate.py; edit that script, not this file.
//
// config: {config}
// @prefill is the parallel form over a sequence, @step the recurrent form.

#proj_x = affine_map<(b, l, o, i) -> (b, l, i)>
#proj_w = affine_map<(b, l, o, i) -> (o, i)>
#proj_y = affine_map<(b, l, o, i) -> (b, l, o)>
"""

MODELS = {
    "mamba": ("Mamba-1", "Mamba-1 model", "§1", MAMBA, mamba_function),
    "densemamba": ("DenseMamba", "DenseMamba model", "§3", DENSEMAMBA, mamba_function),
    "retnet": ("RetNet (GAU)", "RetNet-GAU model (dense_block_layers = 0)", "§2", RETNET, retnet_function),
    "denseretnet": ("DenseRetNet", "DenseRetNet model", "§2", DENSERETNET, retnet_function),
}


def render(key):
    title, family, section, cfg, build = MODELS[key]
    config = ", ".join(f"{k}={v}" for k, v in cfg.items())
    parts = [HEADER.format(title=title, family=family, section=section, config=config)]
    parts.append(build(cfg, "prefill", step=False).text())
    parts.append("")
    parts.append(build(cfg, "step", step=True).text())
    return "\n".join(parts) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="fail if a committed file differs from what this script writes")
    args = parser.parse_args()
    stale = []
    for key in MODELS:
        path = HERE / f"{key}.mlir"
        text = render(key)
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(path.name)
        else:
            path.write_text(text)
            print(f"wrote {path.relative_to(HERE.parent.parent)}")
    if stale:
        print("stale example IR (run python3 models/examples/generate.py): " + ", ".join(stale),
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
