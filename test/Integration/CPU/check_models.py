"""Whole models compiled for the CPU and run against the double-precision
model reference (reference_models.py, written from MODELS.md): logits within
1e-3 with the same argmax at every position, and the same final recurrent
states.

  --model CONFIG MODULE  (repeatable) a module built from a config.json by
                 the C++ model builder (ModelBuilder.h; densessm-compile
                 --emit=mlir): dynamic batch and length, every state in and
                 out of both entry points, and each sequence's position for
                 the retention families, each argument and result marked
                 with its role (densessm.input / state / weight / output).

Checked for each, with a batch of two sequences: the head reads the
embedding table exactly when tie_word_embeddings says so; @prefill over a
prompt; fused vs unfused dense connections; @prefill with the time-chunked
schedule; @step continuing from its state; @step alone from zero state; the
prompt prefilled in two parts (the second from the first's state and
position); and a batch whose sequences start at different positions from
different states."""

import json
import math
import pathlib
import re
import sys

import harness
import reference_models

BATCH = 2
EXTRA_STEPS = 3
PROMPT = 8
SPLIT = 3  # where the prompt is cut in the two-part prefill
TIME_CHUNK = 3  # tokens per chunk of the time-chunked prefill (8 = 3 + 3 + 2)


# The CUDA pipeline stopped at the GPU dialect, for gpu_emulator.py (the
# runner of --pipeline=cuda-emulated): small blocks keep the emulation
# fast; projections of up to 8 rows (the decode steps) as the GEMV kernel,
# the others as loop kernels (cublas=false; the cuBLAS mapping has tests of
# its own: emulated-projections.test, cublas.test).
CUDA_EMULATED = ("--densessm-cuda-pipeline=stop-at-gpu=true cublas=false scan-block-size=32 "
                 "tokens-per-thread=2 recurrent-block-size=32 loop-block-size=32 "
                 "gemv-block-size=64")


def pipelines(options, target="cpu"):
    """The pipeline flags: the default (dense connections fused), unfused,
    and time-chunked (None for the CUDA pipeline, which has no time-chunked
    schedule), each with any further pipeline options ("blas=false")."""
    if target == "cuda-emulated":
        fused = f"{CUDA_EMULATED} {options}".rstrip()
        return fused, f"{fused} fuse-dense-connections=false", None
    fused = f"--densessm-cpu-pipeline={options}" if options else "--densessm-cpu-pipeline"
    unfused = f"--densessm-cpu-pipeline=fuse-dense-connections=false {options}".rstrip()
    chunked = f"--densessm-cpu-pipeline=time-chunk={TIME_CHUNK} {options}".rstrip()
    return fused, unfused, chunked


# ---------------------------------------------------------------------------
# Signatures
# ---------------------------------------------------------------------------

def split_top_level(text):
    """Splits at the commas outside brackets and strings."""
    parts, depth, current, quoted = [], 0, "", False
    for ch in text:
        if quoted:
            quoted = ch != '"'
        elif ch == '"':
            quoted = True
        elif ch in "(<{[":
            depth += 1
        elif ch in ")>}]":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(current.strip())
            current = ""
            continue
        current += ch
    if current.strip():
        parts.append(current.strip())
    return parts


def closing(text, start):
    """The index of the bracket that closes text[start]."""
    depth, quoted = 0, False
    for i in range(start, len(text)):
        ch = text[i]
        if quoted:
            quoted = ch != '"'
        elif ch == '"':
            quoted = True
        elif ch in "(<{[":
            depth += 1
        elif ch in ")>}]":
            depth -= 1
            if depth == 0:
                return i
    raise ValueError("unbalanced brackets")


class Value:
    """An argument or result: its type, static shape (None where dynamic),
    element type and densessm attributes."""

    def __init__(self, text):
        m = re.match(r"(?:%(\w+)\s*:\s*)?(tensor<([^>]*)>)\s*(\{.*\})?$", text, re.S)
        self.name, self.type = m.group(1), m.group(2)
        *dims, self.element = m.group(3).split("x")
        self.shape = [None if d == "?" else int(d) for d in dims]
        self.attrs = dict(re.findall(r'(densessm\.\w+) = "([^"]*)"', m.group(4) or ""))

    def sized(self, sizes):
        """The shape with its dynamic dims taken from `sizes` in order."""
        sizes = iter(sizes)
        return [next(sizes) if d is None else d for d in self.shape]


