"""Double-precision references for the densessm ops, written from MODELS.md
with plain loops, independently of the compiler's lowerings.

Tensors are nested Python lists; every function returns new lists."""

import math


def softplus(x):
    return x if x > 20.0 else math.log1p(math.exp(x))


def silu(x):
    return x / (1.0 + math.exp(-x))


def selective_scan(u, delta, A, B, C, D=None, z=None, delta_bias=None,
                   initial_state=None, delta_softplus=False):
    """Mamba's S6 (MODELS.md §1): u, delta, z [b][t][d]; A [d][n];
    B, C [b][t][n] or grouped [b][t][g][n]; D, delta_bias [d];
    state [b][d][n]. Returns (y [b][t][d], final state [b][d][n])."""
    batch, length, channels = len(u), len(u[0]), len(u[0][0])
    state_size = len(A[0])
    grouped = isinstance(B[0][0][0], list)
    groups = len(B[0][0]) if grouped else 1
    per_group = channels // groups
    y = [[[0.0] * channels for _ in range(length)] for _ in range(batch)]
    final = []
    for b in range(batch):
        s = [[initial_state[b][d][n] if initial_state else 0.0
              for n in range(state_size)] for d in range(channels)]
        for t in range(length):
            for d in range(channels):
                g = d // per_group
                Bt = B[b][t][g] if grouped else B[b][t]
                Ct = C[b][t][g] if grouped else C[b][t]
                dt = delta[b][t][d] + (delta_bias[d] if delta_bias else 0.0)
                if delta_softplus:
                    dt = softplus(dt)
                acc = 0.0
                for n in range(state_size):
                    s[d][n] = math.exp(dt * A[d][n]) * s[d][n] + dt * Bt[n] * u[b][t][d]
                    acc += Ct[n] * s[d][n]
                if D:
                    acc += D[d] * u[b][t][d]
                if z:
                    acc *= silu(z[b][t][d])
                y[b][t][d] = acc
        final.append(s)
    return y, final


def decay_sum(gamma, p):
    """c_p = Σ_{i=0..p} γ^i (c_{-1} = 0)."""
    return sum(gamma ** i for i in range(p + 1))


def retention(q, k, v, decay, position=None, initial_state=None,
              normalization="authors"):
    """Multi-scale retention (MODELS.md §2) in its parallel form,
    D_ts = γ^(t-s) / sqrt(c_t) at absolute positions p0 + t, plus the
    carried state's contribution: the unnormalised state U = sqrt(c_{p0-1}) S0
    decays by γ^(t+1). q, k [b][t][h][dk], v [b][t][h][dv], decay [h],
    position [b], state [b][h][dk][dv]."""
    batch, length, heads = len(q), len(q[0]), len(q[0][0])
    dk, dv = len(q[0][0][0]), len(v[0][0][0])
    authors = normalization == "authors"
    o = [[[[0.0] * dv for _ in range(heads)] for _ in range(length)] for _ in range(batch)]
    final = []
    for b in range(batch):
        p0 = position[b] if position else 0
        fb = []
        for h in range(heads):
            g = decay[h]
            scale = (lambda p: math.sqrt(decay_sum(g, p))) if authors else (lambda p: 1.0)
            U0 = [[(initial_state[b][h][i][j] * scale(p0 - 1) if initial_state else 0.0)
                   for j in range(dv)] for i in range(dk)]
            for t in range(length):
                for j in range(dv):
                    acc = 0.0
                    for i in range(dk):
                        acc += q[b][t][h][i] * g ** (t + 1) * U0[i][j]
                    for s in range(t + 1):
                        qk = sum(q[b][t][h][i] * k[b][s][h][i] for i in range(dk))
                        acc += g ** (t - s) * qk * v[b][s][h][j]
                    o[b][t][h][j] = acc / scale(p0 + t)
            last = p0 + length - 1
            S = [[(g ** length * U0[i][j]
                   + sum(g ** (length - 1 - s) * k[b][s][h][i] * v[b][s][h][j]
                         for s in range(length))) / scale(last)
                  for j in range(dv)] for i in range(dk)]
            fb.append(S)
        final.append(fb)
    return o, final


