#!/usr/bin/python3
"""The PyTorch (eager) peer of the performance report: the same kernels and
the same models as densessm, written in PyTorch from MODELS.md, timed on the
same inputs and the same number of threads.

  torch_reference.py kernels --threads=N            # the kernel grid, JSON lines
  torch_reference.py model CHECKPOINT --batch=B --prompt=L --steps=S --threads=N
                                                    # one model run, one JSON line

Kernels (the forms people run in PyTorch):
- selective scan: the reference scan of the Mamba authors (selective_scan_ref):
  exp(δA) and δBu for the whole sequence by einsum, then a Python loop over
  time with an einsum readout per token;
- retention: the DenseSSM authors' parallel form, (q kᵀ ⊙ D) / clamp(Σ|·|) v;
- the dense connection of DenseRetNet's v path followed by that retention;
- the causal convolution: F.conv1d with groups = channels;
- the one-token decode steps of both scans.
Inputs are the hash bench/KernelBenchmarks.cpp fills its tensors with.

Models: Mamba / DenseMamba (MODELS.md §1, §3): prefill runs the layers over
the whole prompt with the reference scan above, decode the authors' one-token
step (conv window roll, state update). DenseRetNet (§2): prefill in the
authors' parallel form, decode in their recurrent form, as their generate()
does. Weights are read from the checkpoint's safetensors files.
"""

import argparse
import json
import math
import pathlib
import resource
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F


def filled(shape, lo, hi, seed):
    """KernelBenchmarks.cpp's filled(): a hash of (element index, seed)."""
    n = math.prod(shape)
    x = np.arange(n, dtype=np.uint32) * np.uint32(2654435761)
    x += np.uint32((seed * 40503) & 0xFFFFFFFF)
    x ^= x >> np.uint32(15)
    x *= np.uint32(2246822519)
    x ^= x >> np.uint32(13)
    x *= np.uint32(3266489917)
    x ^= x >> np.uint32(16)
    values = np.float32(lo) + np.float32(hi - lo) * (x % np.uint32(10000)).astype(
        np.float32) / np.float32(10000)
    return torch.from_numpy(values.reshape(shape))


def timed(fn, min_seconds=0.3, max_runs=20):
    """Median wall time of fn() after one warm-up call: at least 3 runs (or
    one more when a run is long), until min_seconds have passed. A warm-up
    call over 2 s is the measurement (the reference scan at long L: warming
    up would double the report's run time for a first-touch effect of a few
    percent)."""
    start = time.perf_counter()
    fn()
    first = time.perf_counter() - start
    if first > 2.0:
        return first
    times = []
    while len(times) < max_runs:
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
        if sum(times) >= min_seconds and (len(times) >= 3 or times[0] > 1.0):
            break
    return statistics.median(times)


# -- kernels ------------------------------------------------------------------

def selective_scan_ref(u, delta, A, B, C, D, z, delta_bias):
    """The Mamba authors' reference scan: u, delta, z [b, d, l]; A [d, n];
    B, C [b, n, l]; softplus(delta + bias); returns y [b, d, l] and the state."""
    delta = F.softplus(delta + delta_bias[..., None])
    batch, dim = u.shape[0], A.shape[0]
    x = u.new_zeros((batch, dim, A.shape[1]))
    deltaA = torch.exp(torch.einsum('bdl,dn->bdln', delta, A))
    deltaB_u = torch.einsum('bdl,bnl,bdl->bdln', delta, B, u)
    ys = []
    for i in range(u.shape[2]):
        x = deltaA[:, :, i] * x + deltaB_u[:, :, i]
        ys.append(torch.einsum('bdn,bn->bd', x, C[:, :, i]))
    y = torch.stack(ys, dim=2)
    out = y + u * D[:, None]
    return out * F.silu(z), x


