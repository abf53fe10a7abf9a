#!/usr/bin/env python3
"""Writes a random checkpoint of one of the four model families, in the
on-disk layout of a real one (docs/MODELS.md): a directory holding
config.json and the weights as safetensors, either one model.safetensors or
N shards model-0000i-of-0000N.safetensors plus model.safetensors.index.json.

  mamba        Hugging Face MambaForCausalLM (MODELS.md §1), model_type "mamba"
  densemamba   Mamba plus u_select / u_norm in every layer (§3), model_type
               "densemamba", dense_block_layers m
  retnet       the DenseSSM authors' GAU RetNet saved as LlamaForCausalLM
               (§2), model_type "llama", dense_block_layers 0
  denseretnet  the same with dense_block_layers m > 0

Every layer of retnet/denseretnet holds k_select, v_select, k_norm and v_norm,
as the authors' checkpoints do (layer 0 never uses them).

The default configurations are tiny: vocabulary 64, hidden size 32, two
layers, or three with dense_block_layers 2 for densemamba and denseretnet
(TINY in this file; models/examples/generate.py builds the example IR from
them). --set key=value changes any config.json field (the value is read as
JSON when it parses, else kept as a string), e.g. the shape of Mamba-130M:

  write_random_checkpoint.py --family mamba --out /tmp/m130 --tied \\
      --set hidden_size=768 --set num_hidden_layers=24 --set vocab_size=50280 \\
      --set state_size=16 --set time_step_rank=auto

Weights are drawn uniformly with a fixed seed (each tensor from its own
stream, seeded by --seed and its name, so the values do not depend on the
dtype, on the sharding or on the other tensors): norm weights in [0.5, 1.5],
A_log in [-1, 0.5], dt_proj.bias in [-2, -0.5], other vectors in [-0.5, 0.5],
matrices in +-1.5/sqrt(fan_in) (fan_in = the last dimension). They are drawn
as float32; f16 and bf16 files hold them rounded to nearest even.

Standard library only. As a module:

  config, weights = write_checkpoint("mamba", out_dir, dtype="bf16", tied=True,
                                     shards=2, seed=0, overrides={...})

returns config.json's contents and {tensor name: nested lists of the values as
stored} (read back from the bytes written, so f16/bf16 values are the rounded
ones). read_safetensors(path) reads a file back ({name: Tensor});
read_checkpoint(dir) reads a whole checkpoint directory; write_safetensors
writes one file from Tensors (the tests use it to damage checkpoints).
"""

import argparse
import array
import json
import math
import os
import pathlib
import random
import struct
import sys
import time

FAMILIES = ("mamba", "densemamba", "retnet", "denseretnet")
DTYPES = {"f32": "F32", "f16": "F16", "bf16": "BF16"}
ITEM_SIZE = {"F32": 4, "F16": 2, "BF16": 2}
TORCH_DTYPE = {"F32": "float32", "F16": "float16", "BF16": "bfloat16"}
CHUNK = 1 << 20  # elements generated, rounded and written at a time


# -- configurations -------------------------------------------------------------

# The tiny default configuration of each family (MODELS.md names), which
# make_config writes out as config.json. models/examples/generate.py builds
# the example IR of models/examples/ from these.
MAMBA = dict(vocab_size=64, hidden_size=32, state_size=8, expand=2,
             conv_kernel=4, time_step_rank=2, num_hidden_layers=2,
             layer_norm_epsilon=1e-5, dense_block_layers=0)
DENSEMAMBA = dict(MAMBA, num_hidden_layers=3, dense_block_layers=2)
RETNET = dict(vocab_size=64, hidden_size=32, query_key_dim=16,
              num_attention_heads=2, v_factor=2, num_hidden_layers=2,
              rms_norm_eps=1e-6, dense_block_layers=0)
DENSERETNET = dict(RETNET, num_hidden_layers=3, dense_block_layers=2)
TINY = {"mamba": MAMBA, "densemamba": DENSEMAMBA,
        "retnet": RETNET, "denseretnet": DENSERETNET}


