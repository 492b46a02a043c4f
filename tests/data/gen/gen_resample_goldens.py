#!/usr/bin/python3
"""Goldens for lib/vision/resample: Pillow 9.4 Image.resize on RGB uint8.

Run with the system Python (Pillow 9.4.0, numpy):
    /usr/bin/python3 tests/data/gen/gen_resample_goldens.py
Writes tests/data/vision/resample_<case>.npy (and _rows/_cols for large outputs).

Inputs are not stored: every source picture is a hash of the flat pixel index,
which tests/unit/vision/test_resample.cpp recomputes (hash_image()). Large
outputs are stored as every `stride`-th row and column (plus the last), which
still exercises every horizontal and vertical weight set. Keep CASES in sync
with kCases in test_resample.cpp.
"""
import os

import numpy as np
import PIL
from PIL import Image

assert PIL.__version__ == "9.4.0", PIL.__version__

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "vision")

# name, (in_w, in_h), (out_w, out_h), filter, stride (0 = whole output)
CASES = [
    ("up_37x23_to_64x64_bilinear", (37, 23), (64, 64), Image.BILINEAR, 0),
    ("up_37x23_to_64x64_bicubic", (37, 23), (64, 64), Image.BICUBIC, 0),
    ("up_140x100_to_480x480_bilinear", (140, 100), (480, 480), Image.BILINEAR, 48),
    ("up_140x100_to_480x480_bicubic", (140, 100), (480, 480), Image.BICUBIC, 48),
    ("down_640x480_to_224x224_bilinear", (640, 480), (224, 224), Image.BILINEAR, 8),
    ("down_640x480_to_224x224_bicubic", (640, 480), (224, 224), Image.BICUBIC, 8),
    ("down_1920x1080_to_480x480_bilinear", (1920, 1080), (480, 480), Image.BILINEAR, 32),
    ("down_17x9_to_5x3_bilinear", (17, 9), (5, 3), Image.BILINEAR, 0),
    ("down_17x9_to_5x3_bicubic", (17, 9), (5, 3), Image.BICUBIC, 0),
    ("height_only_50x40_to_50x70_bicubic", (50, 40), (50, 70), Image.BICUBIC, 0),
    ("width_only_40x50_to_23x50_bilinear", (40, 50), (23, 50), Image.BILINEAR, 0),
    ("mixed_64x48_to_96x20_bicubic", (64, 48), (96, 20), Image.BICUBIC, 0),
]


def lowbias32(x):
    """Chris Wellons' lowbias32 integer hash, on uint32 arrays (wrapping)."""
    x = x.astype(np.uint32)
    x ^= x >> np.uint32(16)
    x *= np.uint32(0x7FEB352D)
    x ^= x >> np.uint32(15)
    x *= np.uint32(0x846CA68B)
    x ^= x >> np.uint32(16)
    return x


def hash_image(width, height, seed):
    """[height, width, 3] uint8: top byte of lowbias32(flat index + seed * 0x9E3779B9)."""
    index = np.arange(width * height * 3, dtype=np.uint64)
    index = (index + np.uint64(seed) * np.uint64(0x9E3779B9)) & np.uint64(0xFFFFFFFF)
    return (lowbias32(index) >> np.uint32(24)).astype(np.uint8).reshape(height, width, 3)


def sampled(n, stride):
    return sorted(set(range(0, n, stride)) | {n - 1})


def main():
    np.seterr(over="ignore")
    os.makedirs(OUT, exist_ok=True)
    np.save(os.path.join(OUT, "hash_image_5x4_seed7.npy"), hash_image(5, 4, 7))
    total = 0
    for seed, (name, (iw, ih), (ow, oh), resample, stride) in enumerate(CASES):
        src = Image.fromarray(hash_image(iw, ih, seed), "RGB")
        out = np.asarray(src.resize((ow, oh), resample))
        if stride == 0:
            files = {name: out}
        else:
            files = {name + "_rows": out[sampled(oh, stride)], name + "_cols": out[:, sampled(ow, stride)]}
        for stem, array in files.items():
            path = os.path.join(OUT, "resample_" + stem + ".npy")
            np.save(path, np.ascontiguousarray(array))
            total += os.path.getsize(path)
    print("wrote %d bytes of goldens to %s" % (total, os.path.normpath(OUT)))


if __name__ == "__main__":
    main()
