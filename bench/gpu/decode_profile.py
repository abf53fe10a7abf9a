#!/usr/bin/env python3
"""Where a decode step's time goes on the GPU, kernel by kernel: reads the
CSV that Nsight Compute writes for a run of densessm-run (scripts/gpu-check.sh
profiles the DenseRetNet-350M decode with CUDA graphs off, so that each
launch is profiled), finds one decode step in it (the shortest period with
which the launches' kernel names and grids repeat) and prints one row per
kernel of that step: its grid, block, registers, time, DRAM bytes and the
bandwidth it reached, then the step's totals against the bandwidth given.

  ncu --csv --print-units base --metrics gpu__time_duration.sum,\\
      dram__bytes_read.sum,dram__bytes_write.sum,launch__registers_per_thread \\
      densessm-run model.dssm --device=cuda --generate=24 ... > profile.csv
  decode_profile.py profile.csv [--bandwidth-gbs 4300]

Lines that are not the CSV (the program's output, ncu's ==PROF== lines) are
skipped; a file without profiled kernels is an error that says so."""

import argparse
import csv
import sys

METRICS = {
    "gpu__time_duration.sum": "ns",
    "dram__bytes_read.sum": "read",
    "dram__bytes_write.sum": "written",
    "launch__registers_per_thread": "registers",
}
# ncu's base units, and the scaled ones it prints without --print-units base.
SCALE = {"nsecond": 1, "usecond": 1e3, "msecond": 1e6, "second": 1e9,
         "byte": 1, "Kbyte": 1e3, "Mbyte": 1e6, "Gbyte": 1e9,
         "register/thread": 1, "": 1}


def launches(lines):
    """The profiled launches in order: dicts of kernel, grid, block and the
    METRICS' values (by their short names)."""
    rows = [line for line in lines if line.startswith('"')]
    by_id = {}
    for record in csv.DictReader(rows):
        metric = METRICS.get(record.get("Metric Name", ""))
        if metric is None:
            continue
        launch = by_id.setdefault(record["ID"], {
            "kernel": record["Kernel Name"], "grid": record["Grid Size"],
            "block": record["Block Size"]})
        unit = record.get("Metric Unit", "")
        if unit not in SCALE:
            raise ValueError(f"unknown unit {unit!r} of {record['Metric Name']}")
        launch[metric] = float(record["Metric Value"].replace(",", "")) * SCALE[unit]
    return [by_id[k] for k in sorted(by_id, key=int)]


def step_period(sequence):
    """The shortest period p with which `sequence` repeats (every item equal
    to the one p later), with at least two whole periods; None if none."""
    for p in range(1, len(sequence) // 2 + 1):
        if all(sequence[i] == sequence[i + p] for i in range(len(sequence) - p)):
            return p
    return None


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("csv")
    parser.add_argument("--bandwidth-gbs", type=float,
                        help="the copy bandwidth (read + write), for the step's share of it")
    args = parser.parse_args(argv)
    with open(args.csv, encoding="utf-8", errors="replace") as f:
        profiled = launches(f.read().splitlines())
    if not profiled:
        print(f"decode_profile: error: no profiled kernels in {args.csv}", file=sys.stderr)
        return 1
    missing = [m for m in METRICS.values() if any(m not in launch for launch in profiled)]
    if missing:
        print(f"decode_profile: error: {args.csv} lacks {', '.join(missing)} for some kernels",
              file=sys.stderr)
        return 1
    period = step_period([(launch["kernel"], launch["grid"]) for launch in profiled])
    if period is None:
        print(f"decode_profile: error: the {len(profiled)} launches do not repeat twice; "
              "profile more of them", file=sys.stderr)
        return 1
    step = profiled[:period]
    print(f"one decode step: {period} kernels (of {len(profiled)} profiled launches)\n")
    print("| # | kernel | grid | block | registers | µs | DRAM read KiB | written KiB | GB/s |")
    print("| ---: | --- | --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for i, launch in enumerate(step):
        moved = launch["read"] + launch["written"]
        print(f"| {i} | {launch['kernel']} | {launch['grid']} | {launch['block']} | "
              f"{launch['registers']:.0f} | {launch['ns'] / 1e3:.2f} | "
              f"{launch['read'] / 1024:.1f} | {launch['written'] / 1024:.1f} | "
              f"{moved / launch['ns']:.0f} |")
    ns = sum(launch["ns"] for launch in step)
    moved = sum(launch["read"] + launch["written"] for launch in step)
    print(f"\nkernel_time_us={ns / 1e3:.1f} dram_bytes={moved:.0f} "
          f"kernels={period} gbs={moved / ns:.0f}")
    if args.bandwidth_gbs:
        bound = moved / (args.bandwidth_gbs * 1e9) * 1e6
        print(f"the step's DRAM traffic at {args.bandwidth_gbs:.0f} GB/s takes {bound:.1f} µs: "
              f"the kernels take {ns / 1e3 / bound:.1f}x that (launch gaps not counted)")
    slowest = sorted(range(period), key=lambda i: -step[i]["ns"])[:5]
    print("slowest: " + ", ".join(f"#{i} {step[i]['ns'] / 1e3:.1f} µs" for i in slowest))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
