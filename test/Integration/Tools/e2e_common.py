"""Shared pieces of the end-to-end tool tests: finding the tools, running
them, a small .npy reader, the double-precision references of
test/Integration/CPU/reference_models.py fed with a checkpoint's stored
weights, and a checker that prints one PASS/FAIL line per check and a
summary ("N passed, M failed") that the lit files FileCheck."""

import argparse
import array
import ast
import pathlib
import struct
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "CPU"))  # reference.py, reference_models.py

import reference_models  # noqa: E402


def load_writer(models_dir):
    """models/checkpoints/write_random_checkpoint.py as a module."""
    sys.path.insert(0, str(pathlib.Path(models_dir) / "checkpoints"))
    import write_random_checkpoint
    return write_random_checkpoint


def common_arguments(description):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--models", required=True, help="the repository's models/ directory")
    parser.add_argument("--work", required=True, help="scratch directory (lit's %%t)")
    parser.add_argument("--compile", required=True, help="densessm-compile")
    parser.add_argument("--run", required=True, help="densessm-run")
    return parser


# -- running the tools ------------------------------------------------------------

class Result:
    def __init__(self, argv, proc):
        self.argv, self.returncode = argv, proc.returncode
        self.stdout, self.stderr = proc.stdout, proc.stderr

    def command(self):
        return " ".join(str(a) for a in self.argv)

    def describe(self):
        return (f"command: {self.command()}\n  exit status: {self.returncode}\n"
                f"  stdout: {self.stdout.strip()[:2000]!r}\n  stderr: {self.stderr.strip()[:2000]!r}")


def run(argv, timeout=300):
    argv = [str(a) for a in argv]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except FileNotFoundError as e:
        proc = subprocess.CompletedProcess(argv, 127, "", f"cannot execute: {e}")
    except subprocess.TimeoutExpired as e:
        proc = subprocess.CompletedProcess(argv, 124, e.stdout or "", f"timed out after {timeout} s")
    return Result(argv, proc)


def tokens_flag(sequences):
    return "--tokens=" + ":".join(",".join(str(t) for t in s) for s in sequences)


def parse_sequences(stdout):
    """{i: (prompt ids, generated ids)} from densessm-run's
    `sequence <i>: <prompt ids> | <generated ids>` lines."""
    out = {}
    for line in stdout.splitlines():
        if not line.startswith("sequence "):
            continue
        head, _, rest = line.partition(":")
        prompt, bar, generated = rest.partition("|")
        if not bar:
            raise ValueError(f"no '|' in the line {line!r}")
        index = int(head.split()[1])
        out[index] = ([int(t) for t in prompt.split()], [int(t) for t in generated.split()])
    return out


# -- .npy -------------------------------------------------------------------------

def read_npy(path):
    """(shape, flat list of floats) of a little-endian float32, C-order .npy."""
    raw = pathlib.Path(path).read_bytes()
    if raw[:6] != b"\x93NUMPY":
        raise ValueError(f"{path}: not a .npy file (magic {raw[:6]!r})")
    major = raw[6]
    if major == 1:
        (length,), start = struct.unpack("<H", raw[8:10]), 10
    elif major in (2, 3):
        (length,), start = struct.unpack("<I", raw[8:12]), 12
    else:
        raise ValueError(f"{path}: unknown .npy version {major}")
    header = ast.literal_eval(raw[start:start + length].decode("latin1"))
    if header.get("descr") != "<f4":
        raise ValueError(f"{path}: descr {header.get('descr')!r}, want '<f4'")
    if header.get("fortran_order"):
        raise ValueError(f"{path}: fortran_order true, want C order")
    shape = list(header["shape"])
    count = 1
    for d in shape:
        count *= d
    data = raw[start + length:]
    if len(data) != 4 * count:
        raise ValueError(f"{path}: {len(data)} data bytes for shape {shape} (want {4 * count})")
    values = array.array("f")
    values.frombytes(data)
    if sys.byteorder != "little":
        values.byteswap()
    return shape, values.tolist()


