"""Exported graphs (.dsg, docs/graph-format.md) end to end: densessm-export
writes one from a random checkpoint, densessm-compile compiles it, and
densessm-run runs it.

  a. for each --case FAMILY:DTYPE (the checkpoint's dtype): the graph, read
     back by the independent reader below, holds the checkpoint's
     configuration and, with --dtype=keep, the tensors the model reads with
     the checkpoint's dtypes and bytes, each 64-byte aligned after the
     header; `densessm-compile x.dsg --emit=mlir` gives the IR that the
     checkpoint directory gives; the module compiled from the graph and the
     one compiled from the checkpoint give the same logits, bitwise, and the
     same ids (--generate=3 --dump-logits); so does that IR compiled with
     --weights=model.dsg (first case only);
  b. --dtype conversions: to f32 (exact from bf16/f16: bitwise the same
     logits); to bf16 and f16 from f32: the tensor bytes halve; the logits
     are within 1e-3 (TESTING.md's whole-model bound) of the fp64 reference
     fed the rounded weights, and within BF16_TOLERANCE of the f32
     module's (both teacher-forced on the f32 run's prompt and generated
     ids, so a near-tie cannot send two greedy runs down different paths);
     the bf16 (f16) graph compiled with --weight-type=bf16 (f16): the
     linear layers' weights stored and read as bf16 (f16): a smaller module
     file, logits within STORED_NARROW_TOLERANCE of the module that reads
     them as f32 and within 1e-3 of the fp64 reference;
  c. damaged graphs (truncated, corrupt header bytes, another format
     version, a payload past the end of the file, misaligned, of the wrong
     size, overlapping, a corrupt config_json, a family that contradicts
     it) and bad exports: the tool exits non-zero with one
     `densessm-compile: error: ` / `densessm-export: error: ` line naming
     the file and the problem, and leaves no output file.

Prints one PASS/FAIL line per check and "N passed, M failed"."""

import json
import pathlib
import random
import shutil
import struct
import sys

import e2e_common as common

PROMPT, GENERATE = 5, 3
# The bf16 export against the f32 result (TESTING.md: "stated per test"):
# max abs difference <= BF16_TOLERANCE * (1 + max |f32 logit|). Rounding the
# weights to bf16 (relative error <= 2^-9 each) moves the tiny random
# models' logits, in exact arithmetic, by 0.3% to 7.6% of (1 + max |logit|)
# over 20 checkpoints (4 families x seeds 1-5; the norms and the retention
# normalisation amplify it), so the bound is 10% of that scale; the tight
# check is the one against the fp64 reference with the rounded weights
# (docs/graph-format.md, "Converting dtypes").
BF16_TOLERANCE = 0.1
REFERENCE_TOLERANCE = 1e-3
# A module that stores the linear layers' weights in bf16 or f16
# (densessm-compile --weight-type=bf16|f16) against the one that reads the
# same values as f32: the same products accumulated in f32, only in another
# order.
STORED_NARROW_TOLERANCE = 1e-4
DTYPE_NAMES = {0: "F32", 1: "F16", 2: "BF16"}
ITEM_SIZE = {"F32": 4, "F16": 2, "BF16": 2}


# -- an independent .dsg reader (models/schema/graph_def.fbs) ---------------------