def rms_norm(x, w, eps):
    """Over the last axis of a nested list of any depth."""
    if not isinstance(x[0], list):
        scale = 1.0 / math.sqrt(sum(v * v for v in x) / len(x) + eps)
        return [v * scale * wi for v, wi in zip(x, w)]
    return [rms_norm(row, w, eps) for row in x]


def rotary(x, position=None, base=10000.0):
    """x [b][t][h][d]; pairs (2i, 2i+1) rotated by p·θ_i,
    θ_i = base^(-i/(d/2-1)) (MODELS.md §2)."""
    out = []
    for b, seq in enumerate(x):
        p0 = position[b] if position else 0
        rows = []
        for t, heads in enumerate(seq):
            hs = []
            for vec in heads:
                d = len(vec)
                r = list(vec)
                for i in range(d // 2):
                    theta = base ** (-i / (d / 2 - 1))
                    angle = (p0 + t) * theta
                    a, c = vec[2 * i], vec[2 * i + 1]
                    r[2 * i] = a * math.cos(angle) - c * math.sin(angle)
                    r[2 * i + 1] = c * math.cos(angle) + a * math.sin(angle)
                hs.append(r)
            rows.append(hs)
        out.append(rows)
    return out


def embedding(table, tokens):
    return [[list(table[tok]) for tok in seq] for seq in tokens]


def causal_conv1d(x, w, bias=None, window=None, silu_on=False):
    """x [b][t][c], w [c][k], window [b][c][k-1] (oldest first).
    Returns (y [b][t][c], final window [b][c][k-1])."""
    K = len(w[0])
    y, final = [], []
    for b, seq in enumerate(x):
        C = len(seq[0])
        hist = [[window[b][c][j] if window else 0.0 for j in range(K - 1)] for c in range(C)]
        padded = [hist[c] + [seq[t][c] for t in range(len(seq))] for c in range(C)]
        rows = []
        for t in range(len(seq)):
            row = []
            for c in range(C):
                acc = (bias[c] if bias else 0.0) + sum(w[c][k] * padded[c][t + k] for k in range(K))
                row.append(silu(acc) if silu_on else acc)
            rows.append(row)
        y.append(rows)
        final.append([padded[c][len(seq):] for c in range(C)])
    return y, final


def linear(x, w):
    """x [...][i] times w [o][i] -> [...][o]."""
    if not isinstance(x[0], list):
        return [sum(a * b for a, b in zip(x, row)) for row in w]
    return [linear(v, w) for v in x]


def elementwise(f, *xs):
    if not isinstance(xs[0], list):
        return f(*xs)
    return [elementwise(f, *parts) for parts in zip(*xs)]


def dense_connect(current, kept, gate=None, proj=None, fuse_weight=None,
                  norm_weight=None, eps=1e-6):
    """MODELS.md §4: c' = Norm(Fuse(c, {Proj_i(kept_i) ⊙ Select(x)}))."""
    sel = None
    if gate:
        x, fc1, fc2 = gate
        sel = elementwise(silu, linear(elementwise(silu, linear(x, fc1)), fc2))
    gated = []
    for i, k in enumerate(kept):
        g = linear(k, proj[i]) if proj else k
        if sel is not None:
            g = elementwise(lambda a, s: a * s, g, sel)
        gated.append(g)
    if fuse_weight is None:
        fused = current
        for g in gated:
            fused = elementwise(lambda a, b: a + b, fused, g)
    else:
        parts = [current] + gated

        def concat(*vs):
            return [v for part in vs for v in part]
        rows = [[concat(*[p[b][t] for p in parts]) for t in range(len(current[0]))]
                for b in range(len(current))]
        fused = linear(rows, fuse_weight)
    return rms_norm(fused, norm_weight, eps) if norm_weight else fused