def retention_decay_mask(heads, length):
    """D[h, t, s] = γ_h^(t-s) / sqrt(Σ_{i≤t} γ_h^i) for s ≤ t, else 0."""
    gamma = 1 - 2.0 ** (-5 - torch.arange(heads, dtype=torch.float64))
    t = torch.arange(length, dtype=torch.float64)
    diff = t[:, None] - t[None, :]
    mask = torch.where(diff >= 0, gamma[:, None, None] ** diff.clamp(min=0),
                       torch.zeros(()).double())
    scale = mask.sum(-1, keepdim=True).sqrt()
    return (mask / scale).float()


def retention_parallel(q, k, v, mask):
    """The authors' parallel form: q, k [b, h, l, dk], v [b, h, l, dv]."""
    r = (q @ k.transpose(-1, -2)) * mask
    r = r / r.abs().sum(-1, keepdim=True).clamp(1, 5e4)
    return r @ v


def rms_norm(x, w, eps):
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def kernel_rows(threads):
    D = 1536
    rows = []

    def emit(name, shape, seconds):
        row = dict(name=name, impl="torch", threads=threads, seconds=seconds, **shape)
        rows.append(row)
        print(json.dumps(row), flush=True)

    # Selective scan, the same points as KernelBenchmarks.cpp where the
    # reference's whole-sequence [b, d, l, n] tensors stay within 256 MiB
    # each (B·L·N ≤ 32768·16 at D = 1536); beyond, one call of the
    # reference takes 20-70 s on the 2-core machine.
    for b, l, n in [(1, 128, 16), (1, 512, 16), (1, 2048, 16), (1, 2048, 8)]:
        u = filled((b, l, D), -1, 1, 1).transpose(1, 2).contiguous()
        delta = filled((b, l, D), -1, 1, 2).transpose(1, 2).contiguous()
        Bm = filled((b, l, n), -1, 1, 3).transpose(1, 2).contiguous()
        Cm = filled((b, l, n), -1, 1, 4).transpose(1, 2).contiguous()
        z = filled((b, l, D), -1, 1, 5).transpose(1, 2).contiguous()
        A = filled((D, n), -2, -0.1, 6)
        Dv = filled((D,), -1, 1, 7)
        bias = filled((D,), -0.5, 0.5, 8)
        emit("selective_scan", dict(B=b, L=l, D=D, N=n), timed(
            lambda: selective_scan_ref(u, delta, A, Bm, Cm, Dv, z, bias)))
    for b in (1, 16):
        u, delta, z = (filled((b, D), -1, 1, s) for s in (1, 2, 5))
        Bm, Cm = filled((b, 16), -1, 1, 3), filled((b, 16), -1, 1, 4)
        A, Dv = filled((D, 16), -2, -0.1, 6), filled((D,), -1, 1, 7)
        bias = filled((D,), -0.5, 0.5, 8)
        state = filled((b, D, 16), -1, 1, 9)

        def scan_step():
            dt = F.softplus(delta + bias)
            s = torch.exp(dt[..., None] * A) * state + (dt * u)[..., None] * Bm[:, None, :]
            y = torch.einsum('bdn,bn->bd', s, Cm) + Dv * u
            return y * F.silu(z), s
        emit("selective_scan.step", dict(B=b, L=1, D=D, N=16), timed(scan_step))

    # Retention (parallel form) where the [b, h, l, l] scores fit.
    H, dk, dv = 4, 192, 768
    for b, l in [(1, 128), (1, 512), (1, 2048), (4, 512)]:
        q = filled((b, l, H, dk), -1, 1, 11).transpose(1, 2).contiguous()
        k = filled((b, l, H, dk), -1, 1, 12).transpose(1, 2).contiguous()
        v = filled((b, l, H, dv), -1, 1, 13).transpose(1, 2).contiguous()
        mask = retention_decay_mask(H, l)
        emit("retention", dict(B=b, L=l, H=H, dk=dk),
             timed(lambda: retention_parallel(q, k, v, mask)))
    for b in (1, 8):
        q, k = filled((b, H, 1, dk), -1, 1, 11), filled((b, H, 1, dk), -1, 1, 12)
        v = filled((b, H, 1, dv), -1, 1, 13)
        state = filled((b, H, dk, dv), -1, 1, 14)
        gamma = 1 - 2.0 ** (-5 - torch.arange(H, dtype=torch.float32))
        position = 1000
        c_prev = (1 - gamma ** position) / (1 - gamma)
        c = gamma * c_prev + 1

        def retention_step():
            keep = (gamma * torch.sqrt(c_prev / c))[None, :, None, None]
            s = state * keep + k.transpose(-1, -2) @ v / torch.sqrt(c)[None, :, None, None]
            return q @ s, s
        emit("retention.step", dict(B=b, L=1, H=H, dk=dk), timed(retention_step))

    # DenseRetNet-350M's v path: dense connection (m = 2) + retention.
    Hd, E, R = 1536, 3072, 48
    for l in (512, 2048):
        q = filled((1, l, H, dk), -1, 1, 11).transpose(1, 2).contiguous()
        k = filled((1, l, H, dk), -1, 1, 12).transpose(1, 2).contiguous()
        v, v1, v2 = (filled((1, l, E), -1, 1, s) for s in (21, 22, 23))
        x = filled((1, l, Hd), -1, 1, 24)
        fc1, fc2 = filled((R, Hd), -0.05, 0.05, 25), filled((E, R), -0.2, 0.2, 26)
        norm = filled((E,), 0.5, 1.5, 27)
        mask = retention_decay_mask(H, l)

        def dense_retention():
            gate = F.silu(F.linear(F.silu(F.linear(x, fc1)), fc2))
            f = rms_norm(v + gate * v1 + gate * v2, norm, 1e-6)
            vh = f.view(1, l, H, dv).transpose(1, 2)
            return retention_parallel(q, k, vh, mask)
        emit("dense_retention", dict(B=1, L=l, H=H, dk=dk), timed(dense_retention))

    # Causal convolution, K = 4, bias, SiLU.
    for b, l in [(1, 2048), (1, 16384), (8, 2048)]:
        x = filled((b, l, D), -1, 1, 31).transpose(1, 2).contiguous()
        w = filled((D, 4), -0.5, 0.5, 32).view(D, 1, 4)
        bias = filled((D,), -0.5, 0.5, 33)
        emit("causal_conv1d", dict(B=b, L=l, D=D), timed(
            lambda: F.silu(F.conv1d(x, w, bias, padding=3, groups=D)[..., :l])))
    return rows