class FlatTable:
    """One FlatBuffers table: fields by index, read from the buffer `buf`
    (the FlatBuffer alone) at `pos`."""

    def __init__(self, buf, pos):
        self.buf, self.pos = buf, pos
        vtable = pos - struct.unpack_from("<i", buf, pos)[0]
        vsize = struct.unpack_from("<H", buf, vtable)[0]
        self.fields = [struct.unpack_from("<H", buf, vtable + 4 + 2 * i)[0]
                       for i in range((vsize - 4) // 2)]

    def where(self, index):
        """Buffer position of field `index`, or None when it is absent."""
        if index >= len(self.fields) or self.fields[index] == 0:
            return None
        return self.pos + self.fields[index]

    def scalar(self, index, fmt, default=0):
        at = self.where(index)
        return default if at is None else struct.unpack_from(fmt, self.buf, at)[0]

    def _target(self, index):
        at = self.where(index)
        return None if at is None else at + struct.unpack_from("<I", self.buf, at)[0]

    def string_at(self, index):
        """Buffer position of string field `index`'s first byte."""
        return self._target(index) + 4

    def string(self, index):
        at = self._target(index)
        if at is None:
            return None
        n = struct.unpack_from("<I", self.buf, at)[0]
        return self.buf[at + 4:at + 4 + n].decode()

    def vector(self, index, fmt):
        at = self._target(index)
        n = struct.unpack_from("<I", self.buf, at)[0]
        size = struct.calcsize(fmt)
        return [struct.unpack_from(fmt, self.buf, at + 4 + size * i)[0] for i in range(n)]

    def tables(self, index):
        at = self._target(index)
        n = struct.unpack_from("<I", self.buf, at)[0]
        out = []
        for i in range(n):
            slot = at + 4 + 4 * i
            out.append(FlatTable(self.buf, slot + struct.unpack_from("<I", self.buf, slot)[0]))
        return out

    def table(self, index):
        return FlatTable(self.buf, self._target(index))


def read_graph(path):
    """The preamble and GraphDef of a .dsg file as a dict; each tensor has
    name, dtype, shape, offset, size and `payload_at`, the absolute file
    offset of its Payload struct (what the damage cases patch)."""
    raw = pathlib.Path(path).read_bytes()
    magic, version, reserved, fb_offset, fb_size = struct.unpack_from("<8sIIQQ", raw, 0)
    buf = raw[fb_offset:fb_offset + fb_size]
    if buf[4:8] != b"DSGF":
        raise ValueError(f"{path}: no DSGF identifier")
    root = FlatTable(buf, struct.unpack_from("<I", buf, 0)[0])
    model = root.table(2)
    tensors = []
    for t in root.tables(3):
        at = t.where(3)
        offset, size = struct.unpack_from("<QQ", buf, at)
        tensors.append({"name": t.string(0), "dtype": DTYPE_NAMES.get(t.scalar(1, "<b"), "?"),
                        "shape": t.vector(2, "<q"), "offset": offset, "size": size,
                        "payload_at": fb_offset + at})
    return {"magic": magic, "version": version, "reserved": reserved,
            "fb_offset": fb_offset, "fb_size": fb_size, "size": len(raw),
            "format_version": root.scalar(0, "<I"), "producer": root.string(1),
            "family": model.string(0), "family_at": fb_offset + model.string_at(0),
            "model_type": model.string(1),
            "config_json": model.string(2),
            "vocab_size": model.scalar(3, "<q"), "tensors": tensors}


# -- the checks -------------------------------------------------------------------

def main():
    parser = common.common_arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--export", required=True, help="densessm-export")
    parser.add_argument("--case", action="append", required=True,
                        help="FAMILY:DTYPE of a checkpoint to export (repeatable)")
    args = parser.parse_args()
    check = common.Checker()
    writer = common.load_writer(args.models)
    work = pathlib.Path(args.work)
    work.mkdir(parents=True, exist_ok=True)

    def compile_module(source, module, what):
        r = common.run([args.compile, source, "-o", module, "--quiet"])
        return check.check(f"{what}: densessm-compile {pathlib.Path(source).name} exits 0",
                           r.returncode == 0 and module.exists(), on_fail=r.describe())

    def export(ckpt, out, what, extra=()):
        r = common.run([args.export, ckpt, "-o", out, *extra])
        lines = [l for l in r.stderr.splitlines() if l.strip()]
        ok = (r.returncode == 0 and out.exists()
              and all(l.startswith("densessm-export: ") for l in lines) and len(lines) == 2)
        leftovers = [p.name for p in out.parent.iterdir() if ".tmp-" in p.name]
        check.check(f"{what}: densessm-export exits 0, two progress lines, no temporary "
                    f"file left", ok and not leftovers, lines[-1] if lines else "",
                    on_fail=f"leftovers {leftovers}; {r.describe()}")
        return ok, r.stderr

    def run_module(module, tokens, generate, name):
        npy = work / f"{name}.npy"
        r = common.run([args.run, module, common.tokens_flag([tokens]),
                        f"--generate={generate}", f"--dump-logits={npy}"])
        if not check.check(f"{name}: densessm-run exits 0", r.returncode == 0,
                           on_fail=r.describe()):
            return None
        (prompt, generated), = common.parse_sequences(r.stdout).values()
        shape, flat = common.read_npy(npy)
        return generated, common.rows(shape, flat), npy.read_bytes()

    def stored_narrow(key, target, graph, module, forced, as_f32, reference):
        """The `target` (bf16 or f16) graph compiled with
        --weight-type=`target` against `module`, the same graph compiled to
        read the weights as f32."""
        what = f"{key} --dtype={target} --weight-type={target}"
        narrow = module.with_name(f"{target}-weights.dssm")
        r = common.run([args.compile, graph, "-o", narrow, "--quiet", f"--weight-type={target}"])
        if not check.check(f"{what}: densessm-compile exits 0",
                           r.returncode == 0 and narrow.exists(), on_fail=r.describe()):
            return
        sizes = narrow.stat().st_size, module.stat().st_size
        check.check(f"{what}: a smaller module file than with f32 weights", sizes[0] < sizes[1],
                    f"{sizes[0]} vs {sizes[1]} bytes")
        got = run_module(narrow, forced, 0, f"{key}-{target}-weights".replace(" ", ""))
        if not got:
            return
        scale = 1 + common.max_abs(as_f32)
        err, where = common.max_abs_diff(got[1], as_f32)
        check.check(f"{what}: logits within {STORED_NARROW_TOLERANCE} x (1 + max |logit|) = "
                    f"{STORED_NARROW_TOLERANCE * scale:.3g} of the module that reads the "
                    f"{target} weights as f32", len(got[1]) == len(as_f32)
                    and err <= STORED_NARROW_TOLERANCE * scale,
                    f"max |diff| {err:.3g}", on_fail=f"at (row, column, got, want) {where}")
        err, where = common.max_abs_diff(got[1], reference)
        check.check(f"{what}: logits within {REFERENCE_TOLERANCE} of the fp64 reference with "
                    f"the {target}-rounded weights", err <= REFERENCE_TOLERANCE,
                    f"max |diff| {err:.3g}", on_fail=f"at (row, column, got, want) {where}")

    def converted(key, ckpt, out, g, stored, config, prompt, want, target):
        """Exports the f32 checkpoint as `target` (bf16 or f16) and checks
        the module's logits, teacher-forced on the f32 run's ids."""
        name = target.upper()
        graph = out / f"{target}.dsg"
        ok, _ = export(ckpt, graph, f"{key} --dtype={target}", (f"--dtype={target}",))
        module = out / f"{target}.dssm"
        if not (ok and want and compile_module(graph, module, f"{key} --dtype={target}")):
            return
        half = read_graph(graph)
        check.check(f"{key} --dtype={target}: every tensor {name}, half the bytes",
                    all(t["dtype"] == name for t in half["tensors"])
                    and 2 * sum(t["size"] for t in half["tensors"])
                    == sum(t["size"] for t in g["tensors"]),
                    on_fail=str([(t["name"], t["dtype"]) for t in half["tensors"]]))
        forced = prompt + want[0]
        got = run_module(module, forced, 0, f"{ckpt.name}-as-{target}")
        if not got:
            return
        rounded = {n: writer.nest(writer.decode(writer.encode(t.flat(), name), name), t.shape)
                   for n, t in stored.items()}
        reference = common.reference_logits(g["family"], config, rounded, forced)
        err, where = common.max_abs_diff(got[1], reference)
        check.check(f"{key} --dtype={target}: logits within {REFERENCE_TOLERANCE} of the "
                    f"fp64 reference with the {target}-rounded weights",
                    len(got[1]) == len(reference) and err <= REFERENCE_TOLERANCE,
                    f"max |diff| {err:.3g}", on_fail=f"at (row, column, got, want) {where}")
        stored_narrow(key, target, graph, module, forced, got[1], reference)
        scale = 1 + common.max_abs(want[1])
        err, where = common.max_abs_diff(got[1], want[1])
        check.check(f"{key} --dtype={target}: logits within {BF16_TOLERANCE} x (1 + max "
                    f"|f32 logit|) = {BF16_TOLERANCE * scale:.3g} of the f32 module's "
                    f"at all {len(want[1])} positions",
                    len(got[1]) == len(want[1]) and err <= BF16_TOLERANCE * scale,
                    f"max |diff| {err:.3g}", on_fail=f"at (row, column, got, want) {where}")

    rng = random.Random(7)
    damaged_source = damaged_checkpoint = None
    for case in args.case:
        family, dtype = case.split(":")
        key = f"{family} ({dtype})"
        ckpt = work / f"{family}-{dtype}"
        tied = dtype != "f32"
        config, _ = writer.write_checkpoint(family, ckpt, dtype=dtype, tied=tied,
                                            shards=2 if dtype != "f32" else 1, seed=5)
        _, stored = writer.read_checkpoint(ckpt)
        out = work / f"{family}-{dtype}-out"
        out.mkdir()
        graph = out / "model.dsg"
        ok, _ = export(ckpt, graph, key)
        if not ok:
            continue

        # a. The file, read back independently.
        g = read_graph(graph)
        st_dtype = {"f32": "F32", "f16": "F16", "bf16": "BF16"}[dtype]
        check.check(f"{key}: preamble DENSEGRF, version 1, FlatBuffer at 32",
                    (g["magic"], g["version"], g["reserved"], g["fb_offset"], g["format_version"])
                    == (b"DENSEGRF", 1, 0, 32, 1), on_fail=str({k: g[k] for k in (
                        "magic", "version", "reserved", "fb_offset", "format_version")}))
        check.check(f"{key}: family '{family}', model_type and config_json as in config.json",
                    g["family"] == family and g["model_type"] == config["model_type"]
                    and json.loads(g["config_json"]) == config
                    and g["vocab_size"] == config["vocab_size"] and g["producer"] == "densessm-export",
                    on_fail=f"found family {g['family']!r}, model_type {g['model_type']!r}, "
                    f"producer {g['producer']!r}, config_json {g['config_json'][:200]!r}")
        raw = graph.read_bytes()
        header_end = g["fb_offset"] + g["fb_size"]
        bad = [t["name"] for t in g["tensors"]
               if t["name"] not in stored or t["dtype"] != st_dtype
               or t["shape"] != stored[t["name"]].shape
               or t["offset"] % 64 or t["offset"] < header_end
               or raw[t["offset"]:t["offset"] + t["size"]] != stored[t["name"]].data]
        check.check(f"{key}: {len(g['tensors'])} tensors, each 64-byte aligned after the header "
                    f"with the checkpoint's dtype ({st_dtype}), shape and bytes",
                    not bad and g["tensors"], on_fail=f"tensors that differ: {bad}")

        mlir_graph, mlir_ckpt = out / "graph.mlir", out / "checkpoint.mlir"
        r1 = common.run([args.compile, graph, "--emit=mlir", "-o", mlir_graph, "--quiet"])
        r2 = common.run([args.compile, ckpt, "--emit=mlir", "-o", mlir_ckpt, "--quiet"])
        same_ir = (r1.returncode == 0 and r2.returncode == 0
                   and "func.func @prefill" in mlir_graph.read_text()
                   and "func.func @step" in mlir_graph.read_text()
                   and mlir_graph.read_text() == mlir_ckpt.read_text())
        check.check(f"{key}: densessm-compile model.dsg --emit=mlir gives the checkpoint's IR",
                    same_ir, on_fail=f"{r1.describe()}\n  {r2.describe()}")

        from_ckpt, from_graph = out / "checkpoint.dssm", out / "graph.dssm"
        if not (compile_module(ckpt, from_ckpt, key) and compile_module(graph, from_graph, key)):
            continue
        vocab = config["vocab_size"]
        prompt = [rng.randrange(vocab) for _ in range(PROMPT)]
        want = run_module(from_ckpt, prompt, GENERATE, f"{family}-{dtype}-checkpoint")
        got = run_module(from_graph, prompt, GENERATE, f"{family}-{dtype}-graph")
        if want and got:
            err, where = common.max_abs_diff(got[1], want[1])
            check.check(f"{key}: the graph's module gives the checkpoint module's ids and logits "
                        f"(bitwise)", got[0] == want[0] and got[2] == want[2],
                        f"ids {got[0]}, {len(got[1])}x{vocab} logits",
                        on_fail=f"ids {got[0]} vs {want[0]}; max |diff| {err:.3g} at {where}")
        if want and case == args.case[0]:
            # The graph as the weights of IR: --weights=model.dsg.
            module = out / "ir-with-graph-weights.dssm"
            r = common.run([args.compile, mlir_graph, "--weights", graph, "-o", module, "--quiet"])
            if check.check(f"{key}: densessm-compile graph.mlir --weights model.dsg exits 0",
                           r.returncode == 0 and module.exists(), on_fail=r.describe()):
                got = run_module(module, prompt, GENERATE, f"{family}-{dtype}-ir")
                check.check(f"{key}: ... and gives the checkpoint module's ids and logits "
                            f"(bitwise)", got and got[0] == want[0] and got[2] == want[2],
                            on_fail=f"ids {got and got[0]} vs {want[0]}")

        # b. Converted exports.
        if dtype != "f32":
            as_f32 = out / "f32.dsg"
            ok, _ = export(ckpt, as_f32, f"{key} --dtype=f32", ("--dtype=f32",))
            module = out / "f32.dssm"
            if ok and want and compile_module(as_f32, module, f"{key} --dtype=f32"):
                g32 = read_graph(as_f32)
                check.check(f"{key} --dtype=f32: every tensor F32, twice the bytes",
                            all(t["dtype"] == "F32" for t in g32["tensors"])
                            and sum(t["size"] for t in g32["tensors"])
                            == 2 * sum(t["size"] for t in g["tensors"]),
                            on_fail=str([(t["name"], t["dtype"]) for t in g32["tensors"]]))
                got = run_module(module, prompt, GENERATE, f"{family}-{dtype}-as-f32")
                if got:
                    check.check(f"{key} --dtype=f32: logits bitwise those of the {dtype} "
                                f"checkpoint (the conversion is exact)",
                                got[0] == want[0] and got[2] == want[2],
                                on_fail=f"ids {got[0]} vs {want[0]}")
        else:
            damaged_source, damaged_checkpoint = graph, ckpt
            for target in ("bf16", "f16"):
                converted(key, ckpt, out, g, stored, config, prompt, want, target)

    # c. Damaged graphs and bad exports.
    def expect_error(what, tool, argv, words, any_of=(), out_dir=None):
        before = sorted(p.name for p in out_dir.iterdir())
        r = common.run(argv)
        problems = common.error_problems(tool, r, words, any_of)
        left = [n for n in sorted(p.name for p in out_dir.iterdir()) if n not in before]
        if left:
            problems.append(f"output left behind: {left}")
        check.check(what, not problems, "" if problems else r.stderr.strip(),
                    on_fail="; ".join(problems) + f"\n  {r.describe()}")

    if damaged_source is None:
        check.check("damage cases: a good f32 graph to damage", False,
                    on_fail="no --case with dtype f32 exported")
        return check.summary()
    good = damaged_source.read_bytes()
    g = read_graph(damaged_source)
    damage_dir = work / "damaged"
    damage_dir.mkdir()

    def compile_error(name, data, what, words, any_of=()):
        path = damage_dir / f"{name}.dsg"
        path.write_bytes(bytes(data))
        out = damage_dir / f"{name}-out"
        out.mkdir()
        for emit in ("module", "mlir"):
            expect_error(f"densessm-compile --emit={emit}, {what}", "densessm-compile",
                         [args.compile, path, f"--emit={emit}", "-o", out / f"model.{emit}"],
                         [f"{name}.dsg", *words], any_of, out_dir=out)

    def patched(at, fmt, value):
        data = bytearray(good)
        struct.pack_into(fmt, data, at, value)
        return data

    last = max(g["tensors"], key=lambda t: t["offset"])
    first = min(g["tensors"], key=lambda t: t["offset"])
    second = sorted(g["tensors"], key=lambda t: t["offset"])[1]

    compile_error("short", good[:20], "20 bytes, less than the preamble",
                  ["truncated", "preamble"])
    compile_error("cut_header", good[:g["fb_offset"] + g["fb_size"] // 2],
                  "cut in the middle of the graph header", ["truncated", "header"])
    compile_error("cut_payload", good[:-10], "the last 10 bytes cut off",
                  ["truncated", last["name"], "past the end"])
    data = bytearray(good)
    data[0:8] = b"NOTAGRPH"
    compile_error("bad_magic", data, "another magic", ["not a densessm graph file"])
    compile_error("version2", patched(8, "<I", 2), "format version 2 in the preamble",
                  ["graph format version 2", "reads version 1"])
    compile_error("root_offset", patched(32, "<I", 0xFFFFFF00),
                  "a corrupt root offset in the graph header", ["corrupt"])
    data = bytearray(good)
    for i in range(g["fb_offset"] + 8, g["fb_offset"] + 24):
        data[i] ^= 0xFF
    compile_error("flipped", data, "header bytes 40..55 flipped", ["corrupt"])
    data = bytearray(good)
    data[36:40] = b"XXXX"
    compile_error("no_identifier", data, "the DSGF identifier damaged", ["corrupt", "DSGF"])
    compile_error("far_payload", patched(last["payload_at"], "<Q", last["offset"] + 64 * 1024),
                  f"tensor '{last['name']}' moved 64 KiB past its place",
                  ["truncated", last["name"], "past the end"])
    compile_error("misaligned", patched(first["payload_at"], "<Q", first["offset"] + 8),
                  f"tensor '{first['name']}' at an offset that is not a multiple of 64",
                  [first["name"], "aligned"])
    compile_error("into_header", patched(first["payload_at"], "<Q", 0),
                  f"tensor '{first['name']}' at offset 0", [first["name"], "overlaps the graph header"])
    compile_error("short_payload", patched(last["payload_at"] + 8, "<Q", last["size"] - 2),
                  f"tensor '{last['name']}' 2 bytes short of its shape", [last["name"], "needs"])
    compile_error("overlap", patched(second["payload_at"], "<Q", first["offset"]),
                  f"tensors '{first['name']}' and '{second['name']}' at the same offset",
                  ["overlap"])
    config_at = good.index(b'"hidden_size"', g["fb_offset"])
    data = bytearray(good)
    data[config_at:config_at + 13] = b'"hidden_sizX"'
    compile_error("config_field", data, "config_json without hidden_size",
                  ["config_json", "hidden_size"])
    data = bytearray(good)
    family_at = g["family_at"]
    data[family_at:family_at + 5] = b"mamba"
    compile_error("family", data, "a family the config_json contradicts",
                  ["corrupt", "family", g["family"]])

    out = damage_dir / "missing-out"
    out.mkdir()
    expect_error("densessm-compile, a .dsg that does not exist", "densessm-compile",
                 [args.compile, damage_dir / "no_such_graph.dsg", "-o", out / "model.dssm"],
                 ["no_such_graph.dsg", "cannot read"], out_dir=out)

    # Exports that must fail.
    out = damage_dir / "export-out"
    out.mkdir()
    expect_error("densessm-export, a checkpoint directory that does not exist",
                 "densessm-export", [args.export, work / "no_such_checkpoint", "-o", out / "m.dsg"],
                 ["no_such_checkpoint"], out_dir=out)
    broken = damage_dir / "broken_checkpoint"
    writer.write_checkpoint("mamba", broken, seed=3)
    tensors = writer.read_safetensors(broken / "model.safetensors")
    dropped = "backbone.layers.1.mixer.x_proj.weight"
    del tensors[dropped]
    writer.write_safetensors(broken / "model.safetensors", tensors)
    expect_error(f"densessm-export, a checkpoint without {dropped} (the model does not build)",
                 "densessm-export", [args.export, broken, "-o", out / "m.dsg"],
                 [dropped, "broken_checkpoint"], out_dir=out)
    expect_error("densessm-export, an output directory that does not exist", "densessm-export",
                 [args.export, damaged_checkpoint, "-o", out / "no_such_dir" / "m.dsg"], ["no_such_dir", "m.dsg"], out_dir=out)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