def make_config(family, dtype="f32", tied=False, overrides=None):
    """config.json's contents for the family (tiny defaults, then overrides)."""
    if family not in FAMILIES:
        raise ValueError(f"unknown family '{family}' (known: {', '.join(FAMILIES)})")
    tiny = dict(TINY[family])
    st_dtype = DTYPES[dtype]
    if family in ("mamba", "densemamba"):
        config = {
            "architectures": ["MambaForCausalLM"] if family == "mamba"
            else ["DenseMambaForCausalLM"],
            "model_type": family,
            "vocab_size": tiny["vocab_size"],
            "hidden_size": tiny["hidden_size"],
            "state_size": tiny["state_size"],
            "expand": tiny["expand"],
            "intermediate_size": tiny["expand"] * tiny["hidden_size"],
            "conv_kernel": tiny["conv_kernel"],
            "time_step_rank": tiny["time_step_rank"],
            "num_hidden_layers": tiny["num_hidden_layers"],
            "layer_norm_epsilon": tiny["layer_norm_epsilon"],
            "use_bias": False,
            "use_conv_bias": True,
            "hidden_act": "silu",
            "residual_in_fp32": True,
            "bos_token_id": 0,
            "eos_token_id": 0,
            "pad_token_id": 0,
            "use_cache": True,
            "torch_dtype": TORCH_DTYPE[st_dtype],
            "tie_word_embeddings": bool(tied),
        }
        if family == "densemamba":
            config["dense_block_layers"] = tiny["dense_block_layers"]
    else:
        config = {
            "architectures": ["LlamaForCausalLM"],
            "model_type": "llama",
            "vocab_size": tiny["vocab_size"],
            "hidden_size": tiny["hidden_size"],
            "query_key_dim": tiny["query_key_dim"],
            "v_factor": tiny["v_factor"],
            "num_attention_heads": tiny["num_attention_heads"],
            "num_hidden_layers": tiny["num_hidden_layers"],
            "rms_norm_eps": tiny["rms_norm_eps"],
            "dense_block_layers": tiny["dense_block_layers"],
            "hidden_act": "silu",
            "max_position_embeddings": 2048,
            "bos_token_id": 1,
            "eos_token_id": 2,
            "pad_token_id": 0,
            "use_cache": True,
            "torch_dtype": TORCH_DTYPE[st_dtype],
            "tie_word_embeddings": bool(tied),
        }
    overrides = dict(overrides or {})
    config.update(overrides)
    if "intermediate_size" in config and "intermediate_size" not in overrides:
        config["intermediate_size"] = config["expand"] * config["hidden_size"]
    return config


def time_step_rank(config):
    r = config["time_step_rank"]
    return math.ceil(config["hidden_size"] / 16) if r == "auto" else int(r)