# -- models -------------------------------------------------------------------

DTYPES = {"F32": np.float32, "F16": np.float16}


def load_checkpoint(directory):
    """config.json and {name: f32 tensor} from the safetensors files."""
    directory = pathlib.Path(directory)
    config = json.loads((directory / "config.json").read_text())
    weights = {}
    for path in sorted(directory.glob("*.safetensors")):
        raw = np.memmap(path, dtype=np.uint8, mode="r")
        header_size = int(np.frombuffer(raw[:8].tobytes(), dtype="<u8")[0])
        header = json.loads(raw[8:8 + header_size].tobytes())
        base = 8 + header_size
        for name, entry in header.items():
            if name == "__metadata__":
                continue
            start, end = entry["data_offsets"]
            data = raw[base + start:base + end]
            if entry["dtype"] == "BF16":
                bits = np.frombuffer(data.tobytes(), dtype="<u2").astype(np.uint32) << 16
                array = bits.view(np.float32)
            else:
                array = np.frombuffer(data.tobytes(), dtype=DTYPES[entry["dtype"]])
            weights[name] = torch.from_numpy(
                array.astype(np.float32).reshape(entry["shape"]))
    if "lm_head.weight" not in weights:
        embed = weights.get("backbone.embeddings.weight",
                            weights.get("model.embed_tokens.weight"))
        weights["lm_head.weight"] = embed
    return config, weights


def select(x, fc1, fc2):
    """The selective transition module: SiLU(fc2 · SiLU(fc1 · x))."""
    return F.silu(F.linear(F.silu(F.linear(x, fc1)), fc2))


