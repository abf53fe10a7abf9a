#!/usr/bin/env python3
"""A small interpreter of the GPU IR that --densessm-cuda-pipeline=stop-at-gpu
produces, so that the scan kernels' numerics can be checked on a machine
without a GPU.

It stands in for mlir-runner in harness.run (test/Integration/CPU): it reads
a module on stdin, runs its @main, and prints each printMemrefF32 call the way
the runner utils do. The module is the host code on buffers (func.func,
scf, arith, math, memref, gpu.alloc/dealloc/memcpy/wait) with the kernels
outlined (gpu.module / gpu.func, gpu.launch_func). Every thread of every
block runs the gpu.func; threads run in lockstep at the sync points:

  * gpu.shuffle: all 32 lanes of a warp must reach the same shuffle (other
    warps need not: they may be past it, at a barrier, or finished); the
    exchange follows NVVM's shfl.sync (up/down/xor/idx, with the valid
    flag);
  * gpu.barrier: all threads of the block must reach it.

Lanes that finish while others of their warp wait at a shuffle, a thread
that finishes while others wait at a barrier, or lanes of one warp at
different kinds of sync point, are reported as divergence (an error),
and so is any load or store out of its buffer's bounds (or a vector.load
less aligned than it says, or a prefetch into the cache, PTX prefetch as
llvm.inline_asm, of an address in no buffer whose address the code took). Between sync points
the threads run one at a time in a shuffled order, so that a race a missing
barrier would allow tends to give a wrong result. Floating-point
values are rounded to their type (f32, f16 or bf16) after each operation;
math functions are computed in double precision before rounding, so results
differ from a GPU's by a few ulp.

The input may be in custom form: it is converted to generic form with the
densessm-opt named by the DENSESSM_OPT environment variable.

    gpu_emulator.py - -e main [-entry-point-result=void] [-shared-libs=...]
"""

import math
import os
import random
import re
import struct
import subprocess
import sys
import time

WARP = 32
ELEMENT_BYTES = {"f32": 4, "f16": 2, "bf16": 2}
# The allocations whose address a kernel took (extract_aligned_pointer_as_
# index): their base address and size in bytes.
ADDRESSED = {}
MISALIGN = int(os.environ.get("DENSESSM_EMULATOR_MISALIGN", "0"))


class EmulationError(Exception):
    pass


# ---------------------------------------------------------------- parsing


class Op:
    __slots__ = ("name", "results", "operands", "props", "attrs", "regions",
                 "types_in", "types_out", "line")

    def __init__(self):
        self.results, self.operands, self.regions = [], [], []
        self.props, self.attrs = "", ""
        self.types_in, self.types_out = [], []


class Block:
    __slots__ = ("args", "arg_types", "ops")

    def __init__(self):
        self.args, self.arg_types, self.ops = [], [], []


def split_top(text, sep=","):
    """Splits at `sep` outside brackets (<>, (), [], {}) and strings."""
    parts, depth, cur, i, in_str = [], 0, [], 0, False
    while i < len(text):
        c = text[i]
        if in_str:
            cur.append(c)
            if c == "\\":
                cur.append(text[i + 1])
                i += 1
            elif c == '"':
                in_str = False
        elif c == '"':
            in_str = True
            cur.append(c)
        elif c == "-" and text[i:i + 2] == "->":
            cur.append("->")
            i += 1
        elif c in "<([{":
            depth += 1
            cur.append(c)
        elif c in ">)]}":
            depth -= 1
            cur.append(c)
        elif c == sep and depth == 0:
            parts.append("".join(cur).strip())
            cur = []
        else:
            cur.append(c)
        i += 1
    if "".join(cur).strip():
        parts.append("".join(cur).strip())
    return parts


def matching(text, start, open_c, close_c):
    """Index just past the bracket that closes text[start] (== open_c)."""
    depth, i, in_str = 0, start, False
    while i < len(text):
        c = text[i]
        if in_str:
            if c == "\\":
                i += 1
            elif c == '"':
                in_str = False
        elif c == '"':
            in_str = True
        elif c == open_c:
            depth += 1
        elif c == close_c:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise EmulationError(f"unbalanced {open_c}{close_c} in: {text[:200]}")


def parse_signature(text):
    """': (a, b) -> c' or ': (a) -> (b, c)' -> ([a, b], [c])."""
    text = text.strip()
    if not text.startswith(":"):
        return [], []
    text = text[1:].strip()
    end = matching(text, 0, "(", ")")
    ins = split_top(text[1:end - 1])
    rest = text[end:].strip()
    assert rest.startswith("->"), rest
    rest = rest[2:].strip()
    if rest.startswith("("):
        outs = split_top(rest[1:matching(rest, 0, "(", ")") - 1])
    else:
        outs = [rest.split(" loc(")[0].strip()]
    return ins, outs


RESULTS = re.compile(r'^\s*((?:%[\w$.#:-]+(?:, )?)+) = ')


