"""densessm.selective_scan compiled for the CPU against the double-precision
reference: whole sequences with and without a carried state, a sequence
split in two (the second half continues from the first's final state), and
one token at a time (the recurrent schedule)."""

import sys

import harness
import reference

CASES = [
    # Mamba-1 shape: shared B/C, softplus, D, z, delta_bias, odd sizes.
    dict(name="mamba", batch=2, length=7, channels=6, state=5, groups=None,
         softplus=True, D=True, z=True, bias=True),
    # Grouped B/C (2 groups of 2 channels), nothing optional, N = 3.
    dict(name="grouped", batch=1, length=9, channels=4, state=3, groups=2,
         softplus=False, D=False, z=False, bias=False),
    # 37 channels: two 16-channel blocks in registers, then 5 channels one
    # at a time.
    dict(name="blocks", batch=2, length=6, channels=37, state=5, groups=None,
         softplus=True, D=True, z=True, bias=True),
    # bf16 activations (u, Δ, B, C, z, y) with f32 parameters and state,
    # against the reference on the same bf16-rounded inputs: y is rounded to
    # bf16 on store, so its bound is 1e-2 (1 + max |y|); the f32 state keeps
    # the f32 bound.
    dict(name="bf16", batch=1, length=7, channels=37, state=4, groups=None,
         softplus=True, D=True, z=True, bias=True, dtype="bf16"),
    # The parallel schedule chunked over time: chunks of 3 tokens (the
    # sequences are 7 long: 3 + 3 + 1), carries between them.
    dict(name="time-chunked", batch=2, length=7, channels=6, state=5, groups=None,
         softplus=True, D=True, z=True, bias=True,
         pipeline="--densessm-cpu-pipeline=time-chunk=3"),
    # Every size unknown at compile time: the scalar loops.
    dict(name="dynamic", batch=2, length=5, channels=3, state=4, groups=None,
         softplus=True, D=True, z=True, bias=True, dynamic=True),
]


def kernel(case, length, with_state):
    b, d, n = case["batch"], case["channels"], case["state"]
    ty = harness.dynamic_type if case.get("dynamic") else harness.tensor_type
    dtype = case.get("dtype", "f32")
    act = ty([b, length, d], dtype)
    bc = ty([b, length, case["groups"], n] if case["groups"] else [b, length, n], dtype)
    vec = ty([d], "f32")
    state = ty([b, d, n], "f32")
    args = [("u", act), ("delta", act), ("A", ty([d, n], "f32")), ("B", bc), ("C", bc)]
    text = "%u, %delta, %A, %B, %C"
    if case["D"]:
        args.append(("D", vec)); text += " D(%D)"
    if case["z"]:
        args.append(("z", act)); text += " z(%z)"
    if case["bias"]:
        args.append(("bias", vec)); text += " delta_bias(%bias)"
    if with_state:
        args.append(("s0", state)); text += " initial_state(%s0)"
    attrs = " {delta_softplus}" if case["softplus"] else ""
    params = ", ".join(f"%{a}: {t}" for a, t in args)
    types = ", ".join(t for _, t in args)
    out = ty([b, length, d], "f32")
    # y is returned as f32 (widened when the activations are narrower).
    widen = (f"  %yf = arith.extf %y : {act} to {out}\n" if dtype != "f32"
             else f"  %yf = tensor.cast %y : {act} to {out}\n")
    return (f"func.func @kernel({params}) -> ({out}, {state}) {{\n"
            f"  %y, %s = densessm.selective_scan {text}{attrs} : {types} -> {act}, {state}\n"
            f"{widen}  return %yf, %s : {out}, {state}\n}}\n")


def time_slice(values, start, stop):
    return [seq[start:stop] for seq in values]


def run_case(tools, check, case):
    rng = harness.seeded(sum(map(ord, case["name"])))
    b, L, d, n, g = case["batch"], case["length"], case["channels"], case["state"], case["groups"]
    bc_shape = [b, L, g, n] if g else [b, L, n]
    inputs = dict(
        u=harness.random_tensor(rng, [b, L, d]),
        delta=harness.random_tensor(rng, [b, L, d], -1.0, 1.0 if case["softplus"] else 0.5),
        A=harness.random_tensor(rng, [d, n], -2.0, -0.1),
        B=harness.random_tensor(rng, bc_shape), C=harness.random_tensor(rng, bc_shape),
        D=harness.random_tensor(rng, [d]) if case["D"] else None,
        z=harness.random_tensor(rng, [b, L, d]) if case["z"] else None,
        bias=harness.random_tensor(rng, [d], -0.5, 0.5) if case["bias"] else None)
    if not case["softplus"]:
        inputs["delta"] = harness.random_tensor(rng, [b, L, d], 0.05, 0.6)
    s0 = harness.random_tensor(rng, [b, d, n])
    bf16 = case.get("dtype") == "bf16"
    if bf16:
        for name in ("u", "delta", "B", "C", "z"):
            inputs[name] = harness.round_bf16(inputs[name])
    rtol = 1e-2 if bf16 else 1e-4

    def compiled(start, stop, state):
        names = ["u", "delta", "A", "B", "C"] + [k for k in ("D", "z", "bias") if case[k]]
        args = []
        for k in names:
            v = inputs[k]
            activation = k in ("u", "delta", "B", "C", "z")
            args.append(harness.Argument(time_slice(v, start, stop) if activation else v,
                                         case.get("dtype", "f32") if activation else "f32"))
        if state is not None:
            args.append(harness.Argument(state))
        return harness.run(tools, kernel(case, stop - start, state is not None), args,
                           [[b, stop - start, d], [b, d, n]], dynamic=case.get("dynamic", False),
                           pipeline=case.get("pipeline", "--densessm-cpu-pipeline"))

    def expected(state):
        return reference.selective_scan(inputs["u"], inputs["delta"], inputs["A"], inputs["B"],
                                        inputs["C"], D=inputs["D"], z=inputs["z"],
                                        delta_bias=inputs["bias"], initial_state=state,
                                        delta_softplus=case["softplus"])

    name = case["name"]
    want_y, want_s = expected(None)
    y, s = compiled(0, L, None)
    check.close(f"{name}: parallel y", y, want_y, rtol)
    check.close(f"{name}: parallel final state", s, want_s)

    want_y0, want_s0 = expected(s0)
    y, s = compiled(0, L, s0)
    check.close(f"{name}: carried initial state y", y, want_y0, rtol)
    check.close(f"{name}: carried initial state final state", s, want_s0)

    harness.check_split_and_steps(check, name, compiled, b, L, want_y, want_s, rtol)


if __name__ == "__main__":
    sys.exit(harness.main(CASES, run_case))