class Mamba:
    """Mamba-1 (§1) and DenseMamba (§3)."""

    def __init__(self, config, W):
        self.c, self.W = config, W
        self.H, self.N = config["hidden_size"], config["state_size"]
        self.K, self.Din = config["conv_kernel"], config["expand"] * config["hidden_size"]
        r = config["time_step_rank"]
        self.R = math.ceil(self.H / 16) if r == "auto" else int(r)
        self.m = config.get("dense_block_layers", 0)
        self.eps = config["layer_norm_epsilon"]
        self.layers = config["num_hidden_layers"]
        self.A = [-torch.exp(W[f"backbone.layers.{l}.mixer.A_log"]) for l in range(self.layers)]

    def p(self, l, name):
        return self.W[f"backbone.layers.{l}.mixer.{name}"]

    def dense(self, l, x, u, kept):
        """DenseMamba's connection of u (pre-fusion values kept per layer)."""
        if self.m == 0:
            return u
        earlier = kept[max(0, l - self.m):l]
        kept.append(u)
        if not earlier:
            return u
        gate = select(x, self.p(l, "u_select.fc1.weight"), self.p(l, "u_select.fc2.weight"))
        return rms_norm(u + gate * sum(earlier), self.p(l, "u_norm.weight"), self.eps)

    def prefill(self, tokens):
        """tokens [b, L] -> logits [b, L, V] and the decode state."""
        h = F.embedding(tokens, self.W["backbone.embeddings.weight"])
        L, kept, states = tokens.shape[1], [], []
        for l in range(self.layers):
            x = rms_norm(h, self.W[f"backbone.layers.{l}.norm.weight"], self.eps)
            xs, z = F.linear(x, self.p(l, "in_proj.weight")).split(self.Din, dim=-1)
            xs_t = xs.transpose(1, 2)
            window = F.pad(xs_t, (self.K - 1, 0))[..., -(self.K - 1):]
            u = F.silu(F.conv1d(xs_t, self.p(l, "conv1d.weight"), self.p(l, "conv1d.bias"),
                                padding=self.K - 1, groups=self.Din)[..., :L]).transpose(1, 2)
            u = self.dense(l, x, u, kept)
            dt, Bm, Cm = F.linear(u, self.p(l, "x_proj.weight")).split(
                [self.R, self.N, self.N], dim=-1)
            delta = F.linear(dt, self.p(l, "dt_proj.weight"))
            y, state = selective_scan_ref(
                u.transpose(1, 2), delta.transpose(1, 2), self.A[l], Bm.transpose(1, 2),
                Cm.transpose(1, 2), self.p(l, "D"), z.transpose(1, 2), self.p(l, "dt_proj.bias"))
            h = h + F.linear(y.transpose(1, 2), self.p(l, "out_proj.weight"))
            states.append([window.contiguous(), state])
        logits = F.linear(rms_norm(h, self.W["backbone.norm_f.weight"], self.eps),
                          self.W["lm_head.weight"])
        return logits, states

    def step(self, token, states):
        """token [b] -> logits [b, V]; updates states in place (the authors'
        step: roll the conv window, one scan update)."""
        h = F.embedding(token, self.W["backbone.embeddings.weight"])
        kept = []
        for l in range(self.layers):
            window, s = states[l]
            x = rms_norm(h, self.W[f"backbone.layers.{l}.norm.weight"], self.eps)
            xs, z = F.linear(x, self.p(l, "in_proj.weight")).split(self.Din, dim=-1)
            full = torch.cat([window, xs[..., None]], dim=-1)  # [b, d, K]
            states[l][0] = full[..., 1:]
            u = F.silu((full * self.p(l, "conv1d.weight")[:, 0]).sum(-1) + self.p(l, "conv1d.bias"))
            u = self.dense(l, x, u, kept)
            dt, Bm, Cm = F.linear(u, self.p(l, "x_proj.weight")).split(
                [self.R, self.N, self.N], dim=-1)
            delta = F.softplus(F.linear(dt, self.p(l, "dt_proj.weight")) + self.p(l, "dt_proj.bias"))
            s = torch.exp(delta[..., None] * self.A[l]) * s + (delta * u)[..., None] * Bm[:, None, :]
            states[l][1] = s
            y = torch.einsum('bdn,bn->bd', s, Cm) + self.p(l, "D") * u
            h = h + F.linear(y * F.silu(z), self.p(l, "out_proj.weight"))
        return F.linear(rms_norm(h, self.W["backbone.norm_f.weight"], self.eps),
                        self.W["lm_head.weight"])