class Entry:
    """One entry point and how to call it.

    The builder's calling convention (ModelBuilder.h) marks each argument
    (densessm.input = "tokens" / "position", densessm.state,
    densessm.weight); the results are the logits, then the final states in
    the order of the state arguments."""

    def __init__(self, text, function):
        head = text.index(f"func.func @{function}(")
        open_args = text.index("(", head)
        close_args = closing(text, open_args)
        self.args = [Value(a) for a in split_top_level(text[open_args + 1:close_args])]
        rest = text[close_args + 1:].lstrip()
        assert rest.startswith("->"), f"@{function} returns nothing"
        rest = rest[2:].lstrip()
        results = rest[1:closing(rest, 0)] if rest.startswith("(") else rest.split(" attributes")[0]
        self.results = [Value(r) for r in split_top_level(results)]
        self.function = function
        for a in self.args:
            if "densessm.input" in a.attrs:
                a.kind = a.attrs["densessm.input"]
            elif "densessm.weight" in a.attrs:
                a.kind = "weight"
            elif "densessm.state" in a.attrs:
                a.kind = "state"
            else:
                raise ValueError(f"@{function}: argument %{a.name} has no densessm.input, "
                                 "densessm.state or densessm.weight attribute")
        self.states = [a for a in self.args if a.kind == "state"]
        # The results after the logits are the final states, in order.
        self.state_results = self.results[1:]
        if len(self.states) != len(self.state_results):
            raise ValueError(f"@{function}: {len(self.states)} state arguments but "
                             f"{len(self.state_results)} state results")

    def call(self, tools, weights, tokens, position, states=None, pipeline=None):
        """Runs the entry point on tokens [B][L] from `states` (None: zeros)
        at `position` [B]; returns (logits [B][L][V], final states)."""
        batch, length = len(tokens), len(tokens[0])
        if states is None:
            states = [zeros(s.sized([batch])) for s in self.state_results]
        arguments, state_values = [], iter(states)
        for a in self.args:
            if a.kind == "tokens":
                arguments.append(harness.Argument(tokens, a.element))
            elif a.kind == "position":
                arguments.append(harness.Argument(position, a.element))
            elif a.kind == "state":
                arguments.append(harness.Argument(next(state_values)))
            else:
                arguments.append(harness.Argument(weights[a.attrs["densessm.weight"]]))
        shapes = ([self.results[0].sized([batch, length])] +
                  [s.sized([batch]) for s in self.state_results])
        out = harness.run(tools, module_body(self.text), arguments, shapes,
                          entry=self.function, pipeline=pipeline or self.pipeline,
                          signature=([a.type for a in self.args],
                                     [r.type for r in self.results]))
        return out[0], out[1:]


def module_body(text):
    """The module's ops without a `module { ... }` around them, so that the
    harness's @main sits next to them in the one implicit module."""
    lines = text.rstrip().splitlines()
    for i, line in enumerate(lines):
        if re.match(r"module\b.*\{$", line.strip()):
            assert lines[-1].strip() == "}", "a module that does not end its text"
            return "\n".join(lines[:i] + lines[i + 1:-1]) + "\n"
    return text


def load_entries(text, pipeline):
    prefill, step = Entry(text, "prefill"), Entry(text, "step")
    for entry in (prefill, step):
        entry.text, entry.pipeline = text, pipeline
    return prefill, step


# ---------------------------------------------------------------------------
# Values and references
# ---------------------------------------------------------------------------