def parse_results(text):
    m = RESULTS.match(text)
    if not m:
        return [], text.strip()
    names = []
    for part in m.group(1).split(","):
        part = part.strip()
        if ":" in part:
            base, count = part.split(":")
            names += [f"{base}#{k}" for k in range(int(count))]
        else:
            names.append(part)
    return names, text[m.end():].strip()


def parse_module(text):
    lines = [l for l in text.splitlines() if l.strip() and not l.strip().startswith("//")]
    pos = [0]

    def parse_op():
        line = lines[pos[0]]
        pos[0] += 1
        op = Op()
        op.line = line.strip()
        op.results, rest = parse_results(line)
        m = re.match(r'"([\w.]+)"\(([^)]*)\)', rest)
        if not m:
            raise EmulationError(f"cannot parse: {line.strip()[:200]}")
        op.name = m.group(1)
        op.operands = [o.strip() for o in m.group(2).split(",") if o.strip()]
        rest = rest[m.end():].strip()
        if rest.startswith("<{"):
            end = matching(rest, 1, "{", "}")
            op.props = rest[2:end - 1]
            rest = rest[end + 1:].strip()
        if rest == "({":
            while True:
                op.regions.append(parse_region())
                closing = lines[pos[0]].strip()
                pos[0] += 1
                if closing.startswith("}, {"):
                    continue
                assert closing.startswith("})"), closing
                rest = closing[2:].strip()
                break
        if rest.startswith("{"):
            end = matching(rest, 0, "{", "}")
            op.attrs = rest[1:end - 1]
            rest = rest[end:].strip()
        op.types_in, op.types_out = parse_signature(rest)
        return op

    def parse_region():
        blocks = []
        block = Block()
        while True:
            line = lines[pos[0]].strip()
            if line.startswith("}"):
                break
            if line.startswith("^"):
                if block.ops or block.args:
                    blocks.append(block)
                    block = Block()
                m = re.match(r"\^[\w]+(?:\((.*)\))?:", line)
                if m.group(1):
                    for arg in split_top(m.group(1)):
                        name, ty = arg.split(":", 1)
                        block.args.append(name.strip())
                        block.arg_types.append(ty.strip())
                pos[0] += 1
                continue
            block.ops.append(parse_op())
        blocks.append(block)
        if len(blocks) != 1:
            raise EmulationError("multi-block regions are not supported")
        return blocks[0]

    top = parse_op()
    return top


# ---------------------------------------------------------------- values


def round_to(value, ty):
    if ty == "f32":
        return struct.unpack("<f", struct.pack("<f", value))[0] if math.isfinite(value) else value
    if ty == "bf16":
        if not math.isfinite(value):
            return value
        bits = struct.unpack("<I", struct.pack("<f", value))[0]
        bits = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000
        return struct.unpack("<f", struct.pack("<I", bits))[0]
    if ty == "f16":
        if not math.isfinite(value):
            return value
        try:
            return struct.unpack("<e", struct.pack("<e", value))[0]
        except OverflowError:
            return math.copysign(math.inf, value)
    return value


def float_of_bits(bits, ty):
    """The float a hexadecimal float literal (`0xFF800000 : f32`) spells."""
    if ty == "f32":
        return struct.unpack("<f", struct.pack("<I", bits))[0]
    if ty == "bf16":
        return struct.unpack("<f", struct.pack("<I", bits << 16))[0]
    if ty == "f16":
        return struct.unpack("<e", struct.pack("<H", bits))[0]
    if ty == "f64":
        return struct.unpack("<d", struct.pack("<Q", bits))[0]
    raise EmulationError(f"hexadecimal literal of unsupported type {ty}")


def int_width(ty):
    if ty == "index":
        return 64
    m = re.match(r"i(\d+)$", ty)
    return int(m.group(1)) if m else 64


def wrap(value, ty):
    width = int_width(ty)
    if width == 1:
        return int(bool(value & 1))
    value &= (1 << width) - 1
    return value - (1 << width) if value >= 1 << (width - 1) else value


def unsigned(value, ty):
    return value & ((1 << int_width(ty)) - 1)


MEMREF = re.compile(r"memref<(.*)>$")


def parse_memref_type(ty):
    """memref<2x?x4xf32, ...> -> ([2, None, 4], 'f32')."""
    m = MEMREF.match(ty.strip())
    if not m:
        raise EmulationError(f"not a memref type: {ty}")
    body = split_top(m.group(1))[0]
    if body.startswith("*x"):
        return None, body[2:]
    m = re.match(r"((?:(?:\d+|\?)x)*)(.*)$", body)
    dims = [d for d in m.group(1).split("x") if d]
    return [None if d == "?" else int(d) for d in dims], m.group(2)


