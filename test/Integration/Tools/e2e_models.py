"""A random checkpoint (models/checkpoints/write_random_checkpoint.py) through
densessm-compile and densessm-run, end to end:

  a. greedy generation: the dumped logits of every prompt position and every
     generated step against the double-precision reference
     (test/Integration/CPU/reference_models.py, fed the weights as stored),
     max abs error <= 1e-3 and the same argmax at every position
     (TESTING.md); each generated id is the argmax of the row before it;
  b. --prefill=recurrent gives the logits of --prefill=parallel (1e-4 of
     their max abs); a batch of prompts of different lengths gives each
     sequence the logits and tokens it gets alone (1e-5), and so does
     --batch=N with one prompt;
  c. with --sampling: top-k 1 sampling is greedy decoding, and a fixed
     --seed repeats itself.

Prints one PASS/FAIL line per check and "N passed, M failed"."""

import pathlib
import random
import sys

import e2e_common as common

PROMPT, GENERATE = 5, 4
OTHER_PROMPTS = (3, 7)  # the batch's other sequence lengths


def main():
    parser = common.common_arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--family", required=True,
                        choices=("mamba", "densemamba", "retnet", "denseretnet"))
    parser.add_argument("--dtype", default="f32", choices=("f32", "f16", "bf16"))
    parser.add_argument("--tied", action="store_true")
    parser.add_argument("--shards", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sampling", action="store_true",
                        help="also check --temperature/--top-k/--top-p/--seed")
    args = parser.parse_args()
    check = common.Checker()
    writer = common.load_writer(args.models)
    work = pathlib.Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    key = (f"{args.family} ({args.dtype}, {'tied' if args.tied else 'untied'}, "
           f"{args.shards} shard{'s' if args.shards > 1 else ''})")

    # The checkpoint, and what the reference will use.
    ckpt = work / "checkpoint"
    config, weights = writer.write_checkpoint(args.family, ckpt, dtype=args.dtype, tied=args.tied,
                                              shards=args.shards, seed=args.seed)
    _, stored = writer.read_checkpoint(ckpt)
    differ = [n for n in sorted(set(stored) | set(weights))
              if n not in stored or n not in weights or stored[n].tolist() != weights[n]]
    check.check(f"{key}: the checkpoint reads back as the reference's weights", not differ,
                on_fail=f"tensors that differ: {differ}")
    vocab = config["vocab_size"]

    module = work / "model.dssm"
    r = common.run([args.compile, ckpt, "-o", module, "--target=cpu"])
    ok = r.returncode == 0 and module.exists() and module.stat().st_size > 0
    if not check.check(f"{key}: densessm-compile writes the module", ok,
                       on_fail=f"{r.describe()}\n  module exists: {module.exists()}"):
        return check.summary()

    rng = random.Random(1000 + args.seed)
    prompt = [rng.randrange(vocab) for _ in range(PROMPT)]
    others = [[rng.randrange(vocab) for _ in range(n)] for n in OTHER_PROMPTS]

    def generate(name, sequences, extra=(), copies=None):
        """Runs densessm-run; [(prompt, generated, logits rows)] per output
        sequence, or None after reporting what went wrong."""
        npy = work / f"{name}.npy"
        argv = [args.run, module, common.tokens_flag(sequences), f"--generate={GENERATE}",
                f"--dump-logits={npy}", *extra]
        r = common.run(argv)
        what = f"{key}: {name}"
        if not check.check(f"{what}: densessm-run exits 0", r.returncode == 0,
                           on_fail=r.describe()):
            return None
        prompts = [list(s) for s in sequences] * (copies or 1)
        try:
            printed = common.parse_sequences(r.stdout)
        except ValueError as e:
            check.check(f"{what}: stdout has the sequence lines", False,
                        on_fail=f"{e}\n  {r.describe()}")
            return None
        if not check.check(f"{what}: {len(prompts)} sequence line(s)",
                           sorted(printed) == list(range(len(prompts))),
                           on_fail=f"found sequences {sorted(printed)}\n  stdout: {r.stdout!r}"):
            return None
        out = []
        for i, want_prompt in enumerate(prompts):
            got_prompt, generated = printed[i]
            ok = (got_prompt == want_prompt and len(generated) == GENERATE
                  and all(0 <= t < vocab for t in generated))
            if not check.check(f"{what}: sequence {i} echoes its prompt and has "
                               f"{GENERATE} ids < {vocab}", ok,
                               on_fail=f"expected prompt {want_prompt} and {GENERATE} generated ids, "
                               f"found prompt {got_prompt}, generated {generated}"):
                return None
            path = npy if len(prompts) == 1 else work / f"{name}.seq{i}.npy"
            try:
                shape, flat = common.read_npy(path)
            except (OSError, ValueError) as e:
                check.check(f"{what}: sequence {i} logits file {path.name}", False, on_fail=str(e))
                return None
            want_shape = [len(want_prompt) + GENERATE, vocab]
            if not check.check(f"{what}: {path.name} has shape {want_shape}", shape == want_shape,
                               on_fail=f"found shape {shape}"):
                return None
            out.append((got_prompt, generated, common.rows(shape, flat)))
        if len(prompts) > 1:
            check.check(f"{what}: per-sequence files only, no {npy.name}", not npy.exists(),
                        on_fail=f"{npy} exists")
        return out

    def against_reference(what, result, greedy=True):
        prompt_ids, generated, got = result
        tokens = prompt_ids + generated
        want = common.reference_logits(args.family, config, weights, tokens)
        err, where = common.max_abs_diff(got, want)
        detail = ""
        if where:
            detail = (f"max abs error {err:.3e} at position {where[0]}, logit {where[1]}: "
                      f"found {where[2]:.6f}, expected {where[3]:.6f}")
        check.check(f"{what}: logits within 1e-3 of the fp64 reference", err <= 1e-3, detail)
        bad = [(p, common.argmax(g), common.argmax(w), common.margin(w))
               for p, (g, w) in enumerate(zip(got, want)) if common.argmax(g) != common.argmax(w)]
        check.check(f"{what}: argmax agrees with the reference at all {len(want)} positions",
                    not bad, on_fail="; ".join(f"position {p}: found {a}, expected {b} (reference top-2 "
                                       f"margin {m:.2e})" for p, a, b, m in bad))
        if not greedy:
            return
        n = len(prompt_ids)
        wrong = [(i, t, common.argmax(want[n - 1 + i])) for i, t in enumerate(generated)
                 if t != common.argmax(want[n - 1 + i])]
        check.check(f"{what}: each generated id is the reference argmax of the row before it",
                    not wrong, on_fail="; ".join(f"step {i}: generated {t}, expected {e}"
                                         for i, t, e in wrong))
        mine = [(i, t, common.argmax(got[n - 1 + i])) for i, t in enumerate(generated)
                if t != common.argmax(got[n - 1 + i])]
        check.check(f"{what}: each generated id is the argmax of its own dumped row before it",
                    not mine, on_fail="; ".join(f"step {i}: generated {t}, dumped row's argmax {e}"
                                        for i, t, e in mine))

    def same(what, got, want, rtol, absolute_floor=True):
        """got/want: (prompt, generated, rows). Logits within rtol of the
        larger of 1 and want's max abs (or of want's max abs alone), and
        the same generated ids."""
        scale = common.max_abs(want[2])
        bound = rtol * (max(1.0, scale) if absolute_floor else scale)
        err, where = common.max_abs_diff(got[2], want[2])
        detail = f"max abs difference {err:.3e} (bound {bound:.3e})"
        if where and err > bound:
            detail += f" at position {where[0]}, logit {where[1]}: {where[2]:.7f} vs {where[3]:.7f}"
        check.check(f"{what}: same logits", err <= bound, detail)
        check.check(f"{what}: same generated ids", got[1] == want[1],
                    on_fail=f"found {got[1]}, expected {want[1]}")

    # a. Greedy generation against the reference.
    greedy = generate("greedy", [prompt])
    if greedy:
        against_reference(f"{key}: greedy, prompt {prompt}", greedy[0])

    # b. Parallel and recurrent prefill.
    parallel = generate("parallel", [prompt], ["--prefill=parallel"])
    recurrent = generate("recurrent", [prompt], ["--prefill=recurrent"])
    if recurrent:
        against_reference(f"{key}: --prefill=recurrent", recurrent[0])
    if parallel and recurrent:
        same(f"{key}: --prefill=recurrent vs --prefill=parallel", recurrent[0], parallel[0],
             1e-4, absolute_floor=False)
    if parallel and greedy:
        same(f"{key}: --prefill=parallel vs the default", parallel[0], greedy[0], 1e-5)

    # b. A batch of different lengths, and --batch copies.
    alone = [greedy[0] if greedy else None]
    for i, other in enumerate(others):
        result = generate(f"alone{i + 1}", [other])
        alone.append(result[0] if result else None)
    batch = generate("batch", [prompt] + others)
    if batch:
        for i, (got, want) in enumerate(zip(batch, alone)):
            if want:
                same(f"{key}: batch of lengths {[PROMPT, *OTHER_PROMPTS]}, sequence {i} "
                     f"vs alone", got, want, 1e-5)
    copies = generate("copies", [prompt], ["--batch=3"], copies=3)
    if copies and greedy:
        for i, got in enumerate(copies):
            same(f"{key}: --batch=3, copy {i} vs alone", got, greedy[0], 1e-5)

    # c. Sampling.
    if args.sampling and greedy:
        top1 = generate("top1", [prompt], ["--temperature=0.7", "--top-k=1", "--seed=11"])
        if top1:
            same(f"{key}: --temperature=0.7 --top-k=1 vs greedy", top1[0], greedy[0], 1e-5)
        flags = ["--temperature=1.5", "--top-p=0.95", "--seed=11"]
        first = generate("sampled1", [prompt], flags)
        second = generate("sampled2", [prompt], flags)
        if first and second:
            same(f"{key}: {' '.join(flags)} twice", second[0], first[0], 1e-5)
        if first:
            # The prompt's logits do not depend on how tokens are chosen.
            n = len(prompt)
            err, _ = common.max_abs_diff(first[0][2][:n], greedy[0][2][:n])
            check.check(f"{key}: sampled run's prompt logits are greedy's", err <= 1e-5,
                        f"max abs difference {err:.3e}")
            against_reference(f"{key}: sampled ({' '.join(flags)})", first[0], greedy=False)
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
