#!/usr/bin/python3
"""Writes docs/performance.md and its plots from the results bench/run.sh
collected in one run:

  report.py RESULTS_DIR --out DOCS_DIR

RESULTS_DIR holds machine.json (densessm-bench-machine), cpu.txt (the CPU's
name), kernels.json (densessm-bench-kernels, Google Benchmark's JSON),
torch_kernels.jsonl and models.jsonl (one JSON object a line, from
densessm-bench-model and torch_reference.py), models.json (the models'
shapes: name, family, checkpoint config, parameter counts) and run.json
(versions, threads, when). Every bound is computed here from the machine's
figures measured in the same run; the text says which bound and why.
"""

import argparse
import json
import math
import pathlib
import re
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

# Lane operations per state update each scan needs at least, for the
# arithmetic bound (see the report's "Bounds" section).
SCAN_OPS_PER_UPDATE = 16       # δ·A, exp2 (12 ops as a polynomial), (δu)·B, 2 FMAs
RETENTION_OPS_PER_UPDATE = 3   # k·(v/√c), state FMA, readout FMA

# The targets.
TARGET_SCAN_VS_TORCH = 100.0
TARGET_SCAN_VS_NAIVE = 8.0
TARGET_DECODE_VS_TORCH = 5.0
TARGET_DECODE_BOUND = 0.60
TARGET_REGENERATE_SECONDS = 20 * 60
# The model the decode targets are about, and the suffix of its variant
# compiled with --weight-type=bf16 from the same checkpoint (bench/run.sh).
DECODE_TARGET_MODEL = "denseretnet-350m"
BF16_SUFFIX = "-bf16"


def read_lines(path):
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()
            if line.strip().startswith("{")]


def parse_name(name):
    """'selective_scan.compiled/B=1/L=2048/...' -> (kernel, impl, shape)."""
    head, *parts = name.split("/")
    kernel, impl = head.rsplit(".", 1)
    shape = {k: int(v) for k, v in (p.split("=") for p in parts if "=" in p)}
    return kernel, impl, shape


def shape_key(shape, keys=("B", "L", "D", "N", "H", "dk")):
    return tuple((k, shape[k]) for k in keys if k in shape)


def fmt_time(seconds):
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} µs"


def fmt_ratio(x):
    if x is None:
        return "—"
    return f"{x:.0f}×" if x >= 100 else f"{x:.1f}×" if x >= 10 else f"{x:.2f}×"


def fmt_pct(x):
    return "—" if x is None else f"{100 * x:.1f}%"


def fmt_bytes(b):
    return f"{b / 2**20:.0f} MiB" if b < 2**30 else f"{b / 2**30:.2f} GiB"