class DenseRetNet:
    """RetNet-GAU / DenseRetNet (§2): parallel prefill, recurrent decode."""

    def __init__(self, config, W):
        self.W = W
        self.H, self.Q = config["hidden_size"], config["query_key_dim"]
        self.h = config["num_attention_heads"]
        self.E = config["v_factor"] * self.H
        self.dk, self.dv = self.Q // self.h, self.E // self.h
        self.m, self.eps = config["dense_block_layers"], config["rms_norm_eps"]
        self.layers = config["num_hidden_layers"]
        self.gamma = 1 - 2.0 ** (-5 - torch.arange(self.h, dtype=torch.float64))
        half = self.dk // 2
        self.theta = 10000.0 ** (-torch.arange(half, dtype=torch.float64) / (half - 1))

    def a(self, l, name):
        return self.W[f"model.layers.{l}.self_attn.{name}"]

    def rotate(self, x, positions):
        """x [b, h, L, dk]; pairs (2i, 2i+1) rotated by position·θ_i."""
        angle = positions.double()[:, None] * self.theta[None, :]
        cos, sin = angle.cos().float(), angle.sin().float()
        a, b = x[..., 0::2], x[..., 1::2]
        return torch.stack([a * cos - b * sin, b * cos + a * sin], dim=-1).flatten(-2)

    def project(self, l, x, kept_k, kept_v):
        """q, k, v, g of layer l with the dense connections of k and v."""
        q = F.silu(F.linear(x, self.a(l, "q_proj.weight")))
        k = F.silu(F.linear(x, self.a(l, "k_proj.weight"))) * self.dk ** -0.5
        v, g = F.silu(F.linear(x, self.a(l, "to_hidden.0.weight"))).split(self.E, dim=-1)
        k_cur, v_cur = k, v
        if l >= 1:
            ek = kept_k[max(0, l - self.m):l] if self.m else []
            ev = kept_v[max(0, l - self.m):l] if self.m else []
            if ek:
                k = k + select(x, self.a(l, "k_select.fc1.weight"),
                               self.a(l, "k_select.fc2.weight")) * sum(ek)
                v = v + select(x, self.a(l, "v_select.fc1.weight"),
                               self.a(l, "v_select.fc2.weight")) * sum(ev)
            k = rms_norm(k, self.a(l, "k_norm.weight"), self.eps)
            v = rms_norm(v, self.a(l, "v_norm.weight"), self.eps)
        kept_k.append(k_cur)
        kept_v.append(v_cur)
        return q, k, v, g

    def heads(self, x, size):
        return x.view(x.shape[0], x.shape[1], self.h, size).transpose(1, 2)

    def finish(self, l, h, o, g):
        """Per-head RMSNorm, gate, output projection, residual."""
        o = rms_norm(o, self.a(l, "group_norm.weight"), self.eps)
        o = o.transpose(1, 2).reshape(h.shape[0], -1, self.E)
        return h + F.linear(o * g, self.a(l, "to_out.0.weight"))

    def prefill(self, tokens):
        h = F.embedding(tokens, self.W["model.embed_tokens.weight"])
        b, L = tokens.shape
        positions = torch.arange(L)
        mask = retention_decay_mask(self.h, L)
        # The recurrent state after the prompt: S = Σ_s γ^(L-1-s) k_sᵀ v_s / sqrt(c_{L-1}).
        weights = (self.gamma[:, None] ** (L - 1 - positions.double())[None, :])
        scale = weights.sum(-1).sqrt()
        weights = (weights / scale[:, None]).float()[None, :, :, None]
        kept_k, kept_v, states = [], [], []
        for l in range(self.layers):
            x = rms_norm(h, self.W[f"model.layers.{l}.input_layernorm.weight"], self.eps)
            q, k, v, g = self.project(l, x, kept_k, kept_v)
            qh = self.rotate(self.heads(q, self.dk), positions)
            kh = self.rotate(self.heads(k, self.dk), positions)
            vh = self.heads(v, self.dv)
            o = retention_parallel(qh, kh, vh, mask)
            states.append((kh * weights).transpose(-1, -2) @ vh)
            h = self.finish(l, h, o, g)
        logits = F.linear(rms_norm(h, self.W["model.norm.weight"], self.eps),
                          self.W["lm_head.weight"])
        return logits, [states, L]

    def step(self, token, state):
        """One token per sequence in the recurrent form."""
        states, position = state
        h = F.embedding(token, self.W["model.embed_tokens.weight"])[:, None, :]
        g64 = self.gamma
        c_prev = (1 - g64 ** position) / (1 - g64)
        c = g64 * c_prev + 1
        keep = (g64 * torch.sqrt(c_prev / c)).float()[None, :, None, None]
        scale = (1 / torch.sqrt(c)).float()[None, :, None, None]
        pos = torch.tensor([position])
        kept_k, kept_v = [], []
        for l in range(self.layers):
            x = rms_norm(h, self.W[f"model.layers.{l}.input_layernorm.weight"], self.eps)
            q, k, v, g = self.project(l, x, kept_k, kept_v)
            qh = self.rotate(self.heads(q, self.dk), pos)
            kh = self.rotate(self.heads(k, self.dk), pos)
            vh = self.heads(v, self.dv)
            states[l] = states[l] * keep + (kh.transpose(-1, -2) @ vh) * scale
            h = self.finish(l, h, qh @ states[l], g)
        state[1] = position + 1
        return F.linear(rms_norm(h, self.W["model.norm.weight"], self.eps),
                        self.W["lm_head.weight"])[:, 0]