def rows(shape, flat):
    width = shape[-1] if shape else 1
    return [flat[i * width:(i + 1) * width] for i in range(len(flat) // width if width else 0)]


# -- references -------------------------------------------------------------------

def reference_logits(family, config, weights, tokens):
    """The fp64 reference logits [len(tokens)][vocab] of one sequence from
    position 0 and zero state, with the checkpoint's stored weights."""
    cfg = dict(config)
    W = dict(weights)
    if family in ("mamba", "densemamba"):
        cfg.setdefault("dense_block_layers", 0)
        if cfg.get("time_step_rank") == "auto":
            cfg["time_step_rank"] = -(-cfg["hidden_size"] // 16)
        if "lm_head.weight" not in W:
            W["lm_head.weight"] = W["backbone.embeddings.weight"]
        logits, _ = reference_models.mamba(cfg, W, [list(tokens)])
    else:
        if "lm_head.weight" not in W:
            W["lm_head.weight"] = W["model.embed_tokens.weight"]
        logits, _ = reference_models.retnet(cfg, W, [list(tokens)], position=[0])
    return logits[0]


def argmax(row):
    return max(range(len(row)), key=lambda i: row[i])


def margin(row):
    """The gap between the largest and the second largest value."""
    top = sorted(row, reverse=True)
    return top[0] - top[1] if len(top) > 1 else float("inf")


# -- checking ---------------------------------------------------------------------

class Checker:
    def __init__(self):
        self.passed, self.failed = 0, 0

    def check(self, name, ok, detail="", on_fail=""):
        """One PASS/FAIL line; `detail` is printed either way, `on_fail`
        (what was expected and what was found) only on failure."""
        detail = "; ".join(x for x in (detail, "" if ok else on_fail) if x)
        line = f"{'PASS' if ok else 'FAIL'}: {name}" + (f": {detail}" if detail else "")
        print(line, flush=True)
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            print(line, file=sys.stderr, flush=True)
        return ok

    def summary(self):
        print(f"{self.passed} passed, {self.failed} failed", flush=True)
        return 1 if self.failed else 0


def max_abs_diff(got_rows, want_rows):
    """(max |got - want|, (row, column, got, want) where it is); NaN counts
    as an infinite error."""
    err, where = -1.0, None
    for i, (g, w) in enumerate(zip(got_rows, want_rows)):
        for j, (a, b) in enumerate(zip(g, w)):
            d = abs(a - b) if a == a else float("inf")
            if d > err:
                err, where = d, (i, j, a, b)
    return max(err, 0.0), where


def max_abs(values_rows):
    return max((abs(x) for r in values_rows for x in r), default=0.0)


CRASH_MARKS = ("Stack dump", "PLEASE submit a bug report", "Segmentation fault",
               "Assertion", "terminate called", "AddressSanitizer",
               "UndefinedBehaviorSanitizer")


def error_problems(tool, result, words, any_of=()):
    """What is wrong with `result` of a command that must fail: it must exit
    non-zero without a crash and print exactly one `<tool>: error: ` line
    on stderr mentioning every string of `words` and one of `any_of`
    (case-insensitive)."""
    lines = [l for l in result.stderr.splitlines() if l.strip()]
    problems = []
    if result.returncode == 0:
        problems.append("exit status 0, expected an error")
    elif result.returncode < 0 or result.returncode >= 128:
        problems.append(f"exit status {result.returncode}: killed by a signal (a crash)")
    if any(m in result.stderr for m in CRASH_MARKS):
        problems.append("stderr shows a crash")
    if len(lines) != 1:
        problems.append(f"{len(lines)} lines on stderr, expected exactly one")
    if not lines or not lines[0].startswith(f"{tool}: error: "):
        problems.append(f"stderr does not start with '{tool}: error: '")
    text = result.stderr.lower()
    missing = [w for w in words if w.lower() not in text]
    if missing:
        problems.append(f"the message does not mention {missing}")
    if any_of and not any(w.lower() in text for w in any_of):
        problems.append(f"the message mentions none of {list(any_of)}")
    return problems