def tensor_shapes(family, config):
    """[(name, shape)] of every tensor of the checkpoint, in model order."""
    V, H, L = config["vocab_size"], config["hidden_size"], config["num_hidden_layers"]
    tied = bool(config.get("tie_word_embeddings", False))
    out = []
    if family in ("mamba", "densemamba"):
        N, K = config["state_size"], config["conv_kernel"]
        D, R = config["expand"] * H, time_step_rank(config)
        out.append(("backbone.embeddings.weight", [V, H]))
        for l in range(L):
            p = f"backbone.layers.{l}."
            q = p + "mixer."
            out.append((p + "norm.weight", [H]))
            out.append((q + "in_proj.weight", [2 * D, H]))
            if config.get("use_bias", False):
                out.append((q + "in_proj.bias", [2 * D]))
            out.append((q + "conv1d.weight", [D, 1, K]))
            if config.get("use_conv_bias", True):
                out.append((q + "conv1d.bias", [D]))
            if family == "densemamba":
                out.append((q + "u_select.fc1.weight", [H // 32, H]))
                out.append((q + "u_select.fc2.weight", [D, H // 32]))
                out.append((q + "u_norm.weight", [D]))
            out.append((q + "x_proj.weight", [R + 2 * N, D]))
            out.append((q + "dt_proj.weight", [D, R]))
            out.append((q + "dt_proj.bias", [D]))
            out.append((q + "A_log", [D, N]))
            out.append((q + "D", [D]))
            out.append((q + "out_proj.weight", [H, D]))
            if config.get("use_bias", False):
                out.append((q + "out_proj.bias", [H]))
        out.append(("backbone.norm_f.weight", [H]))
        if not tied:
            out.append(("lm_head.weight", [V, H]))
    else:
        Q, heads = config["query_key_dim"], config["num_attention_heads"]
        E = config["v_factor"] * H
        out.append(("model.embed_tokens.weight", [V, H]))
        for l in range(L):
            p = f"model.layers.{l}."
            a = p + "self_attn."
            out.append((p + "input_layernorm.weight", [H]))
            out.append((a + "q_proj.weight", [Q, H]))
            out.append((a + "k_proj.weight", [Q, H]))
            out.append((a + "to_hidden.0.weight", [2 * E, H]))
            out.append((a + "to_out.0.weight", [H, E]))
            out.append((a + "group_norm.weight", [E // heads]))
            out.append((a + "k_select.fc1.weight", [H // 32, H]))
            out.append((a + "k_select.fc2.weight", [H // 2, H // 32]))
            out.append((a + "v_select.fc1.weight", [H // 32, H]))
            out.append((a + "v_select.fc2.weight", [2 * H, H // 32]))
            out.append((a + "k_norm.weight", [Q]))
            out.append((a + "v_norm.weight", [E]))
        out.append(("model.norm.weight", [H]))
        if not tied:
            out.append(("lm_head.weight", [V, H]))
    return out


def value_range(name, shape):
    """The uniform distribution a tensor is drawn from (as check_models.py)."""
    if "norm" in name:
        return 0.5, 1.5
    if name.endswith("A_log"):
        return -1.0, 0.5
    if name.endswith("dt_proj.bias"):
        return -2.0, -0.5
    if len(shape) == 1:
        return -0.5, 0.5
    bound = 1.5 / math.sqrt(shape[-1]) if shape[-1] else 1.0
    return -bound, bound


# -- encoding ---------------------------------------------------------------------

def _little(a):
    if sys.byteorder != "little":
        a = array.array(a.typecode, a)
        a.byteswap()
    return a


_BF16_CONSTANTS = {}


def _bf16_constants(n):
    if n not in _BF16_CONSTANTS:
        _BF16_CONSTANTS.clear()
        _BF16_CONSTANTS[n] = (int.from_bytes(b"\x01\x00\x00\x00" * n, "little"),
                              int.from_bytes(b"\xff\x7f\x00\x00" * n, "little"))
    return _BF16_CONSTANTS[n]


def f32_bytes_to_bf16(data):
    """Little-endian float32 bytes -> bfloat16 bytes, round to nearest even.
    (All lanes at once in one integer: adding 0x7fff + lsb to a finite
    float's bits never carries out of its 32-bit lane.)"""
    n = len(data) // 4
    if n == 0:
        return b""
    ones, bias = _bf16_constants(n)
    y = int.from_bytes(data, "little")
    rounded = (y + bias + ((y >> 16) & ones)).to_bytes(4 * n, "little")
    out = bytearray(2 * n)
    out[0::2] = rounded[2::4]
    out[1::2] = rounded[3::4]
    return bytes(out)


def bf16_bytes_to_f32(data):
    n = len(data) // 2
    out = bytearray(4 * n)
    out[2::4] = data[0::2]
    out[3::4] = data[1::2]
    return bytes(out)


def encode(values, st_dtype):
    """Python floats -> safetensors bytes (rounded through float32)."""
    f32 = _little(array.array("f", values)).tobytes()
    if st_dtype == "F32":
        return f32
    if st_dtype == "BF16":
        return f32_bytes_to_bf16(f32)
    if st_dtype == "F16":
        return struct.pack(f"<{len(values)}e", *array.array("f", values))
    raise ValueError(f"unsupported dtype {st_dtype}")


def decode(data, st_dtype):
    """safetensors bytes -> flat list of Python floats."""
    if st_dtype == "F32":
        a = array.array("f")
        a.frombytes(data)
        if sys.byteorder != "little":
            a.byteswap()
        return a.tolist()
    if st_dtype == "BF16":
        return decode(bf16_bytes_to_f32(data), "F32")
    if st_dtype == "F16":
        return list(struct.unpack(f"<{len(data) // 2}e", data))
    raise ValueError(f"unsupported dtype {st_dtype}")


def nest(flat, shape):
    """A flat list as nested lists of the given shape."""
    if not shape:
        return flat[0]
    if len(shape) == 1:
        return list(flat)
    step = len(flat) // shape[0] if shape[0] else 0
    return [nest(flat[i * step:(i + 1) * step], shape[1:]) for i in range(shape[0])]


def numel(shape):
    n = 1
    for d in shape:
        n *= d
    return n


# -- safetensors ------------------------------------------------------------------

class Tensor:
    """One safetensors entry: dtype ("F32", "F16", "BF16", ...), shape and
    the raw little-endian bytes."""

    def __init__(self, dtype, shape, data):
        self.dtype, self.shape, self.data = dtype, list(shape), data

    def flat(self):
        return decode(self.data, self.dtype)

    def tolist(self):
        return nest(self.flat(), self.shape)

    def __repr__(self):
        return f"Tensor({self.dtype}, {self.shape}, {len(self.data)} bytes)"


def _header_bytes(entries, metadata):
    """entries: [(name, dtype, shape, nbytes)] in data order."""
    header = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    offset = 0
    for name, dtype, shape, nbytes in entries:
        header[name] = {"dtype": dtype, "shape": list(shape),
                        "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text, offset


def write_safetensors(path, tensors, metadata=None):
    """Writes {name: Tensor} (in the dict's order) as one safetensors file.
    metadata defaults to {"format": "pt"}."""
    entries = [(n, t.dtype, t.shape, len(t.data)) for n, t in tensors.items()]
    head, _ = _header_bytes(entries, {"format": "pt"} if metadata is None else metadata)
    with open(path, "wb") as f:
        f.write(head)
        for t in tensors.values():
            f.write(t.data)


def read_safetensors_header(path):
    """(header dict without __metadata__, __metadata__ or None, data start)."""
    path = pathlib.Path(path)
    size = path.stat().st_size
    with open(path, "rb") as f:
        raw = f.read(8)
        if len(raw) < 8:
            raise ValueError(f"{path}: truncated: {size} bytes, shorter than the 8-byte header length")
        (n,) = struct.unpack("<Q", raw)
        if 8 + n > size:
            raise ValueError(f"{path}: header length {n} runs past the end of the file ({size} bytes)")
        header = json.loads(f.read(n).decode("utf-8"))
    metadata = header.pop("__metadata__", None)
    return header, metadata, 8 + n


def read_safetensors(path):
    """{name: Tensor} of one safetensors file, in header order, after
    checking every entry (known dtype, offsets inside the data and matching
    the shape). Raises ValueError naming the file and the problem."""
    path = pathlib.Path(path)
    header, _, start = read_safetensors_header(path)
    data = path.read_bytes()[start:]
    out = {}
    for name, info in header.items():
        dtype, shape, (begin, end) = info["dtype"], info["shape"], info["data_offsets"]
        if dtype not in ITEM_SIZE:
            raise ValueError(f"{path}: tensor '{name}': unsupported dtype {dtype}")
        if not (0 <= begin <= end <= len(data)):
            raise ValueError(f"{path}: tensor '{name}': data offsets [{begin}, {end}] "
                             f"past the end of the data ({len(data)} bytes)")
        if end - begin != numel(shape) * ITEM_SIZE[dtype]:
            raise ValueError(f"{path}: tensor '{name}': {end - begin} bytes for shape "
                             f"{shape} of {dtype}")
        out[name] = Tensor(dtype, shape, data[begin:end])
    return out


def read_safetensors_metadata(path):
    return read_safetensors_header(path)[1]


def read_checkpoint(directory):
    """(config, {name: Tensor}) of a checkpoint directory, one file or
    sharded (model.safetensors.index.json)."""
    directory = pathlib.Path(directory)
    config = json.loads((directory / "config.json").read_text())
    index = directory / "model.safetensors.index.json"
    tensors = {}
    if index.exists():
        weight_map = json.loads(index.read_text())["weight_map"]
        for file in sorted(set(weight_map.values())):
            shard = read_safetensors(directory / file)
            for name, t in shard.items():
                if weight_map.get(name) != file:
                    raise ValueError(f"{directory / file}: tensor '{name}' not mapped to this file "
                                     f"by {index.name}")
                tensors[name] = t
        missing = set(weight_map) - set(tensors)
        if missing:
            raise ValueError(f"{index}: tensors not found in their shards: {sorted(missing)}")
    else:
        tensors = read_safetensors(directory / "model.safetensors")
    return config, tensors


# -- the writer -------------------------------------------------------------------

def shard_names(shards):
    if shards <= 1:
        return ["model.safetensors"]
    return [f"model-{i + 1:05d}-of-{shards:05d}.safetensors" for i in range(shards)]


def _split(entries, shards):
    """Contiguous groups of the (name-sorted) entries with balanced bytes,
    each non-empty."""
    if shards > len(entries):
        raise ValueError(f"{shards} shards for only {len(entries)} tensors")
    total = sum(e[3] for e in entries)
    groups, current, done = [], [], 0
    for i, e in enumerate(entries):
        current.append(e)
        done += e[3]
        left_entries = len(entries) - i - 1
        left_groups = shards - len(groups) - 1
        if left_groups > 0 and (done >= total * (len(groups) + 1) / shards
                                or left_entries == left_groups):
            groups.append(current)
            current = []
    groups.append(current)
    assert len(groups) == shards and all(groups)
    return groups


def _generate(rng, count, lo, hi):
    r, w = rng.random, hi - lo
    return [lo + w * r() for _ in range(count)]


def write_checkpoint(family, out_dir, dtype="f32", tied=False, shards=1, seed=0,
                     overrides=None, return_weights=True):
    """Writes the checkpoint; returns (config, {name: nested stored values})
    (the dict is empty with return_weights=False, for big models)."""
    if dtype not in DTYPES:
        raise ValueError(f"unknown dtype '{dtype}' (known: {', '.join(DTYPES)})")
    config = make_config(family, dtype, tied, overrides)
    st_dtype = DTYPES[dtype]
    shapes = dict(tensor_shapes(family, config))
    entries = [(name, st_dtype, shapes[name], numel(shapes[name]) * ITEM_SIZE[st_dtype])
               for name in sorted(shapes)]
    groups = _split(entries, max(1, shards))
    files = shard_names(max(1, shards))
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in list(out_dir.glob("model*.safetensors")) + [out_dir / "model.safetensors.index.json"]:
        if stale.exists():
            stale.unlink()
    weights = {}
    for file, group in zip(files, groups):
        head, _ = _header_bytes(group, {"format": "pt"})
        with open(out_dir / file, "wb") as f:
            f.write(head)
            for name, _, shape, _ in group:
                rng = random.Random(f"{seed}:{name}")
                lo, hi = value_range(name, shape)
                stored = [] if return_weights else None
                left = numel(shape)
                while left:
                    n = min(left, CHUNK)
                    data = encode(_generate(rng, n, lo, hi), st_dtype)
                    f.write(data)
                    if return_weights:
                        stored.extend(decode(data, st_dtype))
                    left -= n
                if return_weights:
                    weights[name] = nest(stored, shape)
    if max(1, shards) > 1:
        index = {"metadata": {"total_size": sum(e[3] for e in entries)},
                 "weight_map": {e[0]: file for file, group in zip(files, groups) for e in group}}
        (out_dir / "model.safetensors.index.json").write_text(json.dumps(index, indent=2) + "\n")
    (out_dir / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    return config, weights


def parse_override(text):
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"--set wants key=value, got '{text}'")
    key, value = text.split("=", 1)
    try:
        value = json.loads(value)
    except json.JSONDecodeError:
        pass
    return key, value


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__,
        epilog="Example: %(prog)s --family denseretnet --out /tmp/drn --dtype bf16 --shards 2",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--family", required=True, choices=FAMILIES,
                        help="model family (MODELS.md layout)")
    parser.add_argument("--out", required=True, help="checkpoint directory to write "
                        "(created; earlier model*.safetensors files in it are removed)")
    parser.add_argument("--dtype", default="f32", choices=sorted(DTYPES),
                        help="safetensors dtype of every tensor (default f32)")
    parser.add_argument("--tied", action="store_true",
                        help="tie_word_embeddings true and no lm_head.weight (default untied)")
    parser.add_argument("--shards", type=int, default=1,
                        help="N > 1 writes model-0000i-of-0000N.safetensors and "
                             "model.safetensors.index.json (default 1)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        type=parse_override, metavar="KEY=VALUE",
                        help="override a config.json field (repeatable), e.g. hidden_size=768")
    args = parser.parse_args(argv)
    start = time.time()
    try:
        config, _ = write_checkpoint(args.family, args.out, args.dtype, args.tied, args.shards,
                                     args.seed, dict(args.overrides), return_weights=False)
        shapes = tensor_shapes(args.family, config)
    except (ValueError, KeyError, TypeError) as e:
        print(f"write_random_checkpoint: error: {e}", file=sys.stderr)
        return 1
    params = sum(numel(s) for _, s in shapes)
    print(f"wrote {args.out}: {args.family}, {len(shapes)} tensors, {params} parameters, "
          f"{args.dtype}, {max(1, args.shards)} file(s), {time.time() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
