#!/usr/bin/env python3
"""Converts the UCI 8x8 handwritten digits (digits.csv.gz: 1,797 rows of 64
pixel counts in 0..16 followed by the label) into libpol's dataset format
(spec/task.md): a safetensors file with train_x F32 (N, 64), train_y I32 (N),
test_x, test_y. Pixels are scaled by 1/16 (exact in binary32). Every sixth
sample (index % 6 == 5) goes to the test split, the rest to training.

Standard library only:  python3 make_digits.py digits.csv.gz digits.safetensors
"""
import csv
import gzip
import json
import struct
import sys


def main(src, dst):
    with gzip.open(src, "rt") as f:
        rows = [[int(v) for v in r] for r in csv.reader(f) if r]
    assert len(rows) == 1797 and all(len(r) == 65 for r in rows), "unexpected digits file"
    split = {"train": [], "test": []}
    for i, r in enumerate(rows):
        split["test" if i % 6 == 5 else "train"].append(r)
    tensors = {}
    for name, rs in split.items():
        x = b"".join(struct.pack("<64f", *[p / 16.0 for p in r[:64]]) for r in rs)
        y = struct.pack("<%di" % len(rs), *[r[64] for r in rs])
        tensors[name + "_x"] = ("F32", [len(rs), 64], x)
        tensors[name + "_y"] = ("I32", [len(rs)], y)
    header, data, off = {}, b"", 0
    for name in sorted(tensors):
        dt, shape, raw = tensors[name]
        header[name] = {"dtype": dt, "shape": shape, "data_offsets": [off, off + len(raw)]}
        data += raw
        off += len(raw)
    header["__metadata__"] = {
        "source": "UCI Optical Recognition of Handwritten Digits (test set as bundled by scikit-learn), CC BY 4.0",
        "split": "index % 6 == 5 -> test",
    }
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(dst, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + data)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
