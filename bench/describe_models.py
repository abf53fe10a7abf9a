#!/usr/bin/python3
"""Describes random checkpoints for the performance report, from config.json
and the safetensors headers (no tensor data is read):

  describe_models.py NAME=CHECKPOINT_DIR ... > models.json

Per model: its family, parameter count, whether lm_head is tied to the
embeddings, the embedding table's size, the parameters of the matrices every
token multiplies by (prefill's GEMM flops are 2 × that per token: every 2-D
weight except the embedding table, lm_head counted even when tied) and the
weight bytes a decode step reads (everything but an untied embedding table,
of which a step reads one row), as f32.
"""

import json
import math
import pathlib
import struct
import sys

EMBEDDINGS = ("backbone.embeddings.weight", "model.embed_tokens.weight")


def shapes(directory):
    out = {}
    for path in sorted(directory.glob("*.safetensors")):
        with open(path, "rb") as f:
            (size,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(size))
        out.update({k: v["shape"] for k, v in header.items() if k != "__metadata__"})
    return out


def describe(name, directory):
    directory = pathlib.Path(directory)
    config = json.loads((directory / "config.json").read_text())
    tensors = shapes(directory)
    family = config.get("model_type", "")
    if family == "llama":
        family = "denseretnet" if config.get("dense_block_layers") else "retnet"
    embed_name = next(n for n in EMBEDDINGS if n in tensors)
    embedding = math.prod(tensors[embed_name])
    tied = "lm_head.weight" not in tensors
    params = sum(math.prod(s) for s in tensors.values())
    matrices = sum(math.prod(s) for n, s in tensors.items()
                   if len(s) >= 2 and n != embed_name and "conv1d" not in n
                   and "A_log" not in n)
    if tied:
        matrices += embedding
    read = params - (0 if tied else embedding)
    return dict(name=name, family=family, params=params, tied=tied,
                embedding_params=embedding, matrix_params=matrices,
                weight_bytes_read=4 * read)


def main(argv):
    if not argv or any("=" not in a for a in argv):
        print(__doc__, file=sys.stderr)
        return 1
    print(json.dumps([describe(*a.split("=", 1)) for a in argv], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