def model_row(checkpoint, batch, prompt, steps, threads):
    config, W = load_checkpoint(checkpoint)
    family = config.get("model_type", "")
    model = DenseRetNet(config, W) if family == "llama" else Mamba(config, W)
    family = {"llama": "denseretnet" if config.get("dense_block_layers") else "retnet"}.get(
        family, family)
    vocab = config["vocab_size"]
    tokens = (7 * torch.arange(prompt)[None, :] + 3 * torch.arange(batch)[:, None] + 1) % vocab
    start = time.perf_counter()
    _, state = model.prefill(tokens)
    prefill_s = time.perf_counter() - start
    token = torch.ones(batch, dtype=torch.long)
    model.step(token, state)  # warm
    times = []
    for _ in range(steps):
        token = (token * 31 + 7) % vocab
        start = time.perf_counter()
        model.step(token, state)
        times.append(time.perf_counter() - start)
    weight_bytes = sum(t.numel() * 4 for t in W.values())
    return dict(impl="torch", model=pathlib.Path(checkpoint).name, family=family, batch=batch, prompt=prompt,
                prefill_s=prefill_s, decode_step_s=statistics.median(times),
                decode_steps=steps, weight_bytes=weight_bytes, threads=threads,
                peak_rss_bytes=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=["kernels", "model"])
    parser.add_argument("checkpoint", nargs="?")
    parser.add_argument("--threads", type=int, required=True,
                        help="torch.set_num_threads (the cores densessm's OpenMP uses)")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--prompt", type=int, default=256)
    parser.add_argument("--steps", type=int, default=16)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    with torch.no_grad():
        if args.what == "kernels":
            kernel_rows(args.threads)
        else:
            if not args.checkpoint:
                parser.error("model needs a checkpoint directory")
            print(json.dumps(model_row(args.checkpoint, args.batch, args.prompt,
                                       args.steps, args.threads)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