def random_weight(rng, name, shape):
    if "norm" in name:
        return harness.random_tensor(rng, shape, 0.5, 1.5)
    if name.endswith("A_log"):
        return harness.random_tensor(rng, shape, -1.0, 0.5)
    if name.endswith("dt_proj.bias"):
        return harness.random_tensor(rng, shape, -2.0, -0.5)
    if len(shape) == 1:
        return harness.random_tensor(rng, shape, -0.5, 0.5)
    fan_in = shape[-1]
    bound = 1.5 / math.sqrt(fan_in)
    return harness.random_tensor(rng, shape, -bound, bound)


def zeros(shape):
    return [zeros(shape[1:]) for _ in range(shape[0])] if shape else 0.0


def is_mamba(cfg):
    return "state_size" in cfg


def reference(cfg, weights, tokens):
    """Logits and flat final states of the sequences `tokens`, each from
    position 0 and zero state."""
    if is_mamba(cfg):
        logits, finals = reference_models.mamba(cfg, weights, tokens)
        return logits, [x for pair in finals for x in pair]
    return reference_models.retnet(cfg, weights, tokens, position=[0] * len(tokens))


def config_for_reference(config):
    """A config.json as the reference reads it: dense_block_layers
    defaulted, time_step_rank "auto" resolved."""
    cfg = dict(config)
    cfg.setdefault("dense_block_layers", 0)
    if cfg.get("time_step_rank") == "auto":
        cfg["time_step_rank"] = -(-cfg["hidden_size"] // 16)
    return cfg


def ties_embeddings(config):
    """tie_word_embeddings as config.json says, with ModelConfig.h's
    defaults (true for the Mamba families, false for retention)."""
    return config.get("tie_word_embeddings", is_mamba(config))


# ---------------------------------------------------------------------------
# The checks
# ---------------------------------------------------------------------------

def check_model(tools, check, key, cfg, text, rng, options, target="cpu"):
    fused, unfused_pipeline, chunked_pipeline = pipelines(options, target)
    prefill, step = load_entries(text, fused)
    shapes = {w: a.shape for a in prefill.args if a.kind == "weight"
              for w in [a.attrs["densessm.weight"]]}
    weights = {w: random_weight(rng, w, s) for w, s in shapes.items()}
    embed = "backbone.embeddings.weight" if is_mamba(cfg) else "model.embed_tokens.weight"
    if "lm_head.weight" not in weights:
        weights["lm_head.weight"] = weights[embed]  # tied: the head is the table
    tied = "lm_head.weight" not in shapes
    check.expect(tied == cfg["tie"],
                 f"{key}: the head {'reads' if tied else 'does not read'} the embedding "
                 f"table (tie_word_embeddings {str(cfg['tie']).lower()})")

    batch, prompt = BATCH, PROMPT
    total = prompt + EXTRA_STEPS
    tokens = [[rng.randrange(cfg["vocab_size"]) for _ in range(total)] for _ in range(batch)]
    want_logits, want_states = reference(cfg, weights, tokens)
    prompt_tokens = [t[:prompt] for t in tokens]
    _, want_prompt_states = reference(cfg, weights, prompt_tokens)

    def want_prefix(n):
        return [seq[:n] for seq in want_logits]

    logits, states = prefill.call(tools, weights, prompt_tokens, [0] * batch)
    check.logits(f"{key}: @prefill over {prompt} tokens", logits, want_prefix(prompt))
    check.close(f"{key}: @prefill final states", states, want_prompt_states, rtol=1e-3)
    if cfg["dense_block_layers"]:
        # The dense connections folded into the scans give the numbers of
        # the unfused op sequence.
        unfused = prefill.call(tools, weights, prompt_tokens, [0] * batch, pipeline=unfused_pipeline)
        check.close(f"{key}: @prefill fused == unfused logits", logits, unfused[0])
        check.close(f"{key}: @prefill fused == unfused states", states, unfused[1])
    if chunked_pipeline and "time-chunk" not in options:
        # The parallel schedule's scans chunked over time (densessm-compile
        # --time-chunk), the last chunk ragged, dense connections fused.
        chunked = prefill.call(tools, weights, prompt_tokens, [0] * batch,
                               pipeline=chunked_pipeline)
        check.logits(f"{key}: @prefill time-chunked ({TIME_CHUNK} tokens a chunk)", chunked[0],
                     want_prefix(prompt))
        check.close(f"{key}: @prefill time-chunked final states", chunked[1],
                    want_prompt_states, rtol=1e-3)

    def steps(start, states):
        out = [[] for _ in range(batch)]
        for t in range(start, total):
            logits, states = step.call(tools, weights, [[seq[t]] for seq in tokens],
                                       [t] * batch, states)
            for b in range(batch):
                out[b] += logits[b]
        return out, states

    logits, final = steps(prompt, states)
    check.logits(f"{key}: @step x{EXTRA_STEPS} after @prefill", logits,
                 [seq[prompt:] for seq in want_logits])
    check.close(f"{key}: @prefill then @step final states", final, want_states, rtol=1e-3)

    logits, final = steps(0, None)
    check.logits(f"{key}: @step alone over {total} tokens", logits, want_logits)
    check.close(f"{key}: @step alone final states", final, want_states, rtol=1e-3)

    # The prompt in two parts: the second continues from the first's state
    # (and, for retention, at position SPLIT).
    first_logits, first_states = prefill.call(tools, weights, [t[:SPLIT] for t in tokens],
                                              [0] * batch)
    logits, final = prefill.call(tools, weights, [t[SPLIT:prompt] for t in tokens],
                                 [SPLIT] * batch, first_states)
    check.logits(f"{key}: @prefill of {SPLIT} + {prompt - SPLIT} tokens",
                 [a + b for a, b in zip(first_logits, logits)], want_prefix(prompt))
    check.close(f"{key}: @prefill of {SPLIT} + {prompt - SPLIT} tokens final states",
                final, want_prompt_states, rtol=1e-3)

    # Sequences at different points: sequence 0 starts its prompt from zero
    # state at position 0, sequence 1 continues its own from its state after
    # SPLIT tokens.
    length = prompt - SPLIT
    mixed_states = [[zeros(harness.shape_of(s)[1:]), s[1]] for s in first_states]
    logits, final = prefill.call(tools, weights, [tokens[0][:length], tokens[1][SPLIT:prompt]],
                                 [0, SPLIT], mixed_states)
    _, want_first = reference(cfg, weights, [tokens[0][:length]])
    check.logits(f"{key}: @prefill of a batch at positions 0 and {SPLIT}", logits,
                 [want_logits[0][:length], want_logits[1][SPLIT:prompt]])
    check.close(f"{key}: @prefill of a batch at positions 0 and {SPLIT} final states", final,
                [[a[0], b[1]] for a, b in zip(want_first, want_prompt_states)], rtol=1e-3)


def main():
    import argparse
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", nargs=2, action="append", required=True,
                        metavar=("CONFIG", "MODULE"),
                        help="check MODULE, built by the C++ model builder from CONFIG "
                             "(repeatable)")
    parser.add_argument("--pipeline-options", default="",
                        help="further pipeline options, e.g. blas=false")
    parser.add_argument("--pipeline", choices=["cpu", "cuda-emulated"], default="cpu",
                        help="--densessm-cpu-pipeline (default), or the CUDA pipeline "
                             "stopped at the GPU dialect for gpu_emulator.py as --runner "
                             "(without the time-chunked schedule, a CPU one)")
    args, rest = parser.parse_known_args()
    tools = harness.parse_tools(rest)
    if args.pipeline == "cuda-emulated":
        # The emulator reads the lowered module in generic form, which it
        # gets from this densessm-opt.
        import os
        os.environ["DENSESSM_OPT"] = tools.opt
    check = harness.Checker()
    for config_path, module_path in args.model:
        config = json.loads(pathlib.Path(config_path).read_text())
        cfg = dict(config_for_reference(config), tie=ties_embeddings(config))
        key = pathlib.Path(module_path).stem
        text = pathlib.Path(module_path).read_text()
        check_model(tools, check, key, cfg, text, harness.seeded(sum(map(ord, key))),
                    args.pipeline_options, args.pipeline)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
