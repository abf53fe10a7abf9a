#!/usr/bin/python3
"""The weight bytes one decode step reads, from a module's weight list:

  densessm-dump-module MODULE --weights | decode_bytes.py

Every weight at its stored element type (bf16 projections count 2 bytes),
less the embedding table when lm_head has its own weight: a step gathers
one row of the table, and reads every other weight once. The same rule as
the CPU report's (bench/report.py, bytes_read_per_step). Prints
`weight_bytes_read=N stored_weight_bytes=M`."""

import math
import pathlib
import re
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
from describe_models import EMBEDDINGS  # noqa: E402

ELEMENT_BYTES = {"F32": 4, "BF16": 2, "F16": 2, "I64": 8, "I32": 4}
WEIGHT = re.compile(r"^\s*weight (\S+)\s+([A-Z0-9]+)\[([0-9, ]*)\]")


def main():
    sizes = {}
    for line in sys.stdin:
        match = WEIGHT.match(line)
        if match:
            name, element, shape = match.groups()
            dims = [int(d) for d in shape.split(",") if d.strip()]
            sizes[name] = ELEMENT_BYTES[element] * math.prod(dims)
    if not sizes:
        print("decode_bytes.py: error: no weights in the input (densessm-dump-module "
              "MODULE --weights)", file=sys.stderr)
        return 1
    stored = sum(sizes.values())
    read = stored
    if "lm_head.weight" in sizes:
        read -= sum(sizes.get(name, 0) for name in EMBEDDINGS)
    print(f"weight_bytes_read={read} stored_weight_bytes={stored}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
