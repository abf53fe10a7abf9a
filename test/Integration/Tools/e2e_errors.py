"""Bad input to densessm-compile and densessm-run (TESTING.md, "Bad input"):
damaged checkpoints, damaged module files and bad command lines. Each must
exit non-zero without crashing, print exactly one line on stderr,
`densessm-compile: error: ...` / `densessm-run: error: ...`, that names the
file and the problem (key words checked below), and leave no output file.

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

    run_error("a module file that does not exist", work / "no_such_module.dssm",
              ["no_such_module.dssm"])
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
