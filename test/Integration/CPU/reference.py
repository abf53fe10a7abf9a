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
