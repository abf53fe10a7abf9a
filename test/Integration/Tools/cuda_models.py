"""Modules compiled with --target=cuda, run against the --target=cpu module.

For each family: a random checkpoint (models/checkpoints/
write_random_checkpoint.py) compiled twice, with --target=cpu and with
--target=cuda; then the CUDA module is run with --device=DEVICE and its
dumped logits (a prompt and greedy steps; a batch of prompts of different
lengths; --prefill=recurrent) compared with the CPU module's on the CPU:
  --device=auto on a machine without a GPU must run the CPU code the CUDA
    module carries, and give the CPU module's logits exactly;
  --device=cuda (on a GPU) must agree within --tolerance (max abs), with
    the same generated tokens.

Prints one PASS/FAIL line per check and "N passed, M failed"."""

import concurrent.futures
import pathlib
import sys

import e2e_common as common

PROMPTS = ([1, 2, 3, 4, 5], [6, 7, 8], [9, 10, 11, 12, 13, 14, 15])


def dump(args, module, device, work, name, prompts, extra=()):
    """Runs densessm-run; returns (result, {sequence: rows})."""
    logits = work / f"{name}.npy"
    argv = [args.run, module, "--device=" + device,
            "--tokens=" + ":".join(",".join(map(str, p)) for p in prompts),
            "--dump-logits=" + str(logits), *extra]
    result = common.run(argv)
    if result.returncode != 0:
        return result, None
    files = [logits] if len(prompts) == 1 else [
        work / f"{name}.seq{i}.npy" for i in range(len(prompts))]
    return result, [common.rows(*common.read_npy(f)) for f in files]


def main():
    parser = common.common_arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--dump", required=True, help="densessm-dump-module")
    parser.add_argument("--device", required=True, choices=("auto", "cuda"))
    parser.add_argument("--tolerance", type=float, default=1e-3)
    parser.add_argument("--family", action="append",
                        choices=("mamba", "densemamba", "retnet", "denseretnet"))
    args = parser.parse_args()
    check = common.Checker()
    writer = common.load_writer(args.models)
    root = pathlib.Path(args.work)
    exact = args.device == "auto"
    families = args.family or ("mamba", "densemamba", "retnet", "denseretnet")

    def compile_family(family):
        """Writes the family's checkpoint and compiles it for each target;
        returns (work dir, {target: (module, run result)})."""
        work = root / family
        work.mkdir(parents=True, exist_ok=True)
        ckpt = work / "checkpoint"
        writer.write_checkpoint(family, ckpt, dtype="f32", seed=3)
        compiled = {}
        for target in ("cpu", "cuda"):
            module = work / f"{target}.dssm"
            compiled[target] = (module, common.run([args.compile, ckpt, "-o", module,
                                                    "--target=" + target, "--quiet"]))
        return work, compiled

    # The compiles (single-threaded, most of the time) side by side; the
    # checks below, in order.
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(families)) as pool:
        prepared = list(pool.map(compile_family, families))
    for family, (work, compiled) in zip(families, prepared):
        modules = {}
        for target, (module, r) in compiled.items():
            modules[target] = module
            if not check.check(f"{family}: --target={target} compiles", r.returncode == 0,
                               on_fail=r.describe()):
                modules = None
                break
        if not modules:
            continue
        r = common.run([args.dump, modules["cuda"]])
        listed = r.stdout if r.returncode == 0 else ""
        check.check(f"{family}: the CUDA module carries CUDA host code, kernel "
                    f"objects and CPU code",
                    "executable   CPU elf-shared-object" in listed
                    and "executable   CUDA elf-shared-object for sm_80,sm_90/" in listed
                    and "kernel objects" in listed, on_fail=r.describe())

        runs = (("prompt and 4 greedy steps", PROMPTS[:1], ["--generate=4"]),
                ("batch of 3 prompts of different lengths", PROMPTS, ["--generate=2"]),
                ("recurrent prefill", PROMPTS[:1], ["--prefill=recurrent"]))
        for i, (what, prompts, extra) in enumerate(runs):
            want_result, want = dump(args, modules["cpu"], "cpu", work, f"cpu{i}",
                                     prompts, extra)
            got_result, got = dump(args, modules["cuda"], args.device, work,
                                   f"{args.device}{i}", prompts, extra)
            name = f"{family}: {what}, --device={args.device} vs the CPU module"
            if want is None or got is None:
                check.check(name, False, on_fail=(got_result if got is None
                                                  else want_result).describe())
                continue
            if exact:
                check.check(name + " (same CPU code: identical logits)", got == want,
                            on_fail="logits differ")
                check.check(f"{family}: --device=auto says it runs on the CPU",
                            "--device=auto runs on the CPU" in got_result.stderr,
                            on_fail=got_result.stderr.strip())
            else:
                err = max(common.max_abs_diff(g, w)[0] for g, w in zip(got, want))
                check.check(name, err <= args.tolerance,
                            detail=f"max abs error {err:.2e}",
                            on_fail=f"tolerance {args.tolerance}")
            same_tokens = (common.parse_sequences(got_result.stdout)
                           == common.parse_sequences(want_result.stdout))
            check.check(f"{family}: {what}: the same tokens", same_tokens,
                        on_fail=f"{got_result.stdout!r} vs {want_result.stdout!r}")
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