class MemRef:
    def __init__(self, data, offset, sizes, strides, element):
        self.data, self.offset = data, offset
        self.sizes, self.strides, self.element = list(sizes), list(strides), element

    @staticmethod
    def alloc(sizes, element, fill=0.0):
        n = 1
        for s in sizes:
            n *= s
        return MemRef([fill] * n, 0, sizes, row_major(sizes), element)

    @staticmethod
    def uninitialized(sizes, element):
        """A buffer as the GPU hands it out (memref.alloc, gpu.alloc, shared
        memory): its contents undefined, so poison here, NaN (integers: a
        pattern), which a kernel reading before writing propagates to what
        the tests compare."""
        poison = math.nan if element.startswith(("f", "b")) else 0x5A5A5A5A
        return MemRef.alloc(sizes, element, poison)

    def address(self, indices):
        if len(indices) != len(self.sizes):
            raise EmulationError(f"{len(indices)} indices for rank {len(self.sizes)}")
        a = self.offset
        for i, s, st in zip(indices, self.sizes, self.strides):
            if not 0 <= i < s:
                raise EmulationError(f"index {indices} out of bounds {self.sizes}")
            a += i * st
        return a

    def contiguous(self):
        return self.strides == row_major(self.sizes)

    def elements(self):
        """Values in row-major order."""
        out = []

        def walk(dim, base):
            if dim == len(self.sizes):
                out.append(self.data[base])
                return
            for i in range(self.sizes[dim]):
                walk(dim + 1, base + i * self.strides[dim])
        walk(0, self.offset)
        return out


def row_major(sizes):
    strides, acc = [], 1
    for s in reversed(sizes):
        strides.append(acc)
        acc *= s
    return list(reversed(strides))


def ints(text):
    """The integers of an attribute; for `array<i32: 1, 2>` those after the
    colon (the element type's width is not one of them)."""
    if text.startswith("array<"):
        text = text.split(":", 1)[1] if ":" in text else ""
    return [int(x) for x in re.findall(r"-?\d+", text)]


def prop(op, name):
    m = re.search(rf"\b{name} = ", op.props + ", " + op.attrs)
    if not m:
        return None
    text = (op.props + ", " + op.attrs)[m.end():]
    return split_top(text)[0]


def parse_dense(text, element):
    """dense<...> : tensor<...> literal values, flattened (splat expanded
    by the caller)."""
    body = text[text.index("dense<") + 6:]
    body = body[:matching("<" + body, 0, "<", ">") - 2]
    if not body.strip():  # dense<> : a tensor with no elements
        return []
    if body.startswith('"0x'):
        raw = bytes.fromhex(body[3:-1])
        if element == "bf16":
            return [struct.unpack("<f", b"\0\0" + raw[i:i + 2])[0] for i in range(0, len(raw), 2)]
        fmt = {"f32": "f", "f64": "d", "i64": "q", "i32": "i", "f16": "e"}[element]
        size = struct.calcsize(fmt)
        return [struct.unpack("<" + fmt, raw[i:i + size])[0] for i in range(0, len(raw), size)]
    values = re.findall(r"-?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|inf|nan)|true|false", body)
    if len(values) == 0:
        raise EmulationError(f"cannot read the constant {text[:100]}")
    conv = float if element.startswith(("f", "b")) else (lambda v: int(v == "true") if v in ("true", "false") else int(v))
    return [conv(v) for v in values]


# ---------------------------------------------------------------- execution


