"""densessm.retention compiled for the CPU against the double-precision
reference (MODELS.md §2's parallel form with the authors' decay scaling, or
none): whole sequences from position 0, a carried state at per-sequence
positions, a sequence split in two, and one token at a time."""

import sys

import harness
import reference

CASES = [
    dict(name="authors", batch=2, length=7, heads=3, key_dim=4, value_dim=5,
         normalization="authors"),
    dict(name="plain", batch=1, length=6, heads=2, key_dim=2, value_dim=3,
         normalization="none"),
    # bf16 q, k, v and o with the f32 state, against the reference on the
    # same bf16-rounded inputs: o is rounded to bf16 on store, so its bound is
    # 1e-2 (1 + max |o|); the state keeps the f32 bound.
    dict(name="bf16", batch=1, length=5, heads=2, key_dim=4, value_dim=32,
         normalization="authors", dtype="bf16"),
    # The parallel schedule chunked over time: chunks of 3 tokens over
    # sequences of 7 (3 + 3 + 1), carries between them.
    dict(name="time-chunked", batch=2, length=7, heads=3, key_dim=4, value_dim=5,
         normalization="authors", pipeline="--densessm-cpu-pipeline=time-chunk=3"),
    # Only the length unknown at compile time (as in a model's prefill): the
    # value-chunk loops with a run-time number of passes, the first reading
    # the carried state; a call with no tokens returns the state it is given.
    dict(name="dynamic-length", batch=2, length=7, heads=2, key_dim=4, value_dim=32,
         normalization="authors", dynamic_length=True),
    # Every size unknown at compile time: the scalar loops.
    dict(name="dynamic", batch=2, length=4, heads=2, key_dim=3, value_dim=2,
         normalization="authors", dynamic=True),
]


def signature(case, length, with_state):
    """The kernel's argument (name, type) pairs, and its o and state types."""
    b, h, dk, dv = case["batch"], case["heads"], case["key_dim"], case["value_dim"]
    ty = harness.dynamic_type if case.get("dynamic") else harness.tensor_type
    if case.get("dynamic_length"):
        length = "?"
    dtype = case.get("dtype", "f32")
    qk = ty([b, length, h, dk], dtype)
    vt = ty([b, length, h, dv], dtype)
    state = ty([b, h, dk, dv], "f32")
    args = [("q", qk), ("k", qk), ("v", vt), ("decay", ty([h], "f32")),
            ("position", ty([b], "i64"))]
    if with_state:
        args.append(("s0", state))
    return args, vt, state


def kernel(case, length, with_state):
    b, h, dv = case["batch"], case["heads"], case["value_dim"]
    ty = harness.dynamic_type if case.get("dynamic") else harness.tensor_type
    dtype = case.get("dtype", "f32")
    args, vt, state = signature(case, length, with_state)
    text = "%q, %k, %v decay(%decay) position(%position)"
    if with_state:
        text += " initial_state(%s0)"
    attrs = (" {normalization = #densessm.retention_norm<none>}"
             if case["normalization"] == "none" else "")
    params = ", ".join(f"%{a}: {t}" for a, t in args)
    types = ", ".join(t for _, t in args)
    out = ty([b, "?" if case.get("dynamic_length") else length, h, dv], "f32")
    # o is returned as f32 (widened when the activations are narrower).
    widen = (f"  %of = arith.extf %o : {vt} to {out}\n" if dtype != "f32"
             else f"  %of = tensor.cast %o : {vt} to {out}\n")
    return (f"func.func @kernel({params}) -> ({out}, {state}) {{\n"
            f"  %o, %s = densessm.retention {text}{attrs} : {types} -> {vt}, {state}\n"
            f"{widen}  return %of, %s : {out}, {state}\n}}\n")


def run_case(tools, check, case):
    rng = harness.seeded(sum(map(ord, case["name"])))
    b, L, h, dk, dv = (case["batch"], case["length"], case["heads"], case["key_dim"],
                       case["value_dim"])
    q = harness.random_tensor(rng, [b, L, h, dk])
    k = harness.random_tensor(rng, [b, L, h, dk])
    v = harness.random_tensor(rng, [b, L, h, dv])
    dtype = case.get("dtype", "f32")
    if dtype == "bf16":
        q, k, v = harness.round_bf16(q), harness.round_bf16(k), harness.round_bf16(v)
    rtol = 1e-2 if dtype == "bf16" else 1e-4
    decay = [1 - 2 ** (-5 - j) for j in range(h)]
    s0 = harness.random_tensor(rng, [b, h, dk, dv])
    norm = case["normalization"]

    def compiled(start, stop, position, state):
        sl = lambda x: [seq[start:stop] for seq in x]
        shaped = lambda x, size: harness.Argument(sl(x), dtype, [b, stop - start, h, size])
        args = [shaped(q, dk), shaped(k, dk), shaped(v, dv),
                harness.Argument(decay), harness.Argument(position, "i64")]
        if state is not None:
            args.append(harness.Argument(state))
        call = None
        if case.get("dynamic_length"):
            params, _, state_type = signature(case, stop - start, state is not None)
            out_type = harness.tensor_type([b, "?", h, dv], "f32")
            call = ([t for _, t in params], [out_type, state_type])
        return harness.run(tools, kernel(case, stop - start, state is not None), args,
                           [[b, stop - start, h, dv], [b, h, dk, dv]],
                           dynamic=case.get("dynamic", False),
                           pipeline=case.get("pipeline", "--densessm-cpu-pipeline"),
                           signature=call)

    def expected(position, state):
        return reference.retention(q, k, v, decay, position=position, initial_state=state,
                                   normalization=norm)

    name = case["name"]
    zeros = [0] * b
    want_o, want_s = expected(zeros, None)
    o, s = compiled(0, L, zeros, None)
    check.close(f"{name}: parallel o", o, want_o, rtol)
    check.close(f"{name}: parallel final state", s, want_s)

    starts = [3 + 5 * i for i in range(b)]
    want_o1, want_s1 = expected(starts, s0)
    o, s = compiled(0, L, starts, s0)
    check.close(f"{name}: carried state at positions {starts} o", o, want_o1, rtol)
    check.close(f"{name}: carried state at positions {starts} final state", s, want_s1)

    if case.get("dynamic_length"):
        _, s = compiled(0, 0, starts, s0)
        check.close(f"{name}: no tokens, final state = initial state", s, s0)

    harness.check_split_and_steps(
        check, name, lambda start, stop, state: compiled(start, stop, [start] * b, state),
        b, L, want_o, want_s, rtol)


if __name__ == "__main__":
    sys.exit(harness.main(CASES, run_case))
