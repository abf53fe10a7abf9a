"""Compiles a kernel through densessm-opt --densessm-cpu-pipeline, runs it
with mlir-runner on given inputs, and reads back its f32 results.

A program is the kernel function plus a @main that materialises the inputs as
constants, calls the kernel and prints every result with printMemrefF32."""

import random
import re
import subprocess
import sys


class Tools:
    def __init__(self, opt, runner, runner_libs):
        self.opt, self.runner, self.runner_libs = opt, runner, runner_libs


def shape_of(values):
    shape = []
    while isinstance(values, list):
        shape.append(len(values))
        values = values[0]
    return shape


def flat(values):
    if isinstance(values, list):
        return [x for v in values for x in flat(v)]
    return [values]


def reshape(values, shape):
    if 0 in shape[1:]:
        return [[] for _ in range(shape[0])]
    if len(shape) == 1:
        return list(values[:shape[0]])
    step = len(values) // shape[0]
    return [reshape(values[i * step:(i + 1) * step], shape[1:]) for i in range(shape[0])]


def tensor_type(shape, element):
    return "tensor<" + "".join(f"{d}x" for d in shape) + element + ">"


def literal(values, element):
    if isinstance(values, list):
        return "[" + ", ".join(literal(v, element) for v in values) + "]"
    return str(int(values)) if element.startswith("i") else f"{values:.9e}"


def round_bf16(values):
    """The values rounded to bfloat16 (round to nearest even), as the
    compiler will see them."""
    import struct
    if isinstance(values, list):
        return [round_bf16(v) for v in values]
    bits = struct.unpack("<I", struct.pack("<f", values))[0]
    bits = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000
    return struct.unpack("<f", struct.pack("<I", bits))[0]


def random_tensor(rng, shape, low=-1.0, high=1.0):
    if not shape:
        return rng.uniform(low, high)
    return [random_tensor(rng, shape[1:], low, high) for _ in range(shape[0])]


class Argument:
    """An input of the kernel: its values and element type."""

    def __init__(self, values, element="f32", shape=None):
        """`shape` is needed only when an axis has no elements (the values
        then do not tell the sizes after it)."""
        self.values, self.element = values, element
        self.shape = shape or shape_of(values)
        self.type = tensor_type(self.shape, element)


def dynamic_type(shape, element):
    return tensor_type(["?"] * len(shape), element)


def run(tools, kernel_text, arguments, result_shapes, entry="kernel", dynamic=False,
        pipeline="--densessm-cpu-pipeline", signature=None):
    """Runs @<entry>(arguments...), defined in kernel_text, and returns its
    results as nested lists of the given shapes (all f32). With dynamic, the
    kernel takes and returns tensors of unknown sizes (tensor<?x?x...>).
    With signature = (argument types, result types), the types the kernel
    declares (any mix of static and dynamic sizes, as a model's entry points
    have), each input is cast to its declared type and each result back to
    its static shape. `pipeline` is the densessm-opt flag that compiles the
    program."""
    result_types = [tensor_type(s, "f32") for s in result_shapes]
    if signature:
        call_types, call_results = (list(t) for t in signature)
    elif dynamic:
        call_types = [dynamic_type(shape_of(a.values), a.element) for a in arguments]
        call_results = [dynamic_type(s, "f32") for s in result_shapes]
    else:
        call_types, call_results = [a.type for a in arguments], result_types
    lines = [kernel_text, "func.func @main() {"]
    names = []
    for i, (a, t) in enumerate(zip(arguments, call_types)):
        values = literal(a.values, a.element) if 0 not in a.shape else ""
        lines.append(f"  %a{i} = arith.constant dense<{values}> : {a.type}")
        names.append(f"%a{i}")
        if t != a.type:
            lines.append(f"  %a{i}c = tensor.cast %a{i} : {a.type} to {t}")
            names[-1] = f"%a{i}c"
    sig = f"({', '.join(call_types)}) -> ({', '.join(call_results)})"
    lines.append(f"  %r:{len(result_types)} = call @{entry}({', '.join(names)}) : {sig}")
    for i, (t, s) in enumerate(zip(result_types, result_shapes)):
        m = "memref<" + "".join(f"{d}x" for d in s) + "f32>"
        value = f"%r#{i}"
        if call_results[i] != t:
            lines.append(f"  %s{i} = tensor.cast %r#{i} : {call_results[i]} to {t}")
            value = f"%s{i}"
        lines.append(f"  %m{i} = bufferization.to_buffer {value} : {t} to {m}")
        lines.append(f"  %c{i} = memref.cast %m{i} : {m} to memref<*xf32>")
        lines.append(f"  call @printMemrefF32(%c{i}) : (memref<*xf32>) -> ()")
    lines += ["  return", "}",
              "func.func private @printMemrefF32(memref<*xf32>) attributes { llvm.emit_c_interface }"]
    program = "\n".join(lines) + "\n"

    lowered = subprocess.run([tools.opt, "-", pipeline], input=program,
                             capture_output=True, text=True)
    if lowered.returncode != 0:
        raise RuntimeError(f"densessm-opt failed:\n{lowered.stderr}\n--- program ---\n{program}")
    ran = subprocess.run([tools.runner, "-", "-e", "main", "-entry-point-result=void",
                          f"-shared-libs={tools.runner_libs}"], input=lowered.stdout,
                         capture_output=True, text=True)
    if ran.returncode != 0:
        raise RuntimeError(f"mlir-runner failed:\n{ran.stderr}")
    chunks = ran.stdout.split("Unranked Memref")[1:]
    if len(chunks) != len(result_shapes):
        raise RuntimeError(f"expected {len(result_shapes)} printed results, got:\n{ran.stdout}")
    results = []
    for chunk, s in zip(chunks, result_shapes):
        data = chunk.split("data =", 1)[1]
        numbers = [float(x) for x in re.findall(r"[-+]?(?:nan|inf|\d+\.?\d*(?:e[-+]?\d+)?)", data)]
        results.append(reshape(numbers, s))
    return results


