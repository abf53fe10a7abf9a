"""The four example models of models/examples/ compiled for the CPU and run:
@prefill over a prompt, @step continuing from its state, and @step alone
from zero state, each against the double-precision model reference
(reference_models.py, written from MODELS.md): logits within 1e-3 with the
same argmax at every position, and the same final recurrent state."""

import importlib.util
import math
import pathlib
import re
import sys

import harness
import reference_models

EXTRA_STEPS = 3


def load_generator(models_dir):
    spec = importlib.util.spec_from_file_location(
        "generate", pathlib.Path(models_dir) / "examples" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def signature(text, function):
    """[(name, shape, element, checkpoint name or None)] and result shapes of
    @function in the example model's text."""
    body = text.split(f"func.func @{function}(", 1)[1]
    args_text, rest = body.split("  ) -> (", 1)
    args = []
    for line in args_text.strip().splitlines():
        m = re.match(r"\s*%(\w+): tensor<([\dx]+)x(\w+)>(?: \{densessm.weight = \"([^\"]+)\"\})?", line)
        shape = [int(d) for d in m.group(2).split("x")]
        args.append((m.group(1), shape, m.group(3), m.group(4)))
    results = [[int(d) for d in r.split("x")] for r in
               re.findall(r"tensor<([\dx]+)xf32>", rest.split(")", 1)[0])]
    return args, results


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


UNFUSED = "--densessm-cpu-pipeline=fuse-dense-connections=false"


def run_function(tools, text, function, values, pipeline="--densessm-cpu-pipeline"):
    """Calls @function with the named values (weights by checkpoint name)."""
    args, results = signature(text, function)
    arguments = []
    for name, shape, element, weight in args:
        v = values[weight] if weight else values[name]
        arguments.append(harness.Argument(v, element))
    return harness.run(tools, text, arguments, results, entry=function, pipeline=pipeline)


def check_model(tools, check, key, cfg, text, rng):
    args, _ = signature(text, "prefill")
    weights = {w: random_weight(rng, w, shape) for _, shape, _, w in args if w}
    prompt = dict((n, s) for n, s, _, _ in args)["tokens"][1]
    total = prompt + EXTRA_STEPS
    tokens = [[rng.randrange(cfg["vocab_size"]) for _ in range(total)]]
    mamba = "state_size" in cfg

    def reference(n):
        if mamba:
            logits, finals = reference_models.mamba(cfg, weights, [tokens[0][:n]])
            return logits, [x for pair in finals for x in pair]
        return reference_models.retnet(cfg, weights, [tokens[0][:n]], position=[0])

    want_logits, want_states = reference(total)
    _, want_prompt_states = reference(prompt)

    values = dict(weights, tokens=[tokens[0][:prompt]])
    out = run_function(tools, text, "prefill", values)
    check.logits(f"{key}: @prefill over {prompt} tokens", out[0],
                 [want_logits[0][:prompt]])
    check.close(f"{key}: @prefill final states", out[1:], want_prompt_states, rtol=1e-3)
    if cfg["dense_block_layers"]:
        # The dense connections folded into the scans give the numbers of
        # the unfused op sequence.
        unfused = run_function(tools, text, "prefill", values, pipeline=UNFUSED)
        check.close(f"{key}: @prefill fused == unfused logits", out[0], unfused[0])
        check.close(f"{key}: @prefill fused == unfused states", out[1:], unfused[1:])

    step_args, _ = signature(text, "step")
    state_names = [n for n, _, _, w in step_args if not w and n not in ("tokens", "position")]

    def steps(start, states):
        logits = []
        for t in range(start, total):
            values = dict(weights, tokens=[[tokens[0][t]]], position=[t])
            values.update(zip(state_names, states))
            out = run_function(tools, text, "step", values)
            logits.append(out[0][0][0])
            states = out[1:]
        return logits, states

    logits, states = steps(prompt, out[1:])
    check.logits(f"{key}: @step x{EXTRA_STEPS} after @prefill", [logits],
                 [want_logits[0][prompt:]])
    check.close(f"{key}: @prefill then @step final states", states, want_states, rtol=1e-3)

    shapes = {n: s for n, s, _, _ in step_args}
    logits, states = steps(0, [zeros(shapes[n]) for n in state_names])
    check.logits(f"{key}: @step alone over {total} tokens", [logits], want_logits)
    check.close(f"{key}: @step alone final states", states, want_states, rtol=1e-3)


def main():
    import argparse
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", required=True)
    args, rest = parser.parse_known_args()
    tools = harness.parse_tools(rest)
    generator = load_generator(args.models)
    check = harness.Checker()
    for key, (_, _, _, cfg, _) in generator.MODELS.items():
        text = (pathlib.Path(args.models) / "examples" / f"{key}.mlir").read_text()
        check_model(tools, check, key, cfg, text, harness.seeded(sum(map(ord, key))))
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