class Machine:
    def __init__(self, module):
        self.module = module
        self.functions, self.globals, self.kernels = {}, {}, {}
        self.out = []
        for op in module.regions[0].ops:
            if op.name == "func.func":
                name = prop(op, "sym_name").strip('"')
                self.functions[name] = op
            elif op.name == "memref.global":
                name = prop(op, "sym_name").strip('"')
                self.globals[name] = op
            elif op.name == "gpu.module":
                mod = prop(op, "sym_name").strip('"')
                for fn in op.regions[0].ops:
                    if fn.name == "gpu.func":
                        self.kernels[(mod, prop(fn, "sym_name").strip('"'))] = fn
        self.global_buffers = {}
        # Allocations in device memory (gpu.alloc without host_shared): the
        # host code must not read or write them (kernels and gpu.memcpy may).
        # Keyed by id() of their storage, which is kept alive here until
        # gpu.dealloc: a freed list's id is reused by later allocations.
        self.device_only = {}

    # -- host ---------------------------------------------------------

    def host_access(self, ref, what):
        if id(ref.data) in self.device_only:
            raise EmulationError(f"host code {what} a buffer in device memory "
                                 "(gpu.alloc without host_shared)")

    def call(self, name, args):
        if name == "printMemrefF32":
            self.host_access(args[0], "prints")
            self.print_memref(args[0])
            return []
        # The runner utils' clock and scalar printing (bench/gpu/).
        if name == "rtclock":
            return [time.perf_counter()]
        if name == "printF64":
            self.out.append(f"{args[0]:g}")
            return []
        if name == "printNewline":
            self.out.append("\n")
            return []
        # The runtime's cuBLAS GEMM, which the pipeline calls for projections
        # (--densessm-lower-projections-to-blas=library=cuda; the runtime's
        # runtime/src/backends/cuda/CUDAProjection.cpp). cuBLAS reads device
        # and managed memory alike, so any buffer may be handed to it.
        if name == "densessm_cuda_linear_f32":
            self.linear(*args)
            return []
        fn = self.functions.get(name)
        if fn is None or not fn.regions:
            raise EmulationError(f"no function @{name}")
        gen = self.run_block(fn.regions[0], args, {}, None)
        try:
            request = next(gen)
        except StopIteration as done:
            return done.value
        raise EmulationError(f"host code reached {request[0]}")

    def linear(self, y, x, w):
        """y[b, l, o] += sum_i x[b, l, i] * w[o, i] through the memrefs'
        strides, summed in double and rounded to f32 once."""
        (batch, length, inputs), outputs = x.sizes, w.sizes[0]
        if y.sizes != [batch, length, outputs] or w.sizes[1] != inputs:
            raise EmulationError(f"densessm_cuda_linear_f32: y {y.sizes} is not "
                                 f"x {x.sizes} times w {w.sizes} transposed")
        for b in range(batch):
            for l in range(length):
                for o in range(outputs):
                    total = sum(x.data[x.address([b, l, i])] * w.data[w.address([o, i])]
                                for i in range(inputs))
                    at = y.address([b, l, o])
                    y.data[at] = round_to(y.data[at] + total, "f32")

    def print_memref(self, ref):
        values = ref.elements()

        def nest(vals, sizes):
            if not sizes:
                return repr(vals[0])
            step = len(vals) // sizes[0] if sizes[0] else 0
            return "[" + ", ".join(nest(vals[i * step:(i + 1) * step], sizes[1:])
                                   for i in range(sizes[0])) + "]"
        self.out.append(f"Unranked Memref base@ = 0x0 rank = {len(ref.sizes)} offset = 0 "
                        f"sizes = {ref.sizes} strides = {row_major(ref.sizes)} data = \n"
                        f"{nest(values, ref.sizes)}\n")

    def launch(self, op, env):
        segments = ints(prop(op, "operandSegmentSizes"))
        values = [env[o] for o in op.operands]
        grid = values[segments[0]:segments[0] + 3]
        block = values[segments[0] + 3:segments[0] + 6]
        n_args = segments[11]
        first = sum(segments[:11])
        args = values[first:first + n_args]
        kernel = re.findall(r"@([\w$.-]+)", prop(op, "kernel"))
        fn = self.kernels[(kernel[0], kernel[1])]
        if block[1] != 1 or block[2] != 1:
            raise EmulationError("only 1-D blocks are emulated")
        n_workgroup = ints(prop(fn, "workgroup_attributions") or "0")[0]
        body = fn.regions[0]
        wg_types = body.arg_types[len(body.arg_types) - n_workgroup:] if n_workgroup else []
        for bz in range(grid[2]):
            for by in range(grid[1]):
                for bx in range(grid[0]):
                    workgroup = [MemRef.uninitialized(*parse_memref_type(t)) for t in wg_types]
                    self.run_threads(body, args + workgroup, (bx, by, bz), block, grid)

    def run_threads(self, body, args, block_id, block_dim, grid_dim):
        n = block_dim[0]
        gens = [self.run_block(body, args, {}, {"block_id": block_id, "thread_id": (t, 0, 0),
                                                "block_dim": block_dim, "grid_dim": grid_dim})
                for t in range(n)]
        replies = [None] * n
        done = [False] * n
        waiting = [None] * n  # the sync point a thread waits at
        # Between two sync points the threads run one after the other, in an
        # order shuffled at every step (fixed seed), so that a result that
        # depends on their order — a data race a barrier should have
        # prevented — shows up as a wrong value rather than by luck.
        order = list(range(n))
        shuffle = random.Random(hash(block_id) & 0xFFFF).shuffle
        while True:
            shuffle(order)
            for t in order:
                if done[t] or waiting[t] is not None:
                    continue
                try:
                    waiting[t] = gens[t].send(replies[t])
                except StopIteration:
                    done[t] = True
            if all(done):
                return
            # A shuffle is a warp's business: a warp whose 32 lanes wait at
            # one goes on, whatever the other warps do (they may have
            # finished, as whole warps that skip a guarded shuffle do).
            progressed = False
            for w in range(0, n, WARP):
                lanes = waiting[w:w + WARP]
                if not any(r is not None and r[0] == "shuffle" for r in lanes):
                    continue
                if n % WARP:
                    raise EmulationError("a shuffle in a block that is not whole warps")
                if any(r is None for r in lanes):
                    raise EmulationError("divergence: lanes of a warp finished while others "
                                         "wait at a shuffle")
                if len({r[0] for r in lanes}) != 1:
                    raise EmulationError("divergence: lanes of a warp at a shuffle and a barrier")
                self.exchange(lanes, w, replies)
                waiting[w:w + WARP] = [None] * WARP
                progressed = True
            if progressed:
                continue
            # Otherwise every thread left waits at a barrier, which all
            # threads of the block must reach.
            if any(done):
                raise EmulationError("divergence: some threads finished while others wait "
                                     "at a barrier")
            replies = [True] * n
            waiting = [None] * n

    @staticmethod
    def exchange(lanes, first, replies):
        """The 32 lanes' shuffle requests (NVVM's shfl.sync: up, down, xor,
        idx, with the valid flag); writes each lane's reply."""
        if len({(r[2], r[3], r[4]) for r in lanes}) != 1:
            raise EmulationError("lanes of a warp disagree on a shuffle's offset, width or mode")
        for lane, r in enumerate(lanes):
            _, value, offset, width, mode = r
            if mode == "up":
                src, ok = lane - offset, lane - offset >= (lane // width) * width
            elif mode == "down":
                src, ok = lane + offset, lane + offset < (lane // width + 1) * width
            elif mode == "xor":
                src, ok = lane ^ offset, (lane ^ offset) < (lane // width + 1) * width
            else:
                src, ok = offset, offset < width
            replies[first + lane] = (lanes[src][1], 1) if ok else (value, 0)

    # -- interpretation ---------------------------------------------------

    def run_block(self, block, args, env, ctx):
        env = dict(env)
        for name, value in zip(block.args, args):
            env[name] = value
        for op in block.ops:
            if op.name in ("func.return", "gpu.return", "scf.yield"):
                return [env[o] for o in op.operands]
            if op.regions or op.name in ("gpu.shuffle", "gpu.barrier"):
                results = yield from self.run_structured(op, env, ctx)
            else:
                try:
                    results = self.run_op(op, env, ctx)
                except EmulationError:
                    raise
                except Exception as error:  # a bug here, or IR it does not know
                    raise EmulationError(f"{type(error).__name__}: {error} at: {op.line[:300]}")
            for name, value in zip(op.results, results):
                env[name] = value
        return []

    def run_structured(self, op, env, ctx):
        name = op.name
        if name == "gpu.barrier":
            yield ("barrier",)
            return []
        if name == "gpu.shuffle":
            value, offset, width = (env[o] for o in op.operands)
            mode = re.search(r"shuffle_mode (\w+)", op.props).group(1)
            result = yield ("shuffle", value, offset, width, mode)
            return [result[0], result[1]]
        if name == "scf.for":
            lb, ub, step, *inits = (env[o] for o in op.operands)
            carried = inits
            i = lb
            while i < ub:
                carried = yield from self.run_block(op.regions[0], [i] + carried, env, ctx)
                i += step
            return carried
        if name == "scf.if":
            cond = env[op.operands[0]]
            if cond:
                return (yield from self.run_block(op.regions[0], [], env, ctx))
            if len(op.regions) > 1 and op.regions[1].ops:
                return (yield from self.run_block(op.regions[1], [], env, ctx))
            return []
        if name == "scf.parallel":
            n = len(op.operands) // 3
            lbs = [env[o] for o in op.operands[:n]]
            ubs = [env[o] for o in op.operands[n:2 * n]]
            steps = [env[o] for o in op.operands[2 * n:3 * n]]

            def nest(dim, ivs):
                if dim == n:
                    yield from self.run_block(op.regions[0], ivs, env, ctx)
                    return
                i = lbs[dim]
                while i < ubs[dim]:
                    yield from nest(dim + 1, ivs + [i])
                    i += steps[dim]
            yield from nest(0, [])
            return []
        if name == "memref.alloca_scope":
            return (yield from self.run_block(op.regions[0], [], env, ctx))
        raise EmulationError(f"unsupported op with regions: {name}")

    def run_op(self, op, env, ctx):
        name = op.name
        a = [env[o] for o in op.operands]
        out_ty = op.types_out[0] if op.types_out else None
        in_ty = op.types_in[0] if op.types_in else None
        f = lambda v: round_to(v, out_ty)

        if name == "affine.apply":
            return [affine_apply(prop(op, "map"), a)]
        if name == "arith.constant":
            value = prop(op, "value")
            if value.startswith("dense<"):
                raise EmulationError("tensor constants must be bufferized first")
            number = value.split(" : ")[0].strip()
            if out_ty.startswith(("f", "bf")):
                if number.startswith("0x"):
                    # MLIR prints infinities and NaNs by their bits.
                    return [float_of_bits(int(number, 16), out_ty)]
                return [f(float(number))]
            if number in ("true", "false"):
                return [int(number == "true")]
            return [int(number)]
        binary_f = {"arith.addf": lambda x, y: x + y, "arith.subf": lambda x, y: x - y,
                    "arith.mulf": lambda x, y: x * y,
                    "arith.divf": lambda x, y: x / y if y else math.copysign(math.inf, x) if x else math.nan,
                    "arith.maximumf": max, "arith.minimumf": min,
                    "arith.maxnumf": max, "arith.minnumf": min,
                    "math.powf": lambda x, y: x ** y}
        if name in binary_f:
            return [f(binary_f[name](*a))]
        unary_f = {"arith.negf": lambda x: -x, "math.exp": lambda x: math.exp(x) if x < 700 else math.inf,
                   "math.exp2": lambda x: 2.0 ** x, "math.expm1": math.expm1,
                   "math.log": lambda x: math.log(x) if x > 0 else (-math.inf if x == 0 else math.nan),
                   "math.log1p": lambda x: math.log1p(x) if x > -1 else -math.inf,
                   "math.sqrt": math.sqrt, "math.rsqrt": lambda x: 1.0 / math.sqrt(x),
                   "math.absf": abs, "math.tanh": math.tanh, "math.sin": math.sin,
                   "math.cos": math.cos}
        if name in unary_f:
            return [f(unary_f[name](a[0]))]
        if name == "math.fma":
            return [f(a[0] * a[1] + a[2])]
        if name in ("arith.extf", "arith.truncf"):
            return [f(a[0])]
        if name == "arith.cmpf":
            p = ints(prop(op, "predicate"))[0]
            x, y = a
            unordered = math.isnan(x) or math.isnan(y)
            table = {0: False, 1: not unordered and x == y, 2: not unordered and x > y,
                     3: not unordered and x >= y, 4: not unordered and x < y,
                     5: not unordered and x <= y, 6: not unordered and x != y,
                     7: not unordered, 8: unordered or x == y, 9: unordered or x > y,
                     10: unordered or x >= y, 11: unordered or x < y, 12: unordered or x <= y,
                     13: unordered or x != y, 14: unordered, 15: True}
            return [int(table[p])]
        if name == "arith.cmpi":
            p = ints(prop(op, "predicate"))[0]
            x, y = a
            ux, uy = unsigned(x, in_ty), unsigned(y, in_ty)
            table = {0: x == y, 1: x != y, 2: x < y, 3: x <= y, 4: x > y, 5: x >= y,
                     6: ux < uy, 7: ux <= uy, 8: ux > uy, 9: ux >= uy}
            return [int(table[p])]
        if name == "arith.select":
            return [a[1] if a[0] else a[2]]
        binary_i = {"arith.addi": lambda x, y, t: x + y, "arith.subi": lambda x, y, t: x - y,
                    "arith.muli": lambda x, y, t: x * y,
                    "arith.divui": lambda x, y, t: unsigned(x, t) // unsigned(y, t),
                    "arith.remui": lambda x, y, t: unsigned(x, t) % unsigned(y, t),
                    "arith.ceildivui": lambda x, y, t: -(-unsigned(x, t) // unsigned(y, t)),
                    "arith.divsi": lambda x, y, t: int(x / y),
                    "arith.remsi": lambda x, y, t: x - int(x / y) * y,
                    "arith.floordivsi": lambda x, y, t: x // y,
                    "arith.ceildivsi": lambda x, y, t: -(-x // y),
                    "arith.minui": lambda x, y, t: x if unsigned(x, t) <= unsigned(y, t) else y,
                    "arith.maxui": lambda x, y, t: x if unsigned(x, t) >= unsigned(y, t) else y,
                    "arith.minsi": lambda x, y, t: min(x, y), "arith.maxsi": lambda x, y, t: max(x, y),
                    "arith.andi": lambda x, y, t: x & y, "arith.ori": lambda x, y, t: x | y,
                    "arith.xori": lambda x, y, t: x ^ y,
                    "arith.shli": lambda x, y, t: x << y,
                    "arith.shrui": lambda x, y, t: unsigned(x, t) >> y}
        if name in binary_i:
            return [wrap(binary_i[name](a[0], a[1], out_ty), out_ty)]
        if name in ("arith.index_cast", "arith.extsi", "arith.trunci"):
            return [wrap(a[0], out_ty)]
        if name in ("arith.index_castui", "arith.extui"):
            return [wrap(unsigned(a[0], in_ty), out_ty)]
        if name in ("arith.uitofp",):
            return [f(float(unsigned(a[0], in_ty)))]
        if name in ("arith.sitofp",):
            return [f(float(a[0]))]
        if name in ("arith.fptosi", "arith.fptoui"):
            return [wrap(int(a[0]), out_ty)]

        # memref
        if name == "memref.load":
            ref = a[0]
            if ctx is None:
                self.host_access(ref, "loads from")
            return [ref.data[ref.address(a[1:])]]
        if name == "memref.store":
            ref = a[1]
            if ctx is None:
                self.host_access(ref, "stores to")
            ref.data[ref.address(a[2:])] = a[0]
            return []
        # vector: the GEMV's wide weight loads (a run along the last axis)
        if name == "vector.load":
            ref = a[0]
            start = ref.address(a[1:])
            width = int(re.match(r"vector<(\d+)x", out_ty).group(1))
            if a[-1] + width > ref.sizes[-1]:
                raise EmulationError(f"vector.load of {width} at {a[1:]} runs past {ref.sizes}")
            alignment = prop(op, "alignment")
            element_bytes = ELEMENT_BYTES.get(ref.element, 4)
            if alignment and (start * element_bytes) % ints(alignment)[0]:
                raise EmulationError(f"vector.load at element {start} is not "
                                     f"{ints(alignment)[0]}-byte aligned")
            step = ref.strides[-1]
            return [[ref.data[start + k * step] for k in range(width)]]
        if name == "vector.extract":
            return [a[0][ints(prop(op, "static_position"))[0]]]
        if name in ("memref.alloc", "memref.alloca", "gpu.alloc"):
            shape, element = parse_memref_type(out_ty)
            dynamic = [x for x in a if not isinstance(x, MemRef) and x is not None]
            if name == "gpu.alloc":
                segments = ints(prop(op, "operandSegmentSizes"))
                dynamic = a[segments[0]:segments[0] + segments[1]]
            sizes, k = [], 0
            for s in shape:
                if s is None:
                    sizes.append(dynamic[k])
                    k += 1
                else:
                    sizes.append(s)
            ref = MemRef.uninitialized(sizes, element)
            if name == "gpu.alloc" and "hostShared" not in op.props:
                self.device_only[id(ref.data)] = ref.data
            return [ref] + ([None] if name == "gpu.alloc" and len(op.results) > 1 else [])
        if name in ("memref.dealloc",):
            return []
        if name == "gpu.dealloc":
            self.device_only.pop(id(a[-1].data), None)
            return [None] * len(op.results)
        if name == "gpu.wait":
            return [None] * len(op.results)
        if name == "gpu.memcpy":
            segments = len(op.operands) - 2
            dst, src = a[segments], a[segments + 1]
            copy(dst, src)
            return [None] * len(op.results)
        if name == "memref.copy":
            if ctx is None:
                self.host_access(a[0], "copies from")
                self.host_access(a[1], "copies to")
            copy(a[1], a[0])
            return []
        if name == "memref.get_global":
            sym = prop(op, "name").strip().lstrip("@")
            if sym not in self.global_buffers:
                g = self.globals[sym]
                shape, element = parse_memref_type(prop(g, "type"))
                ref = MemRef.alloc(shape, element)
                values = parse_dense(prop(g, "initial_value"), element)
                if len(values) == 1:
                    values = values * len(ref.data)
                ref.data[:] = [round_to(float(v), element) if element.startswith(("f", "b")) else v
                               for v in values]
                self.global_buffers[sym] = ref
            return [self.global_buffers[sym]]
        if name in ("memref.cast", "bufferization.to_buffer", "bufferization.to_tensor"):
            return [a[0]]  # the same buffer under another type
        if name == "memref.extract_strided_metadata":
            ref = a[0]
            base = MemRef(ref.data, 0, [], [], ref.element)
            return [base, ref.offset] + list(ref.sizes) + list(ref.strides)
        if name == "memref.extract_aligned_pointer_as_index":
            # One address per allocation (CPython's: 16-byte aligned), moved
            # by DENSESSM_EMULATOR_MISALIGN bytes, so that a test can take
            # the paths a kernel keeps for a buffer that is not aligned. The
            # allocation's bytes are remembered for the prefetches' check.
            base = id(a[0].data) + MISALIGN
            ADDRESSED[base] = len(a[0].data) * ELEMENT_BYTES.get(a[0].element, 4)
            return [base]
        if name == "llvm.inttoptr":
            return [a[0]]
        if name == "llvm.inline_asm" and str(prop(op, "asm_string")).startswith('"prefetch.'):
            # A cache hint (the GEMV's weights into L2): nothing to do, but
            # its address must be in an allocation whose address the kernel
            # took.
            if not any(base <= a[0] < base + size for base, size in ADDRESSED.items()):
                raise EmulationError(f"prefetch of address {a[0]}, in no buffer")
            return []
        if name == "memref.reinterpret_cast":
            ref = a[0]
            dyn = iter(a[1:])
            kDyn = -9223372036854775808
            offs = [o if o != kDyn else next(dyn) for o in ints(prop(op, "static_offsets"))]
            sizes = [s if s != kDyn else next(dyn) for s in ints(prop(op, "static_sizes"))]
            strides = [s if s != kDyn else next(dyn) for s in ints(prop(op, "static_strides"))]
            return [MemRef(ref.data, offs[0], sizes, strides, ref.element)]
        if name == "memref.dim":
            return [a[0].sizes[a[1]]]
        if name == "memref.expand_shape":
            ref = a[0]
            shape, _ = parse_memref_type(out_ty)
            static = ints(prop(op, "static_output_shape"))
            dyn = iter(a[1:])
            sizes = [s if s >= 0 else next(dyn) for s in static] if static else shape
            # Each source dimension splits into its group of result
            # dimensions, row-major within the group, from its own stride
            # (so strided sources expand too).
            groups = [ints(g) for g in re.findall(r"\[[\d, ]*\]", prop(op, "reassociation"))]
            strides = [0] * len(sizes)
            for source_dim, group in enumerate(groups):
                stride = ref.strides[source_dim]
                for d in reversed(group):
                    strides[d] = stride
                    stride *= sizes[d]
            return [MemRef(ref.data, ref.offset, sizes, strides, ref.element)]
        if name == "memref.collapse_shape":
            ref = a[0]
            groups = [ints(g) for g in re.findall(r"\[[\d, ]*\]", prop(op, "reassociation"))]
            sizes, strides = [], []
            for g in groups:
                size = 1
                for d in g:
                    size *= ref.sizes[d]
                sizes.append(size)
                strides.append(ref.strides[g[-1]])
                # a group is collapsible when its dims are contiguous among themselves
                for d0, d1 in zip(g, g[1:]):
                    if ref.sizes[d1] > 1 and ref.sizes[d0] > 1 and ref.strides[d0] != ref.strides[d1] * ref.sizes[d1]:
                        raise EmulationError("collapse_shape of a non-collapsible group")
            return [MemRef(ref.data, ref.offset, sizes, strides, ref.element)]
        if name == "memref.subview":
            ref = a[0]
            dyn = iter(a[1:])
            offs = [o if o != -9223372036854775808 else next(dyn) for o in ints(prop(op, "static_offsets"))]
            sizes = [s if s != -9223372036854775808 else next(dyn) for s in ints(prop(op, "static_sizes"))]
            steps = [s if s != -9223372036854775808 else next(dyn) for s in ints(prop(op, "static_strides"))]
            offset = ref.offset + sum(o * st for o, st in zip(offs, ref.strides))
            strides = [s * st for s, st in zip(steps, ref.strides)]
            out_shape, _ = parse_memref_type(out_ty)
            if len(out_shape) != len(sizes):  # rank-reducing: drop unit dims
                keep = [i for i, s in enumerate(sizes) if s != 1]
                while len(keep) < len(out_shape):
                    keep.append(len(sizes) - 1)
                sizes = [sizes[i] for i in keep]
                strides = [strides[i] for i in keep]
            return [MemRef(ref.data, offset, sizes, strides, ref.element)]

        # functions and kernels
        if name == "func.call":
            callee = prop(op, "callee").strip().lstrip("@")
            return self.call(callee, a)
        if name == "gpu.launch_func":
            self.launch(op, env)
            return [None] * len(op.results)
        if name in ("gpu.thread_id", "gpu.block_id", "gpu.block_dim", "gpu.grid_dim"):
            dim = "xyz".index(re.search(r"dim (\w)", op.props).group(1))
            key = {"gpu.thread_id": "thread_id", "gpu.block_id": "block_id",
                   "gpu.block_dim": "block_dim", "gpu.grid_dim": "grid_dim"}[name]
            return [ctx[key][dim]]
        if name == "gpu.lane_id":
            return [ctx["thread_id"][0] % WARP]
        if name in ("scf.reduce",):
            return []
        raise EmulationError(f"unsupported op: {name} ({op.line[:160]})")


AFFINE_MAP = re.compile(r"affine_map<\(([^)]*)\)(?:\[([^\]]*)\])?\s*->\s*\((.*)\)>")


def affine_apply(text, operands):
    """The value of a one-result affine map (dims then symbols bound to
    `operands`): +, -, *, floordiv, ceildiv, mod of integers."""
    m = AFFINE_MAP.search(text)
    if not m:
        raise EmulationError(f"affine.apply of an unsupported map: {text}")
    names = [n.strip() for n in (m.group(1) + "," + (m.group(2) or "")).split(",") if n.strip()]
    if len(names) != len(operands):
        raise EmulationError(f"affine.apply: {len(operands)} operands for {text}")
    expr = m.group(3)
    if "," in expr:
        raise EmulationError(f"affine.apply of a map with several results: {text}")
    # Python's // and % floor like floordiv and mod; ceildiv is -(-a // b).
    expr = re.sub(r"(\w+|\([^()]*\))\s*ceildiv\s*(\w+)", r"(-(-\1 // \2))", expr)
    expr = expr.replace("floordiv", "//").replace("mod", "%")
    return int(eval(expr, {"__builtins__": {}}, dict(zip(names, operands))))


def copy(dst, src):
    values = src.elements()
    if len(values) != len(dst.data if dst.contiguous() and dst.offset == 0 and len(dst.data) == len(values) else dst.elements()):
        raise EmulationError("copy between buffers of different sizes")
    index = [0]

    def walk(dim, base):
        if dim == len(dst.sizes):
            dst.data[base] = values[index[0]]
            index[0] += 1
            return
        for i in range(dst.sizes[dim]):
            walk(dim + 1, base + i * dst.strides[dim])
    walk(0, dst.offset)


def to_generic(text):
    if text.lstrip().startswith('"builtin.module"'):
        return text
    opt = os.environ.get("DENSESSM_OPT")
    if not opt:
        raise EmulationError("the input is not in generic form and DENSESSM_OPT is not set")
    # Local scope: attributes (affine maps) inline, not as #aliases.
    ran = subprocess.run([opt, "-", "--mlir-print-op-generic", "--mlir-print-local-scope"],
                         input=text,
                         capture_output=True, text=True)
    if ran.returncode != 0:
        raise EmulationError(f"densessm-opt failed:\n{ran.stderr}")
    return ran.stdout


def main(argv):
    entry = "main"
    for i, arg in enumerate(argv):
        if arg == "-e":
            entry = argv[i + 1]
    text = sys.stdin.read() if "-" in argv or not argv else open(argv[0]).read()
    machine = None
    try:
        machine = Machine(parse_module(to_generic(text)))
        machine.call(entry, [])
    except EmulationError as error:
        if machine:
            sys.stdout.write("".join(machine.out))
        print(f"gpu_emulator: error: {error}", file=sys.stderr)
        return 1
    sys.stdout.write("".join(machine.out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
