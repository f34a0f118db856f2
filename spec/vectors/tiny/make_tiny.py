#!/usr/bin/env python3
"""Writes tiny.safetensors, the dataset of the golden-vector tasks: 96 training
and 24 test samples of 6 features in 3 classes. Every value is a multiple of
1/8, so the file is the same whichever machine writes it.

    python3 make_tiny.py tiny.safetensors
"""
import json
import struct
import sys


def sample(i):
    y = i % 3
    x = [(((i * 7 + j * 13) % 17) / 8.0 - 1.0) + (1.0 if j % 3 == y else 0.0) for j in range(6)]
    return x, y


def main(dst):
    tensors = {}
    for name, lo, hi in (("train", 0, 96), ("test", 96, 120)):
        xs, ys = zip(*(sample(i) for i in range(lo, hi)))
        tensors[name + "_x"] = ("F32", [hi - lo, 6], b"".join(struct.pack("<6f", *x) for x in xs))
        tensors[name + "_y"] = ("I32", [hi - lo], struct.pack("<%di" % (hi - lo), *ys))
    header, data = {}, b""
    for name in sorted(tensors):
        dt, shape, raw = tensors[name]
        header[name] = {"dtype": dt, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(dst, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + data)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
