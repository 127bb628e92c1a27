"""Writes the fuzzers' seed corpus (small valid files) into fuzz/corpus/. Standard library only."""
import gzip
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def safetensors(tensors, metadata=None, dtype="F32"):
    fmt, size = {"F32": ("<f", 4), "F64": ("<d", 8), "F16": ("<e", 2)}.get(dtype, (None, 2))
    header, data = {}, b""
    if metadata:
        header["__metadata__"] = metadata
    for name, (shape, values) in tensors.items():
        if dtype == "BF16":
            raw = b"".join(struct.pack("<f", v)[2:] for v in values)
        else:
            raw = b"".join(struct.pack(fmt, v) for v in values)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def values(n, k=0.1):
    return [((i * 7) % 11 - 5) * k for i in range(n)]


mlp = {"0.weight": ([3, 4], values(12)), "0.bias": ([3], values(3)),
       "2.weight": ([2, 3], values(6)), "2.bias": ([2], values(2))}
cnn = {"0.weight": ([2, 2, 2, 2], values(16)), "0.bias": ([2], values(2)),
       "2.weight": ([2, 8], values(16)), "2.bias": ([2], values(2))}
out = os.path.join(HERE, "corpus", "safetensors")
os.makedirs(out, exist_ok=True)
seeds = {
    "mlp_f32": safetensors(mlp, {"ctnn.format_version": "1"}),
    "mlp_f64": safetensors(mlp, dtype="F64"),
    "mlp_f16": safetensors(mlp, dtype="F16"),
    "mlp_bf16": safetensors(mlp, dtype="BF16"),
    "cnn_f32": safetensors(cnn),
}
for name, b in seeds.items():
    with open(os.path.join(out, name + ".safetensors"), "wb") as f:
        f.write(b)


def idx(dims, payload):
    return struct.pack(">I", 0x800 | len(dims)) + b"".join(struct.pack(">I", d) for d in dims) + bytes(payload)


out = os.path.join(HERE, "corpus", "idx")
os.makedirs(out, exist_ok=True)
labels = idx([5], [1, 2, 3, 4, 9])
images = idx([2, 3, 3], range(18))
seeds = {
    "labels.idx": labels, "images.idx": images,
    "labels.idx.gz": gzip.compress(labels, mtime=0), "images.idx.gz": gzip.compress(images, mtime=0),
    "two_members.idx.gz": gzip.compress(images[:10], mtime=0) + gzip.compress(images[10:], mtime=0),
}
for name, b in seeds.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(b)
