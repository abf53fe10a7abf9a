"""Assembles the PTX that `densessm-compile --target=cuda --emit=ptx` writes.

The file is every kernel module's PTX, each object after a line
`// densessm-compile: kernel module @NAME for sm_XY`. Each distinct object is
assembled by ptxas for its own chip and for every newer chip given with
--arch (PTX for sm_80 is what a newer GPU JIT-compiles), in parallel.
Prints one FAIL line per error and a summary:
  ptx: K kernel modules, O objects (sm_80: a, sm_90: b)
  ptxas: R runs (D distinct), F failed
"""
import argparse
import concurrent.futures
import os
import re
import subprocess
import sys
import tempfile

HEADER = re.compile(r"^// densessm-compile: kernel module @(\S+) for (sm_\d+)$")


def split(text):
    objects, current = [], None
    for line in text.splitlines(keepends=True):
        match = HEADER.match(line.rstrip("\n"))
        if match:
            current = [match.group(1), match.group(2), []]
            objects.append(current)
        elif current is not None:
            current[2].append(line)
    return [(name, chip, "".join(lines)) for name, chip, lines in objects]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("ptxas")
    parser.add_argument("ptx_file")
    parser.add_argument("--arch", action="append", required=True)
    args = parser.parse_args()
    objects = split(open(args.ptx_file).read())
    modules = {name for name, _, _ in objects}
    chips = {}
    for _, chip, _ in objects:
        chips[chip] = chips.get(chip, 0) + 1
    print("ptx: %d kernel modules, %d objects (%s)" % (
        len(modules), len(objects),
        ", ".join("%s: %d" % item for item in sorted(chips.items()))))
    number = lambda chip: int(chip[3:])
    runs, distinct = [], {}
    for name, chip, text in objects:
        if ".entry" not in text or ".target %s" % chip not in text:
            print("FAIL: @%s %s: no .entry or no .target %s" % (name, chip, chip))
            return 1
        for arch in args.arch:
            if number(arch) >= number(chip):
                runs.append((name, chip, arch))
                distinct.setdefault((text, arch), []).append(name)
    work = tempfile.mkdtemp()

    def assemble(index_key):
        index, (text, arch) = index_key
        path = os.path.join(work, "%d.ptx" % index)
        with open(path, "w") as f:
            f.write(text)
        result = subprocess.run(
            [args.ptxas, "-arch=" + arch, path, "-o", path + ".cubin"],
            capture_output=True, text=True)
        return arch, result.returncode, result.stderr

    failed = 0
    with concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 2) as pool:
        for (key, names), (arch, code, stderr) in zip(
                distinct.items(), pool.map(assemble, enumerate(distinct))):
            if code != 0:
                failed += len(names)
                print("FAIL: ptxas -arch=%s @%s: %s" % (arch, names[0],
                                                         stderr.strip()))
    print("ptxas: %d runs (%d distinct), %d failed" % (len(runs), len(distinct),
                                                        failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
