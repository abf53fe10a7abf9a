"""Extracts the PTX that --densessm-cuda-pipeline embeds in gpu.binary ops
and assembles each object with ptxas for the chip it was compiled for.

    ptx_tool.py extract LOWERED.mlir OUT_DIR
        writes OUT_DIR/<binary>.<chip>.ptx for every object, prints one line
        per object, and fails when there is none;
    ptx_tool.py ptxas PTXAS LOWERED.mlir OUT_DIR [--arch sm_80 --arch sm_90]
        extracts, then runs `PTXAS -arch=<chip>` on each PTX whose chip is
        in the --arch list (every chip when none is given), and fails on any
        ptxas error or when a requested chip has no PTX.

The objects are the `assembly = "..."` strings of `#gpu.object<#nvvm.target<
... chip = "sm_XX" ...>, ...>` attributes (the pipeline's format=isa), with
MLIR's string escapes (\\XX hex bytes, \\\\, \\")."""

import os
import re
import subprocess
import sys

BINARY = re.compile(r'gpu\.binary @([\w$.-]+)')
OBJECT = re.compile(
    r'#gpu\.object<#nvvm\.target<([^>]*)>[^"]*?assembly = "((?:[^"\\]|\\.)*)"')
CHIP = re.compile(r'chip = "(sm_\w+)"')


def unescape(text):
    out = bytearray()
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\":
            nxt = text[i + 1]
            if nxt in '\\"':
                out.append(ord(nxt))
                i += 2
                continue
            out.append(int(text[i + 1:i + 3], 16))
            i += 3
            continue
        out += c.encode()
        i += 1
    return out.decode()


def objects(mlir_text):
    """(binary name, chip, PTX) for every object of every gpu.binary."""
    found = []
    starts = [(m.start(), m.group(1)) for m in BINARY.finditer(mlir_text)]
    for n, (start, name) in enumerate(starts):
        end = starts[n + 1][0] if n + 1 < len(starts) else len(mlir_text)
        for obj in OBJECT.finditer(mlir_text, start, end):
            chip = CHIP.search(obj.group(1))
            found.append((name, chip.group(1) if chip else "unknown",
                          unescape(obj.group(2))))
    return found


def extract(lowered, out_dir):
    with open(lowered) as f:
        found = objects(f.read())
    if not found:
        sys.exit(f"error: no PTX object (gpu.binary ... assembly = \"...\") in {lowered}")
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    for name, chip, ptx in found:
        if ".entry" not in ptx:
            sys.exit(f"error: the {chip} object of @{name} holds no kernel entry")
        path = os.path.join(out_dir, f"{name}.{chip}.ptx")
        with open(path, "w") as f:
            f.write(ptx)
        paths.append((name, chip, path, ptx))
        print(f"PTX @{name} {chip}: {ptx.count('.entry')} entry, "
              f"{ptx.count('shfl.sync')} shfl.sync, {ptx.count('bar.sync')} bar.sync, "
              f"{ptx.count('griddepcontrol')} griddepcontrol, {len(ptx)} bytes")
    return paths


def assemble(ptxas, lowered, out_dir, archs):
    paths = extract(lowered, out_dir)
    failures = 0
    for arch in archs or sorted({chip for _, chip, _, _ in paths}):
        selected = [p for p in paths if p[1] == arch]
        if not selected:
            print(f"FAIL: no PTX for {arch}")
            failures += 1
            continue
        for name, chip, path, _ in selected:
            cubin = path[:-len(".ptx")] + ".cubin"
            ran = subprocess.run([ptxas, f"-arch={arch}", path, "-o", cubin],
                                 capture_output=True, text=True)
            if ran.returncode != 0 or "error" in ran.stderr.lower():
                print(f"FAIL: ptxas -arch={arch} @{name}:\n{ran.stderr}")
                failures += 1
            else:
                print(f"PASS: ptxas -arch={arch} @{name}")
    print(f"ptxas: {failures} failed")
    return 1 if failures else 0


def main(argv):
    if len(argv) >= 3 and argv[0] == "extract":
        extract(argv[1], argv[2])
        return 0
    if len(argv) >= 4 and argv[0] == "ptxas":
        archs = [a for flag, a in zip(argv[4::2], argv[5::2]) if flag == "--arch"]
        return assemble(argv[1], argv[2], argv[3], archs)
    sys.exit(__doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
