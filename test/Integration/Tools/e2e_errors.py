"""Bad input to densessm-compile and densessm-run (TESTING.md, "Bad input";
docs/errors.md catalogues every case): damaged checkpoints (missing, extra,
misshapen and mistyped tensors; truncated, oversized, non-JSON and
inconsistent safetensors headers; config.json that is not JSON, lacks a
field or names an unknown model_type), malformed and ill-typed IR, damaged
and foreign module files (truncated, corrupt, another ABI version, code for
another machine) and bad command lines. Each must exit non-zero without
crashing, print exactly one line on stderr, `densessm-compile: error: ...` /
`densessm-run: error: ...`, that names the file and the problem (key words
checked below), and leave no output file.

Prints one PASS/FAIL line per check and "N passed, M failed"."""

import json
import pathlib
import shutil
import struct
import sys

import e2e_common as common



def main():
    parser = common.common_arguments(__doc__.split("\n\n")[0])
    args = parser.parse_args()
    check = common.Checker()
    writer = common.load_writer(args.models)
    work = pathlib.Path(args.work)
    work.mkdir(parents=True, exist_ok=True)

    def expect_error(what, tool, argv, words, any_of=(), outputs=(), out_dir=None):
        """Runs argv, which must fail with one `<tool>: error: ` line on
        stderr containing every string of `words` and one of `any_of`
        (case-insensitive), and create none of `outputs` (and nothing in
        out_dir)."""
        before = sorted(p.name for p in out_dir.iterdir()) if out_dir else []
        r = common.run(argv)
        problems = common.error_problems(tool, r, words, any_of)
        left = [str(p) for p in outputs if pathlib.Path(p).exists()]
        if out_dir:
            left += [str(out_dir / n) for n in sorted(p.name for p in out_dir.iterdir())
                     if n not in before]
        if left:
            problems.append(f"output left behind: {left}")
        check.check(what, not problems, "" if problems else r.stderr.strip(),
                    on_fail="; ".join(problems) + f"\n  {r.describe()}")

    # A good checkpoint and module to damage.
    good = work / "good"
    config, _ = writer.write_checkpoint("mamba", good, seed=3)
    vocab = config["vocab_size"]
    good_module = work / "good.dssm"
    r = common.run([args.compile, good, "-o", good_module])
    module_ok = r.returncode == 0 and good_module.exists()
    check.check("the undamaged checkpoint compiles", module_ok, on_fail=r.describe())

    def case(name):
        """A fresh copy of the good checkpoint, and an empty output folder.
        (No case name holds a key word that its message must contain.)"""
        d = work / name
        if d.exists():
            shutil.rmtree(d)
        shutil.copytree(good, d / name)
        (d / "out").mkdir()
        return d / name, d / "out"

    def compile_error(what, ckpt, out, words, any_of=()):
        module = out / "model.dssm"
        expect_error(f"densessm-compile, {what}", "densessm-compile",
                     [args.compile, ckpt, "-o", module, "--target=cpu"], words, any_of,
                     outputs=[module], out_dir=out)

    def damage(path, drop=(), reshape=None):
        tensors = writer.read_safetensors(path)
        for name in drop:
            del tensors[name]
        for name, shape in (reshape or {}).items():
            tensors[name].shape = shape
        writer.write_safetensors(path, tensors)

    layer_tensor = "backbone.layers.1.mixer.x_proj.weight"

    # Checkpoints.
    ckpt, out = case("missing_tensor")
    damage(ckpt / "model.safetensors", drop=[layer_tensor])
    compile_error(f"{layer_tensor} deleted", ckpt, out, [layer_tensor, "missing_tensor"])

    ckpt, out = case("bad_dims")
    tensors = writer.read_safetensors(ckpt / "model.safetensors")
    rows, cols = tensors[layer_tensor].shape
    damage(ckpt / "model.safetensors", reshape={layer_tensor: [cols, rows]})  # same byte count
    compile_error(f"{layer_tensor} of shape [{cols}, {rows}] instead of [{rows}, {cols}]",
                  ckpt, out, [layer_tensor, "shape", "bad_dims"])

    ckpt, out = case("cut_weights")
    data = (ckpt / "model.safetensors").read_bytes()
    (ckpt / "model.safetensors").write_bytes(data[:len(data) // 2])
    compile_error("model.safetensors cut in half", ckpt, out, ["model.safetensors"],
                  any_of=["truncated", "past the end"])

    ckpt, out = case("header_too_long")
    data = bytearray((ckpt / "model.safetensors").read_bytes())
    data[0:8] = struct.pack("<Q", len(data) * 4)
    (ckpt / "model.safetensors").write_bytes(bytes(data))
    compile_error("safetensors header length past the end of the file", ckpt, out,
                  ["model.safetensors"])

    ckpt, out = case("mystery")
    cfg = json.loads((ckpt / "config.json").read_text())
    cfg["model_type"] = "mystery_ssm"
    (ckpt / "config.json").write_text(json.dumps(cfg))
    compile_error("model_type 'mystery_ssm'", ckpt, out, ["config.json", "model_type", "mystery_ssm"])

    ckpt, out = case("no_config")
    (ckpt / "config.json").unlink()
    compile_error("no config.json", ckpt, out, ["config.json"])

    ckpt, out = case("missing_shard")
    writer.write_checkpoint("mamba", ckpt, seed=3, shards=2)
    (ckpt / "model-00002-of-00002.safetensors").unlink()
    compile_error("the index names a shard that is not there", ckpt, out,
                  ["model-00002-of-00002.safetensors"])

    missing_dir = work / "no_such_checkpoint"
    out = work / "no_such_checkpoint_out"
    out.mkdir(exist_ok=True)
    compile_error("a checkpoint directory that does not exist", missing_dir, out,
                  ["no_such_checkpoint"])

    # Safetensors headers written by hand: (header dict, data bytes) of the
    # good checkpoint, changed, then written back.
    def header_of(path):
        header, metadata, start = writer.read_safetensors_header(path)
        return header, path.read_bytes()[start:]

    def write_header(path, header, data):
        text = json.dumps(header).encode()
        text += b" " * (-len(text) % 8)
        path.write_bytes(struct.pack("<Q", len(text)) + text + data)

    extra_tensor = "backbone.layers.0.mixer.surplus.weight"
    ckpt, out = case("extra_tensor")
    tensors = writer.read_safetensors(ckpt / "model.safetensors")
    tensors[extra_tensor] = writer.Tensor("F32", [2, 2], bytes(16))
    writer.write_safetensors(ckpt / "model.safetensors", tensors)
    compile_error(f"an extra tensor {extra_tensor}", ckpt, out, [extra_tensor, "extra_tensor"])

    ckpt, out = case("int_dtype")
    tensors = writer.read_safetensors(ckpt / "model.safetensors")
    tensors[layer_tensor].dtype = "I32"  # same byte count as F32
    writer.write_safetensors(ckpt / "model.safetensors", tensors)
    compile_error(f"{layer_tensor} of dtype I32", ckpt, out,
                  [layer_tensor, "I32", "F32", "int_dtype"])

    ckpt, out = case("huge_header")
    data = bytearray((ckpt / "model.safetensors").read_bytes())
    data[0:8] = struct.pack("<Q", 1 << 40)
    (ckpt / "model.safetensors").write_bytes(bytes(data))
    compile_error("a safetensors header length of 1 TiB", ckpt, out,
                  ["model.safetensors", "header length 1099511627776"])

    ckpt, out = case("garbled_header")
    data = bytearray((ckpt / "model.safetensors").read_bytes())
    data[8:16] = b"{nojson "
    (ckpt / "model.safetensors").write_bytes(bytes(data))
    compile_error("a safetensors header that is not JSON", ckpt, out,
                  ["model.safetensors", "corrupt safetensors header"])

    ckpt, out = case("overlap")
    header, data = header_of(ckpt / "model.safetensors")
    by_offset = sorted(header, key=lambda n: header[n]["data_offsets"][0])
    first, other = by_offset[0], by_offset[-1]
    size = header[other]["data_offsets"][1] - header[other]["data_offsets"][0]
    begin = header[first]["data_offsets"][0] + 4
    header[other]["data_offsets"] = [begin, begin + size]
    write_header(ckpt / "model.safetensors", header, data)
    compile_error(f"tensors '{first}' and '{other}' sharing bytes", ckpt, out,
                  ["model.safetensors", first, other, "overlap"])

    ckpt, out = case("offsets_past_end")
    header, data = header_of(ckpt / "model.safetensors")
    begin, end = header[layer_tensor]["data_offsets"]
    header[layer_tensor]["data_offsets"] = [len(data) - (end - begin) + 64, len(data) + 64]
    write_header(ckpt / "model.safetensors", header, data)
    compile_error(f"{layer_tensor}'s data_offsets 64 bytes past the end", ckpt, out,
                  ["model.safetensors", layer_tensor, "past the end"])

    ckpt, out = case("offsets_short")
    header, data = header_of(ckpt / "model.safetensors")
    begin, end = header[layer_tensor]["data_offsets"]
    header[layer_tensor]["data_offsets"] = [begin, begin + 4]
    write_header(ckpt / "model.safetensors", header, data)
    compile_error(f"{layer_tensor}'s data_offsets cover 4 bytes", ckpt, out,
                  ["model.safetensors", layer_tensor, "cover 4 bytes", "needs"])

    ckpt, out = case("config_text")
    (ckpt / "config.json").write_text('{"model_type": "mamba", hidden_size: 64')
    compile_error("a config.json that is not JSON", ckpt, out,
                  ["config.json", "not valid JSON"])

    ckpt, out = case("config_field")
    cfg = json.loads((ckpt / "config.json").read_text())
    del cfg["hidden_size"]
    (ckpt / "config.json").write_text(json.dumps(cfg))
    compile_error("a config.json without hidden_size", ckpt, out,
                  ["config.json", "hidden_size"])

    # IR: malformed, and well formed but ill-typed.
    ir = work / "ir"
    ir.mkdir(exist_ok=True)
    (ir / "out").mkdir(exist_ok=True)
    (ir / "malformed.mlir").write_text("func.func @f( {\n")
    compile_error("malformed IR", ir / "malformed.mlir", ir / "out",
                  ["malformed.mlir:1:14: expected non-function type"])
    (ir / "ill_typed.mlir").write_text(
        "func.func @f(%a: tensor<4xf32>) -> tensor<4xi32> {\n"
        "  return %a : tensor<4xf32>\n}\n")
    compile_error("ill-typed IR (a return of the wrong type)", ir / "ill_typed.mlir", ir / "out",
                  ["ill_typed.mlir:2:3:", "tensor<4xi32>", "tensor<4xf32>"])

    # The command line of densessm-compile.
    ckpt, out = case("compile_flags")
    expect_error("densessm-compile, an unknown flag", "densessm-compile",
                 [args.compile, ckpt, "-o", out / "model.dssm", "--frobnicate"],
                 ["--frobnicate"], any_of=["unknown"], out_dir=out)
    expect_error("densessm-compile, --target=tpu", "densessm-compile",
                 [args.compile, ckpt, "-o", out / "model.dssm", "--target=tpu"],
                 ["tpu"], out_dir=out)
    expect_error("densessm-compile, an unknown CUDA pipeline option", "densessm-compile",
                 [args.compile, ckpt, "-o", out / "model.dssm", "--target=cuda",
                  "--cuda-pipeline-options=gemv-wide-lods=false", "--quiet"],
                 ["invalid --densessm-cuda-pipeline options", "gemv-wide-lods"], out_dir=out)
    expect_error("densessm-compile, CUDA pipeline options for the CPU", "densessm-compile",
                 [args.compile, ckpt, "-o", out / "model.dssm",
                  "--cuda-pipeline-options=gemv-wide-loads=false", "--quiet"],
                 ["--cuda-pipeline-options needs --target=cuda"], out_dir=out)
    expect_error("densessm-compile, -o in a directory that does not exist", "densessm-compile",
                 [args.compile, ckpt, "-o", out / "no_such_dir" / "model.dssm", "--quiet"],
                 ["no_such_dir"], out_dir=out)

    # Module files and the command line of densessm-run.
    def run_error(what, module, words, any_of=(), extra=("--tokens=1,2,3",)):
        npy = work / f"{module.stem}.logits.npy"
        if npy.exists():
            npy.unlink()
        expect_error(f"densessm-run, {what}", "densessm-run",
                     [args.run, module, *extra, "--generate=2", f"--dump-logits={npy}"],
                     words, any_of, outputs=[npy])

    if module_ok:
        data = good_module.read_bytes()
        half = work / "half_module.dssm"
        half.write_bytes(data[:len(data) // 2])
        run_error("a module file cut in half", half, ["half_module.dssm"])

        flipped = work / "flipped_module.dssm"
        damaged = bytearray(data)
        for i in range(24, 40):
            damaged[i] ^= 0xFF
        flipped.write_bytes(bytes(damaged))
        run_error("a module file with bytes 24..39 flipped", flipped, ["flipped_module.dssm"])

        text = work / "text_module.dssm"
        text.write_text(json.dumps(config))
        run_error("a JSON file as the module", text, ["text_module.dssm"])

        run_error(f"token id {vocab} with vocab_size {vocab}", good_module, [str(vocab)],
                  any_of=["vocab"], extra=(f"--tokens=1,{vocab},2",))
        run_error(f"token id {vocab + 5} in the second of two prompts", good_module, [str(vocab + 5)],
                  any_of=["vocab"], extra=(f"--tokens=1,2:3,{vocab + 5}",))
        run_error("a negative token id", good_module, [], extra=("--tokens=1,-3,2",))
        run_error("a token id that is not a number", good_module, ["x7"],
                  extra=("--tokens=1,x7,2",))
        run_error("an empty --tokens", good_module, ["tokens"], extra=("--tokens=",))
        run_error("--prefill=sideways", good_module, ["prefill"],
                  extra=("--tokens=1,2,3", "--prefill=sideways"))
        run_error("an unknown flag", good_module, ["--frobnicate"], any_of=["unknown"],
                  extra=("--tokens=1,2,3", "--frobnicate=1"))
        run_error("--generate=-3", good_module, ["--generate", "-3"],
                  extra=("--tokens=1,2,3", "--generate=-3"))
        run_error("--batch=0", good_module, ["--batch", "0"],
                  extra=("--tokens=1,2,3", "--batch=0"))
        run_error("--device=tpu", good_module, ["--device", "tpu"],
                  extra=("--tokens=1,2,3", "--device=tpu"))

        def patched(name, at, fmt, value, base=data):
            damaged = bytearray(base)
            struct.pack_into(fmt, damaged, at, value)
            path = work / f"{name}.dssm"
            path.write_bytes(bytes(damaged))
            return path

        run_error("a module of ABI version 2", patched("abi2_module", 8, "<I", 2),
                  ["abi2_module.dssm", "module ABI version 2", "reads version 1"])
        bad_magic = bytearray(data)
        bad_magic[0:8] = b"NOTAMODL"
        (work / "magic_module.dssm").write_bytes(bytes(bad_magic))
        run_error("a module with another magic", work / "magic_module.dssm",
                  ["magic_module.dssm", "not a densessm module file"])
        # The CPU executable: the ELF image at a 64-byte aligned offset, and
        # its Payload {offset, size} in the header.
        elf = next(i for i in range(0, len(data), 64) if data[i:i + 4] == b"\x7fELF")
        payload = data.index(struct.pack("<Q", elf), 32)
        run_error("the executable's payload 1 MiB past the end",
                  patched("far_module", payload + 8, "<Q", len(data) + (1 << 20)),
                  ["far_module.dssm", "truncated module file", "executable", "past the end"])
        run_error("the executable's payload misaligned",
                  patched("misaligned_module", payload, "<Q", elf + 8),
                  ["misaligned_module.dssm", "executable", "64-byte aligned"])
        # Code for another machine: the ELF header's e_machine says AArch64.
        run_error("a module whose CPU code is for AArch64",
                  patched("aarch64_module", elf + 18, "<H", 183),
                  ["aarch64_module.dssm", "aarch64"], any_of=["this machine", "x86"])

    # Code for a CPU with extensions this one may lack (Diamond Rapids: AVX-IFMA,
    # AMX-FP16, ...): it runs where the CPU has them all, else the runtime
    # refuses it, naming them, rather than stop with SIGILL.
    future = work / "diamondrapids"
    future.mkdir(exist_ok=True)
    future_module = future / "model.dssm"
    r = common.run([args.compile, good, "-o", future_module, "--cpu=diamondrapids", "--quiet"])
    if check.check("densessm-compile --cpu=diamondrapids", r.returncode == 0, on_fail=r.describe()):
        r = common.run([args.run, future_module, "--tokens=1,2,3", "--generate=2"])
        if r.returncode == 0:
            check.check("densessm-run, a module for Diamond Rapids on a CPU that has its "
                        "extensions: runs", "sequence 0:" in r.stdout, on_fail=r.describe())
        else:
            problems = common.error_problems("densessm-run", r, ["model.dssm", "diamondrapids",
                                                                 "which this CPU lacks"])
            check.check("densessm-run, a module for Diamond Rapids on a CPU without its "
                        "extensions", not problems, r.stderr.strip(),
                        on_fail="; ".join(problems) + f"\n  {r.describe()}")

    run_error("a module file that does not exist", work / "no_such_module.dssm",
              ["no_such_module.dssm"])
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
