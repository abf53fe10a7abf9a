"""The four model families of MODELS.md in double precision, from the op
references in reference.py: token ids in, logits and every layer's final
recurrent state out. Weights are a dict keyed by checkpoint tensor name."""

import math

import reference as ref


def heads_split(x, heads):
    return [[[row[h * (len(row) // heads):(h + 1) * (len(row) // heads)]
              for h in range(heads)] for row in seq] for seq in x]


def heads_merge(x):
    return [[[v for head in row for v in head] for row in seq] for seq in x]


def last(x, start, size):
    return [[row[start:start + size] for row in seq] for seq in x]


def add(a, b):
    return ref.elementwise(lambda p, q: p + q, a, b)


def mamba(cfg, W, tokens, windows=None, states=None):
    """Mamba-1 (§1), or DenseMamba (§3) when dense_block_layers > 0.
    windows/states: per layer [b][d][K-1] and [b][d][N], or None for zeros.
    Returns (logits, [(window, state) per layer])."""
    H, N, K = cfg["hidden_size"], cfg["state_size"], cfg["conv_kernel"]
    R, D = cfg["time_step_rank"], cfg["expand"] * cfg["hidden_size"]
    m, eps = cfg["dense_block_layers"], cfg["layer_norm_epsilon"]
    h = ref.embedding(W["backbone.embeddings.weight"], tokens)
    kept, finals = [], []
    for l in range(cfg["num_hidden_layers"]):
        p = f"backbone.layers.{l}.mixer."
        x = ref.rms_norm(h, W[f"backbone.layers.{l}.norm.weight"], eps)
        xz = ref.linear(x, W[p + "in_proj.weight"])
        xs, z = last(xz, 0, D), last(xz, D, D)
        conv_w = [row[0] for row in W[p + "conv1d.weight"]]
        u, window = ref.causal_conv1d(xs, conv_w, W[p + "conv1d.bias"],
                                      windows[l] if windows else None, silu_on=True)
        if m > 0:
            u_cur = u
            earlier = kept[max(0, l - m):l][::-1]
            if earlier:
                u = ref.dense_connect(u, earlier, gate=(x, W[p + "u_select.fc1.weight"],
                                                        W[p + "u_select.fc2.weight"]),
                                      norm_weight=W[p + "u_norm.weight"], eps=eps)
            kept.append(u_cur)
        dbc = ref.linear(u, W[p + "x_proj.weight"])
        dt = ref.linear(last(dbc, 0, R), W[p + "dt_proj.weight"])
        A = [[-math.exp(a) for a in row] for row in W[p + "A_log"]]
        y, state = ref.selective_scan(u, dt, A, last(dbc, R, N), last(dbc, R + N, N),
                                      D=W[p + "D"], z=z, delta_bias=W[p + "dt_proj.bias"],
                                      initial_state=states[l] if states else None,
                                      delta_softplus=True)
        h = add(h, ref.linear(y, W[p + "out_proj.weight"]))
        finals.append((window, state))
    logits = ref.linear(ref.rms_norm(h, W["backbone.norm_f.weight"], eps), W["lm_head.weight"])
    return logits, finals


def retnet(cfg, W, tokens, position=None, states=None):
    """RetNet-GAU / DenseRetNet (§2). states: per layer [b][h][dk][dv] or
    None; position: each sequence's first position. Returns
    (logits, [state per layer])."""
    H, Q, heads = cfg["hidden_size"], cfg["query_key_dim"], cfg["num_attention_heads"]
    E = cfg["v_factor"] * H
    dk = Q // heads
    m, eps = cfg["dense_block_layers"], cfg["rms_norm_eps"]
    decay = [1 - 2 ** (-5 - j) for j in range(heads)]
    h = ref.embedding(W["model.embed_tokens.weight"], tokens)
    kept_k, kept_v, finals = [], [], []
    for l in range(cfg["num_hidden_layers"]):
        a = f"model.layers.{l}.self_attn."
        x = ref.rms_norm(h, W[f"model.layers.{l}.input_layernorm.weight"], eps)
        q = ref.elementwise(ref.silu, ref.linear(x, W[a + "q_proj.weight"]))
        k = ref.elementwise(lambda v: ref.silu(v) * dk ** -0.5, ref.linear(x, W[a + "k_proj.weight"]))
        vg = ref.elementwise(ref.silu, ref.linear(x, W[a + "to_hidden.0.weight"]))
        v, g = last(vg, 0, E), last(vg, E, E)
        k_cur, v_cur = k, v
        if l >= 1:
            ek = kept_k[max(0, l - m):l][::-1] if m else []
            ev = kept_v[max(0, l - m):l][::-1] if m else []
            k = ref.dense_connect(k, ek, gate=(x, W[a + "k_select.fc1.weight"],
                                               W[a + "k_select.fc2.weight"]) if ek else None,
                                  norm_weight=W[a + "k_norm.weight"], eps=eps)
            v = ref.dense_connect(v, ev, gate=(x, W[a + "v_select.fc1.weight"],
                                               W[a + "v_select.fc2.weight"]) if ev else None,
                                  norm_weight=W[a + "v_norm.weight"], eps=eps)
        kept_k.append(k_cur)
        kept_v.append(v_cur)
        qh = ref.rotary(heads_split(q, heads), position)
        kh = ref.rotary(heads_split(k, heads), position)
        o, state = ref.retention(qh, kh, heads_split(v, heads), decay, position=position,
                                 initial_state=states[l] if states else None)
        o = ref.rms_norm(o, W[a + "group_norm.weight"], eps)
        og = ref.elementwise(lambda p, r: p * r, heads_merge(o), g)
        h = add(h, ref.linear(og, W[a + "to_out.0.weight"]))
        finals.append(state)
    logits = ref.linear(ref.rms_norm(h, W["model.norm.weight"], eps), W["lm_head.weight"])
    return logits, finals