class Report:
    def __init__(self, results, out):
        self.results, self.out = results, out
        self.plots = out / "performance"
        self.plots.mkdir(parents=True, exist_ok=True)
        self.machine = json.loads((results / "machine.json").read_text())
        self.run = json.loads((results / "run.json").read_text()) \
            if (results / "run.json").exists() else {}
        self.cpu = (results / "cpu.txt").read_text().strip() \
            if (results / "cpu.txt").exists() else "unknown CPU"
        self.models = json.loads((results / "models.json").read_text()) \
            if (results / "models.json").exists() else []
        self.lines = []
        self.behind = []
        self.load_kernels()
        self.model_rows = read_lines(results / "models.jsonl")

    # -- data ---------------------------------------------------------------

    def load_kernels(self):
        """self.kernels[kernel][shape_key][impl] = seconds per call, plus
        updates and bytes per call."""
        self.kernels = {}
        path = self.results / "kernels.json"
        data = json.loads(path.read_text()) if path.exists() else {"benchmarks": []}
        for b in data["benchmarks"]:
            if b.get("run_type", "iteration") != "iteration":
                continue
            kernel, impl, shape = parse_name(b["name"])
            scale = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[b["time_unit"]]
            entry = self.kernels.setdefault(kernel, {}).setdefault(shape_key(shape), {})
            entry[impl] = b["real_time"] * scale
            entry["_updates"], entry["_bytes"] = b.get("updates"), b.get("bytes")
            entry["_shape"] = shape
        for row in read_lines(self.results / "torch_kernels.jsonl"):
            name = row["name"]
            kernel, impl = (name.rsplit(".", 1) + [None])[:2] if name.endswith(".step") \
                else (name, None)
            shape = {k: row[k] for k in ("B", "L", "D", "N", "H", "dk") if k in row}
            entry = self.kernels.setdefault(kernel, {}).setdefault(shape_key(shape), {})
            entry["torch"] = row["seconds"]
            entry.setdefault("_shape", shape)

    # -- bounds -------------------------------------------------------------

    @property
    def lane_ops_per_second(self):
        # The FMA peak counts 2 flops per lane FMA; an FMA slot issues one
        # lane operation of any kind.
        return self.machine["fma_peak_flops"] / 2

    def kernel_bound(self, kernel, impl, entry):
        """(seconds, name of the bound) the kernel can at best take."""
        updates, moved = entry.get("_updates"), entry.get("_bytes")
        if updates is None:
            return None, ""
        copy = self.machine["copy_bandwidth"]
        if kernel == "causal_conv1d" or impl == "step":
            return moved / copy, "memory (copy bandwidth)"
        ops = SCAN_OPS_PER_UPDATE if kernel == "selective_scan" else RETENTION_OPS_PER_UPDATE
        return updates * ops / self.lane_ops_per_second, "arithmetic (FMA issue)"

    # -- output helpers -----------------------------------------------------

    def w(self, text=""):
        self.lines.append(text)

    def table(self, header, rows):
        self.w("| " + " | ".join(header) + " |")
        self.w("| " + " | ".join("---" for _ in header) + " |")
        for row in rows:
            self.w("| " + " | ".join(str(c) for c in row) + " |")
        self.w()

    def save(self, fig, name):
        fig.tight_layout()
        fig.savefig(self.plots / name, dpi=110)
        plt.close(fig)
        self.w(f"![{name}](performance/{name})")
        self.w()

    # -- sections -----------------------------------------------------------

    def header(self):
        m = self.machine
        self.w("# Performance")
        self.w()
        self.w("Generated by `bench/run.sh` (do not edit by hand: re-run it). Every figure "
               "below was measured in one run on this machine, densessm side by side with "
               "the naive loops and PyTorch eager on the same inputs, and every bound is "
               "computed from the machine's figures measured in that same run.")
        self.w()
        self.table(["machine", ""], [
            ["CPU", self.cpu],
            ["cores (= OpenMP threads = torch threads)", m["cores"]],
            ["copy bandwidth (STREAM: read + write bytes/s)", f"{m['copy_bandwidth'] / 1e9:.1f} GB/s"],
            ["read bandwidth (every core summing a 512 MiB buffer)", f"{m['read_bandwidth'] / 1e9:.1f} GB/s"],
            ["FMA peak (f32, 16-lane FMAs on registers, all cores)", f"{m['fma_peak_flops'] / 1e9:.0f} GFLOP/s"],
            ["PyTorch", self.run.get("torch", "?")],
            ["run", self.run.get("date", "?")],
        ])
        note = self.run.get("note")
        if note:
            self.w(note)
            self.w()

    def bounds_text(self):
        self.w("## Bounds: which, and why")
        self.w()
        self.w(f"- **Selective scan: arithmetic.** Per state update it needs `exp(δ·A)` "
               f"(a multiply and the 12-operation base-2 polynomial the CPU loops emit), `(δ·u)·B`, "
               f"the update FMA and "
               f"the readout FMA: {SCAN_OPS_PER_UPDATE} lane operations, against the FMA unit's "
               f"issue rate (the FMA peak ÷ 2 lane-ops/s). Its memory traffic (u, δ, z in, y out: "
               f"16 bytes per channel and token, against 16 updates) is far below the bandwidth, "
               f"so arithmetic is the bound that applies.")
        self.w(f"- **Retention: arithmetic.** {RETENTION_OPS_PER_UPDATE} lane operations per "
               f"update (`k·(v/√c)`, the decayed state update, the readout). The sequential form "
               f"also streams each head's 192×768 state (590 KB, L2-resident) through the core "
               f"once per token, 8 bytes per update: L2 bandwidth (not measured here) is of "
               f"the same order, so this bound is optimistic for it.")
        self.w("- **Causal convolution, decode steps of the scans: memory.** Each element is "
               "read and written once with a few operations in between, so bytes moved ÷ copy "
               "bandwidth (STREAM's convention counts read + write, exactly what these kernels "
               "move). A step's state may sit in cache, so a step can exceed this bound.")
        self.w("- **Decode (whole model): weight bandwidth.** A step reads every weight used once "
               "(the embedding table only for one row when it is not tied to `lm_head`), so "
               "bound = weight bytes read per step ÷ bandwidth. Read-only streaming is what a "
               "step does, so the **read bandwidth** is the bound that applies; the STREAM copy "
               "figure (read + write) is printed too, as the issue asks.")
        self.w("- **Prefill (whole model): GEMM.** A prompt of L tokens costs 2 × (matrix "
               "parameters) × L flops in the projections (the scans are a few percent of that), "
               "bound = flops ÷ FMA peak.")
        self.w()

    def kernel_section(self):
        self.w("## Kernels (CPU)")
        self.w()
        self.w("`densessm-bench-kernels`: the kernels of `bench/kernels/` compiled by the CPU "
               "pipeline (`compiled`: parallel schedule, sequential in time and parallel over "
               "channel blocks / heads; `chunked`: parallel schedule chunked over time with "
               "carries, `time-chunk=256` for the scan and 64 for retention; `step`: the "
               "recurrent schedule's one-token step), the naive single-threaded scalar loops of "
               "`bench/NaiveScans.cpp` (`-O3 -march=native`) and PyTorch eager "
               "(`bench/torch_reference.py`): the Mamba authors' reference scan (einsum, then a "
               "Python loop over time), the DenseSSM authors' parallel retention, "
               "`F.conv1d(groups=channels)`. Selective scan at d_inner = 1536 (Mamba-130M), "
               "retention at 4 heads of dk = 192, dv = 768 (DenseRetNet-350M, H = 1536). "
               "Times are per call; \"bound\" is the time the bound allows ÷ the measured time.")
        self.w()
        self.w("Points measured (not the full cartesian product): the selective scan at L = "
               "128 … 16384 (B = 1, N = 16), B = 1, 4, 16 (L = 2048), N = 8 … 64 (B = 1, "
               "L = 2048); retention at L = 128 … 8192 (B = 1) and B = 4 (L = 512); the steps at "
               "B = 1 and 16 (scan) / 8 (retention). The time-chunked schedule only up to "
               "L = 2048 and B = 4 (one call beyond takes 10-30 s). PyTorch's reference scan "
               "materialises `[B, D, L, N]` tensors, and its parallel retention `[B, h, L, L]` "
               "scores, so it runs only where those stay small (scan: B·L·N ≤ 2048·16, about "
               "200 MiB a tensor, 1.5 s a call; retention: L ≤ 2048); its column is empty "
               "elsewhere.")
        self.w()
        order = ["compiled", "chunked", "step", "fused", "unfused"]
        for kernel, title in [("selective_scan", "Selective scan (Mamba S6, D, z, Δ bias, softplus)"),
                              ("retention", "Retention (authors' normalisation)"),
                              ("dense_retention", "DenseRetNet v path: dense connection (m = 2) + retention"),
                              ("causal_conv1d", "Causal convolution (K = 4, bias, SiLU)")]:
            points = self.kernels.get(kernel, {})
            if not points:
                continue
            self.w(f"### {title}")
            self.w()
            rows = []
            for key, entry in sorted(points.items(), key=lambda kv: kv[0]):
                shape = entry["_shape"]
                impls = [i for i in order if i in entry]
                if not impls:
                    continue
                for impl in impls:
                    t = entry[impl]
                    bound, which = self.kernel_bound(kernel, impl, entry)
                    updates = entry.get("_updates")
                    throughput = (f"{updates / t / 1e9:.2f} G upd/s" if kernel != "causal_conv1d"
                                  else f"{entry['_bytes'] / t / 1e9:.1f} GB/s") if updates else "—"
                    naive = entry.get("naive")
                    torch_t = entry.get("torch")
                    rows.append([
                        ", ".join(f"{k}={v}" for k, v in shape.items()), impl, fmt_time(t),
                        throughput,
                        f"{fmt_pct(bound / t)} ({which.split(' ')[0]})" if bound else "—",
                        f"{fmt_time(naive)} ({fmt_ratio(naive / t)})" if naive else "—",
                        f"{fmt_time(torch_t)} ({fmt_ratio(torch_t / t)})" if torch_t else "—"])
                    self.check_kernel_peers(kernel, impl, shape, t, naive, torch_t)
                if "torch" in entry and not impls:
                    rows.append([", ".join(f"{k}={v}" for k, v in shape.items()), "—", "—",
                                 "—", "—", "—", fmt_time(entry["torch"])])
            self.table(["shape", "densessm", "time", "throughput", "of bound",
                        "naive loop (speed-up)", "PyTorch eager (speed-up)"], rows)
        self.kernel_plots()

    def check_kernel_peers(self, kernel, impl, shape, t, naive, torch_t):
        where = f"{kernel} {impl} ({', '.join(f'{k}={v}' for k, v in shape.items())})"
        if kernel == "selective_scan" and impl == "compiled":
            if torch_t and torch_t / t < TARGET_SCAN_VS_TORCH:
                self.behind.append(f"{where}: {fmt_ratio(torch_t / t)} PyTorch's reference scan, "
                                   f"target ≥ {TARGET_SCAN_VS_TORCH:.0f}×")
            if naive and naive / t < TARGET_SCAN_VS_NAIVE:
                self.behind.append(f"{where}: {fmt_ratio(naive / t)} the naive loop, target "
                                   f"≥ {TARGET_SCAN_VS_NAIVE:.0f}×")
        if naive and naive < t:
            self.behind.append(f"{where}: slower than the naive loop ({fmt_ratio(naive / t)})")
        if torch_t and torch_t < t:
            self.behind.append(f"{where}: slower than PyTorch eager ({fmt_ratio(torch_t / t)}: "
                               f"{fmt_time(torch_t)} against {fmt_time(t)})")

    def kernel_plots(self):
        fig, axes = plt.subplots(1, 2, figsize=(11, 4))
        for ax, kernel, fixed in [(axes[0], "selective_scan", dict(B=1, N=16)),
                                  (axes[1], "retention", dict(B=1))]:
            points = [e for e in self.kernels.get(kernel, {}).values()
                      if all(e["_shape"].get(k) == v for k, v in fixed.items())]
            points.sort(key=lambda e: e["_shape"]["L"])
            for impl, style in [("compiled", "o-"), ("chunked", "s--"), ("naive", "^:"),
                                ("torch", "x-.")]:
                xs = [e["_shape"]["L"] for e in points if impl in e]
                ys = [e[impl] * 1e3 for e in points if impl in e]
                if xs:
                    ax.loglog(xs, ys, style, label={"torch": "PyTorch eager"}.get(impl, impl))
            xs = [e["_shape"]["L"] for e in points if e.get("_updates")]
            bs = [self.kernel_bound(kernel, "compiled", e)[0] * 1e3 for e in points
                  if e.get("_updates")]
            if xs:
                ax.loglog(xs, bs, "k-", lw=0.8, label="arithmetic bound")
            ax.set_xlabel("sequence length L")
            ax.set_ylabel("ms per call")
            ax.set_title(f"{kernel} ({', '.join(f'{k}={v}' for k, v in fixed.items())})")
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(fontsize=8)
        self.save(fig, "kernels_length.png")

        fig, ax = plt.subplots(figsize=(11, 4))
        labels, naive_r, torch_r = [], [], []
        for kernel in ("selective_scan", "retention", "causal_conv1d"):
            for entry in sorted(self.kernels.get(kernel, {}).values(),
                                key=lambda e: tuple(e["_shape"].values())):
                if "compiled" not in entry:
                    continue
                labels.append(kernel.replace("selective_scan", "scan").replace(
                    "causal_conv1d", "conv") + "\n" + " ".join(
                        f"{k}{v}" for k, v in entry["_shape"].items() if k in "BLN"))
                naive_r.append(entry["naive"] / entry["compiled"] if "naive" in entry else 0)
                torch_r.append(entry["torch"] / entry["compiled"] if "torch" in entry else 0)
        x = range(len(labels))
        ax.bar([i - 0.2 for i in x], naive_r, 0.4, label="vs naive loop")
        ax.bar([i + 0.2 for i in x], torch_r, 0.4, label="vs PyTorch eager")
        ax.set_yscale("log")
        ax.axhline(1, color="k", lw=0.8)
        ax.set_xticks(list(x))
        ax.set_xticklabels(labels, fontsize=6)
        ax.set_ylabel("speed-up of densessm (×, log)")
        ax.legend(fontsize=8)
        ax.grid(True, axis="y", which="both", alpha=0.3)
        self.save(fig, "kernels_speedup.png")

    # -- models -------------------------------------------------------------

    def model_info(self, name):
        for m in self.models:
            if m["name"] == name:
                return m
        return None

    def torch_name(self, name):
        """The model whose PyTorch rows `name` is compared with: itself, or for
        a `-bf16` variant (bench/run.sh: the same checkpoint compiled with
        --weight-type=bf16) the f32 model of that checkpoint."""
        return name[:-len(BF16_SUFFIX)] if name.endswith(BF16_SUFFIX) else name

    def bytes_read_per_step(self, info, row):
        """Weight bytes a decode step reads: all of them, less the embedding
        table when lm_head does not share it (a step reads one row of it)."""
        total = row["weight_bytes"]
        if info and not info.get("tied", False):
            total -= info["embedding_params"] * 4
        return total

    def model_section(self):
        rows = self.model_rows
        if not rows:
            return
        self.w("## Whole models (CPU)")
        self.w()
        self.w("Random models of the published shapes (`models/checkpoints/"
               "write_random_checkpoint.py`, f32), compiled by `densessm-compile` and run through "
               "the runtime's C API (`densessm-bench-model`: one process per configuration, so "
               "each peak RSS belongs to one), next to PyTorch eager running the same checkpoint "
               "files with the math of MODELS.md (`bench/torch_reference.py`: Mamba/DenseMamba "
               "with the authors' reference scan for prefill and their one-token step for "
               "decode; DenseRetNet in its parallel form for prefill and its recurrent form for "
               "decode, as the authors' `generate()` does). Prefill = the whole prompt in one "
               "call (densessm: parallel schedule), all logits returned; decode = the median of "
               f"{rows[0].get('decode_steps', 16)} steps after the prompt (and one warm-up step). "
               f"A name ending in `{BF16_SUFFIX}` is the checkpoint of the name before it compiled "
               "with `--weight-type=bf16` (its linear layers' weights stored in bf16, f32 "
               "arithmetic), compared with the same f32 PyTorch run; its weight bytes are the "
               "module's.")
        self.w()
        def read_per_step(m):
            row = next((r for r in rows if r["impl"] == "densessm" and r["model"] == m["name"]),
                       None)
            return self.bytes_read_per_step(m, row) if row else m["weight_bytes_read"]
        self.table(["model", "family", "parameters", "weights read per decode step",
                    "matrix parameters (prefill flops / 2 per token)"],
                   [[m["name"], m["family"], f"{m['params'] / 1e6:.1f} M",
                     fmt_bytes(read_per_step(m)), f"{m['matrix_params'] / 1e6:.1f} M"]
                    for m in self.models])
        read_bw, copy_bw = self.machine["read_bandwidth"], self.machine["copy_bandwidth"]
        fma = self.machine["fma_peak_flops"]
        by = {}
        for r in rows:
            by[(r["impl"], r["model"], r["batch"], r["prompt"])] = r
        names = [m["name"] for m in self.models]

        # Decode.
        self.w("### Decode")
        self.w()
        table = []
        for name in names:
            info = self.model_info(name)
            for batch in sorted({r["batch"] for r in rows if r["model"] == name}):
                ds = [r for r in rows if r["model"] == name and r["batch"] == batch
                      and r["impl"] == "densessm"]
                ts = [r for r in rows if r["model"] == self.torch_name(name)
                      and r["batch"] == batch and r["impl"] == "torch"]
                if not ds:
                    continue
                d = min(ds, key=lambda r: r["prompt"])
                t = next((r for r in ts if r["prompt"] == d["prompt"]), None)
                step = d["decode_step_s"]
                read_bytes = self.bytes_read_per_step(info, d)
                frac_read = read_bytes / read_bw / step
                frac_copy = read_bytes / copy_bw / step
                ratio = t["decode_step_s"] / step if t else None
                table.append([name, batch, d["prompt"], f"{fmt_time(step)}",
                              f"{batch / step:.1f}",
                              f"{fmt_pct(frac_read)} / {fmt_pct(frac_copy)}",
                              f"{batch / t['decode_step_s']:.1f} ({fmt_ratio(ratio)})" if t else "—"])
                where = f"{name} decode, batch {batch}"
                if name == DECODE_TARGET_MODEL and batch == 1:
                    if frac_read < TARGET_DECODE_BOUND:
                        self.behind.append(
                            f"{where}: {fmt_pct(frac_read)} of the read-bandwidth bound "
                            f"({fmt_pct(frac_copy)} of STREAM copy), target ≥ 60%")
                    elif frac_copy < TARGET_DECODE_BOUND:
                        self.behind.append(
                            f"{where}: {fmt_pct(frac_copy)} of the bound counted with STREAM's "
                            f"copy bandwidth (read + write), {fmt_pct(frac_read)} of the read "
                            f"bandwidth that applies; target ≥ 60%")
                    if ratio is not None and ratio < TARGET_DECODE_VS_TORCH:
                        self.behind.append(f"{where}: {fmt_ratio(ratio)} the PyTorch recurrent "
                                           f"reference, target ≥ {TARGET_DECODE_VS_TORCH:.0f}×")
                if ratio is not None and ratio < 1:
                    self.behind.append(f"{where}: slower than PyTorch eager ({fmt_ratio(ratio)})")
        self.table(["model", "batch", "after prompt", "step", "densessm tokens/s",
                    "of bound: read bw / STREAM copy", "PyTorch tokens/s (densessm speed-up)"],
                   table)

        # Prefill.
        self.w("### Prefill")
        self.w()
        table = []
        for name in names:
            info = self.model_info(name)
            for r in sorted((r for r in rows if r["model"] == name and r["impl"] == "densessm"),
                            key=lambda r: (r["batch"], r["prompt"])):
                tokens = r["batch"] * r["prompt"]
                t = by.get(("torch", self.torch_name(name), r["batch"], r["prompt"]))
                flops = 2 * info["matrix_params"] * tokens
                frac = flops / fma / r["prefill_s"]
                ratio = t["prefill_s"] / r["prefill_s"] if t else None
                table.append([name, r["batch"], r["prompt"], fmt_time(r["prefill_s"]),
                              f"{tokens / r['prefill_s']:.0f}", fmt_pct(frac),
                              f"{tokens / t['prefill_s']:.0f} ({fmt_ratio(ratio)})" if t else "—"])
                if ratio is not None and ratio < 1:
                    self.behind.append(f"{name} prefill, B={r['batch']} L={r['prompt']}: slower "
                                       f"than PyTorch eager ({fmt_ratio(ratio)})")
        self.table(["model", "batch", "prompt", "time", "densessm tokens/s",
                    "of GEMM bound", "PyTorch tokens/s (densessm speed-up)"], table)
        self.model_plots(names)

    def model_plots(self, names):
        rows = self.model_rows
        read_bw = self.machine["read_bandwidth"]
        fig, axes = plt.subplots(1, 2, figsize=(11, 4))
        for ax, batch in zip(axes, (1, 8)):
            labels, ours, theirs, bound = [], [], [], []
            for name in names:
                ds = [r for r in rows if r["model"] == name and r["batch"] == batch
                      and r["impl"] == "densessm"]
                if not ds:
                    continue
                d = min(ds, key=lambda r: r["prompt"])
                t = next((r for r in rows if r["model"] == self.torch_name(name)
                          and r["batch"] == batch and r["impl"] == "torch"
                          and r["prompt"] == d["prompt"]), None)
                labels.append(name)
                ours.append(batch / d["decode_step_s"])
                theirs.append(batch / t["decode_step_s"] if t else 0)
                bound.append(batch * read_bw /
                             self.bytes_read_per_step(self.model_info(name), d))
            x = range(len(labels))
            ax.bar([i - 0.27 for i in x], ours, 0.27, label="densessm")
            ax.bar([i for i in x], theirs, 0.27, label="PyTorch eager")
            ax.bar([i + 0.27 for i in x], bound, 0.27, label="bound (read bw)", color="0.7")
            ax.set_xticks(list(x))
            ax.set_xticklabels(labels, fontsize=8, rotation=15, ha="right")
            ax.set_ylabel("decode tokens/s")
            ax.set_title(f"decode, batch {batch}")
            ax.legend(fontsize=8)
        self.save(fig, "models_decode.png")

        # Cost growth: prefill time against L, decode step against position.
        self.w("### Cost growth")
        self.w()
        fig, axes = plt.subplots(1, 2, figsize=(11, 4))
        growth = []
        for name in names:
            for impl, style in (("densessm", "o-"), ("torch", "x--")):
                pts = sorted((r for r in rows if r["model"] == name and r["impl"] == impl
                              and r["batch"] == 1), key=lambda r: r["prompt"])
                if len(pts) < 2:
                    continue
                xs = [r["prompt"] for r in pts]
                axes[0].loglog(xs, [r["prefill_s"] for r in pts], style,
                               label=f"{name} ({impl})")
                axes[1].plot(xs, [r["decode_step_s"] * 1e3 for r in pts], style,
                             label=f"{name} ({impl})")
                per_token = [r["prefill_s"] / r["prompt"] for r in pts]
                slope = math.log(pts[-1]["prefill_s"] / pts[0]["prefill_s"]) / \
                    math.log(xs[-1] / xs[0])
                step_ratio = pts[-1]["decode_step_s"] / pts[0]["decode_step_s"]
                growth.append([name, impl, ", ".join(map(str, xs)),
                               ", ".join(f"{p * 1e3:.2f}" for p in per_token),
                               f"{slope:.2f}",
                               ", ".join(f"{r['decode_step_s'] * 1e3:.1f}" for r in pts),
                               f"{step_ratio:.2f}"])
                if impl == "densessm" and slope > 1.15:
                    self.behind.append(f"{name} prefill grows as L^{slope:.2f} over L = "
                                       f"{xs[0]} … {xs[-1]} (linear is 1)")
                if impl == "densessm" and step_ratio > 1.15:
                    self.behind.append(f"{name} decode step at position {xs[-1]} is "
                                       f"{step_ratio:.2f}× the step at {xs[0]} (flat is 1)")
        for ax, ylabel, title in ((axes[0], "prefill seconds (batch 1)", "prefill time against L"),
                                  (axes[1], "decode ms per step", "decode step against position")):
            ax.set_xlabel("prompt length L (= decode position)")
            ax.set_ylabel(ylabel)
            ax.set_title(title)
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(fontsize=7)
        self.table(["model", "impl", "L", "prefill ms per token", "growth exponent (1 = linear)",
                    "decode ms per step at position L", "last / first step"], growth)
        self.save(fig, "cost_growth.png")

        # Memory.
        self.w("### Memory (peak RSS of the whole process)")
        self.w()
        table = []
        fig, axes = plt.subplots(1, 2, figsize=(11, 4))
        for name in names:
            for impl, style in (("densessm", "o-"), ("torch", "x--")):
                pts = sorted((r for r in rows if r["model"] == name and r["impl"] == impl),
                             key=lambda r: (r["batch"], r["prompt"]))
                b1 = [r for r in pts if r["batch"] == 1]
                if b1:
                    axes[0].plot([r["prompt"] for r in b1],
                                 [r["peak_rss_bytes"] / 2**30 for r in b1], style,
                                 label=f"{name} ({impl})")
                longest = min(r["prompt"] for r in pts) if pts else None
                bs = [r for r in pts if r["prompt"] == longest]
                if len(bs) > 1:
                    axes[1].plot([r["batch"] for r in bs],
                                 [r["peak_rss_bytes"] / 2**30 for r in bs], style,
                                 label=f"{name} ({impl})")
                for r in pts:
                    table.append([name, impl, r["batch"], r["prompt"],
                                  fmt_bytes(r["peak_rss_bytes"])])
                    peer = next((t for t in rows if t["impl"] == "torch" and t["model"] == name
                                 and t["batch"] == r["batch"] and t["prompt"] == r["prompt"]),
                                None)
                    if impl == "densessm" and peer and r["peak_rss_bytes"] > peer["peak_rss_bytes"]:
                        self.behind.append(
                            f"{name}, B={r['batch']} L={r['prompt']}: peak RSS "
                            f"{fmt_bytes(r['peak_rss_bytes'])}, "
                            f"{r['peak_rss_bytes'] / peer['peak_rss_bytes']:.2f}× PyTorch's "
                            f"{fmt_bytes(peer['peak_rss_bytes'])}")
        axes[0].set_xlabel("prompt length L (batch 1)")
        axes[1].set_xlabel("batch (shortest prompt)")
        for ax in axes:
            ax.set_ylabel("peak RSS (GiB)")
            ax.grid(True, alpha=0.3)
            ax.legend(fontsize=7)
        self.save(fig, "memory.png")
        self.w("Prefill returns the logits of every prompt token (`[B, L, vocab]` f32: 200 KB per "
               "token at vocab 50280), in densessm and in PyTorch alike; that buffer, not the "
               "model's state, is what grows with L.")
        self.w()
        self.table(["model", "impl", "batch", "prompt", "peak RSS"], table)

    def targets_section(self):
        self.w("## The issue's targets")
        self.w()
        rows = []
        scan = self.kernels.get("selective_scan", {})
        main = next((e for e in scan.values()
                     if e["_shape"] == {"B": 1, "L": 2048, "D": 1536, "N": 16}), None)
        if main and "compiled" in main:
            t = main["compiled"]
            if "torch" in main:
                r = main["torch"] / t
                rows.append(["parallel selective scan ≥ 100× PyTorch's reference (B=1, L=2048)",
                             fmt_ratio(r), "met" if r >= TARGET_SCAN_VS_TORCH else "**not met**"])
            if "naive" in main:
                r = main["naive"] / t
                rows.append(["parallel selective scan ≥ 8× the naive loop (B=1, L=2048)",
                             fmt_ratio(r), "met" if r >= TARGET_SCAN_VS_NAIVE else "**not met**"])
        for name in (DECODE_TARGET_MODEL, DECODE_TARGET_MODEL + BF16_SUFFIX):
            rows += self.decode_target_rows(name)
        slopes = []
        for name in {r["model"] for r in self.model_rows}:
            pts = sorted((r for r in self.model_rows if r["model"] == name and r["batch"] == 1
                          and r["impl"] == "densessm"), key=lambda r: r["prompt"])
            if len(pts) >= 2:
                slopes.append(math.log(pts[-1]["prefill_s"] / pts[0]["prefill_s"]) /
                              math.log(pts[-1]["prompt"] / pts[0]["prompt"]))
        if slopes:
            rows.append(["prefill cost grows linearly in L (growth exponent, worst model)",
                         f"{max(slopes):.2f}", "met" if max(slopes) <= 1.15 else "**not met**"])
        if "seconds" in self.run:
            rows.append(self.regenerate_row())
        self.table(["target", "measured", ""], rows)

    def decode_target_rows(self, name):
        """The decode targets for `name` at batch 1 after its shortest prompt:
        the f32 model is the one the targets are about; its bf16-weight variant
        is listed for information, against the same f32 PyTorch reference and
        its own (halved) weight bytes."""
        ds = [r for r in self.model_rows if r["impl"] == "densessm" and r["batch"] == 1
              and r["model"] == name]
        if not ds:
            return []
        d = min(ds, key=lambda r: r["prompt"])
        bytes_read = self.bytes_read_per_step(self.model_info(name), d)
        bf16 = name.endswith(BF16_SUFFIX)
        what = "DenseRetNet-350M decode, batch 1" + (
            ", bf16 weights (`--weight-type=bf16`; PyTorch runs f32)" if bf16 else "")
        verdict = (lambda met: "for information, not the target's f32 comparison"
                   if bf16 else ("met" if met else "**not met**"))
        rows = []
        t = next((r for r in self.model_rows if r["impl"] == "torch" and r["batch"] == 1
                  and r["model"] == self.torch_name(name) and r["prompt"] == d["prompt"]), None)
        if t:
            r = t["decode_step_s"] / d["decode_step_s"]
            rows.append([f"{what}, ≥ 5× PyTorch recurrent", fmt_ratio(r),
                         verdict(r >= TARGET_DECODE_VS_TORCH)])
        fr = bytes_read / self.machine["read_bandwidth"] / d["decode_step_s"]
        fc = bytes_read / self.machine["copy_bandwidth"] / d["decode_step_s"]
        rows.append([f"{what}, ≥ 60% of the weight-bandwidth bound (read bw / STREAM copy)",
                     f"{fmt_pct(fr)} / {fmt_pct(fc)}",
                     verdict(fr >= TARGET_DECODE_BOUND) if bf16 or fr < TARGET_DECODE_BOUND
                     else ("met" if fc >= TARGET_DECODE_BOUND
                           else "met against the read bandwidth only")])
        return rows

    def regenerate_row(self):
        """bench/run.sh's own time, which counts as from scratch only with the build
        and every model's compile included."""
        run = self.run
        scratch = run["built"] and run["models_compiled"] == run["models"]
        measured = (f"{run['seconds']} s ({run['seconds'] / 60:.1f} min), "
                    f"{'build included' if run['built'] else 'build skipped'}, "
                    f"{run['models_compiled']} of {run['models']} models compiled")
        if not scratch:
            verdict = "not measured from scratch in this run"
        elif run["seconds"] <= TARGET_REGENERATE_SECONDS:
            verdict = "met"
        else:
            verdict = "**not met**"
            self.behind.append(f"bench/run.sh from scratch: {run['seconds']} s, target ≤ "
                               f"{TARGET_REGENERATE_SECONDS} s")
        return ["bench/run.sh regenerates this report from scratch within 20 min",
                measured, verdict]

    def behind_section(self):
        self.w("## Behind")
        self.w()
        self.w("Every figure below its target or below a peer, with the ratio (bounds: see the "
               "tables; everything is below its bound, the fractions are listed there).")
        self.w()
        if not self.behind:
            self.w("Nothing: every target met and no peer ahead.")
        for item in dict.fromkeys(self.behind):
            self.w(f"- {item}")
        self.w()

    def write(self):
        self.header()
        body_start = len(self.lines)
        self.bounds_text()
        self.kernel_section()
        self.model_section()
        body = self.lines[body_start:]
        self.lines = self.lines[:body_start]
        self.targets_section()
        self.behind_section()
        self.lines += body
        changes = pathlib.Path(__file__).with_name("performance-changes.md")
        if changes.exists():
            self.w(changes.read_text().rstrip())
            self.w()
        (self.out / "performance.md").write_text("\n".join(self.lines).rstrip() + "\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", type=pathlib.Path)
    parser.add_argument("--out", type=pathlib.Path, required=True,
                        help="directory to write performance.md and performance/*.png into")
    args = parser.parse_args(argv)
    if not (args.results / "machine.json").exists():
        parser.error(f"{args.results}: no machine.json (run bench/run.sh)")
    args.out.mkdir(parents=True, exist_ok=True)
    Report(args.results, args.out).write()
    print(f"report: wrote {args.out / 'performance.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