class Checker:
    """Compares results to references with TESTING.md's single-op bound,
    max |error| <= 1e-4 (1 + max |reference|), and counts the checks."""

    def __init__(self):
        self.passed, self.failed = 0, 0

    def close(self, name, got, want, rtol=1e-4):
        g, w = flat(got), flat(want)
        assert len(g) == len(w), f"{name}: {len(g)} values, want {len(w)}"
        bound = rtol * (1.0 + max(abs(x) for x in w))
        err = max(abs(a - b) for a, b in zip(g, w))
        ok = err <= bound and all(a == a for a in g)
        print(f"{'PASS' if ok else 'FAIL'}: {name}: max abs error {err:.3e} (bound {bound:.3e})")
        if ok:
            self.passed += 1
        else:
            self.failed += 1

    def logits(self, name, got, want, atol=1e-3):
        """TESTING.md's whole-model bound: max |error| <= 1e-3 and the argmax
        token agrees at every position."""
        err = max(abs(a - b) for a, b in zip(flat(got), flat(want)))
        argmax = lambda row: max(range(len(row)), key=row.__getitem__)
        rows_got = [r for seq in got for r in seq]
        rows_want = [r for seq in want for r in seq]
        agree = all(argmax(g) == argmax(w) for g, w in zip(rows_got, rows_want))
        ok = err <= atol and agree and len(rows_got) == len(rows_want)
        print(f"{'PASS' if ok else 'FAIL'}: {name}: max abs error {err:.3e} (bound {atol:.0e}), "
              f"argmax {'agrees' if agree else 'DIFFERS'} at {len(rows_want)} positions")
        if ok:
            self.passed += 1
        else:
            self.failed += 1

    def expect(self, ok, message):
        """A check that is not a comparison of numbers."""
        print(f"{'PASS' if ok else 'FAIL'}: {message}")
        if ok:
            self.passed += 1
        else:
            self.failed += 1

    def summary(self):
        print(f"{self.passed} passed, {self.failed} failed")
        return 0 if self.failed == 0 else 1


def parse_tools(argv):
    import argparse
    parser = argparse.ArgumentParser()
    parser.add_argument("--opt", required=True)
    parser.add_argument("--runner", required=True)
    parser.add_argument("--runner-libs", required=True)
    args = parser.parse_args(argv)
    return Tools(args.opt, args.runner, args.runner_libs)


def seeded(seed):
    return random.Random(seed)


def check_split_and_steps(check, name, run, batch, length, want_out, want_state,
                          rtol=1e-4):
    """The carried-state equivalences of a scan: the sequence split in two
    (the second part continuing from the first's final state), then one
    token at a time, each against the whole sequence's reference outputs and
    final state. `run(start, stop, state)` compiles and runs tokens
    [start, stop) from `state` (None: zeros) and returns (out, final state);
    outputs are [batch][token]..."""
    split = length // 2 + 1
    out1, state1 = run(0, split, None)
    out2, state2 = run(split, length, state1)
    check.close(f"{name}: split at {split} out", [a + b for a, b in zip(out1, out2)],
                want_out, rtol)
    check.close(f"{name}: split at {split} final state", state2, want_state)

    state, outs = None, [[] for _ in range(batch)]
    for t in range(length):
        out, state = run(t, t + 1, state)
        for i in range(batch):
            outs[i] += out[i]
    check.close(f"{name}: recurrent steps out", outs, want_out, rtol)
    check.close(f"{name}: recurrent steps final state", state, want_state)


def main(cases, run_case):
    """Runs run_case(tools, checker, case) for each case and prints the
    summary; the exit status is non-zero when a check failed."""
    tools = parse_tools(sys.argv[1:])
    check = Checker()
    for case in cases:
        run_case(tools, check, case)
    return check.summary()
