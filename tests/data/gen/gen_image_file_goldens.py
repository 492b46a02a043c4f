#!/usr/bin/python3
"""Goldens for lib/io/image_file: PNG colour types and JPEG, decoded by PIL 9.4.

Run with the system Python (Pillow 9.4.0, numpy):
    /usr/bin/python3 tests/data/gen/gen_image_file_goldens.py
Writes to tests/data/vision/:
  png_<case>.png + png_<case>_rgb.npy     PIL's Image.open(png).convert('RGB')
  label_<case>.png + label_<case>.npy     numpy.array(Image.open(png)) (class ids)
  jpeg_<case>.jpg + jpeg_<case>_rgb.npy   PIL's decode of a PIL-encoded JPEG
PNGs are written chunk by chunk here, so every colour type / bit depth /
tRNS / Adam7 combination is covered, not only the ones PIL can save.
16-bit grey is the one deliberate difference: PIL opens it as mode I and
convert('RGB') clamps (1000 -> 255); the C++ reader keeps the high byte like
PIL does for every other 16-bit type, so its golden is the high byte.
"""
import os
import struct
import zlib

import numpy as np
import PIL
from PIL import Image

assert PIL.__version__ == "9.4.0", PIL.__version__

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "vision")
W, H = 7, 5  # odd sizes: partial bytes for low bit depths, odd Adam7 passes
RNG = np.random.default_rng(77)

GREY, RGB, PALETTE, GREY_ALPHA, RGBA = 0, 2, 3, 4, 6
CHANNELS = {GREY: 1, RGB: 3, PALETTE: 1, GREY_ALPHA: 2, RGBA: 4}
ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def pack_rows(samples, depth):
    """samples [h, w*channels] ints -> filter-type-0 scanlines."""
    out = b""
    for row in samples:
        if depth == 16:
            data = b"".join(struct.pack(">H", int(v)) for v in row)
        elif depth == 8:
            data = bytes(int(v) for v in row)
        else:
            bits = "".join(format(int(v), "0%db" % depth) for v in row)
            bits += "0" * (-len(bits) % 8)
            data = bytes(int(bits[i : i + 8], 2) for i in range(0, len(bits), 8))
        out += b"\x00" + data
    return out


def png_bytes(samples, color_type, depth, palette=None, trns=None, interlaced=False):
    h, w = samples.shape[:2]
    flat = samples.reshape(h, -1)
    if interlaced:
        raw = b""
        for x0, y0, dx, dy in ADAM7:
            sub = samples[y0::dy, x0::dx]
            if sub.size:
                raw += pack_rows(sub.reshape(sub.shape[0], -1), depth)
    else:
        raw = pack_rows(flat, depth)
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, color_type, 0, 0, int(interlaced)))
    if palette is not None:
        out += chunk(b"PLTE", bytes(np.asarray(palette, np.uint8).reshape(-1)))
    if trns is not None:
        out += chunk(b"tRNS", trns)
    return out + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def save(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
    return os.path.join(OUT, name)


def rgb_case(name, color_type, depth, **kwargs):
    shape = (H, W, CHANNELS[color_type]) if CHANNELS[color_type] > 1 else (H, W)
    top = (1 << depth) if color_type != PALETTE else len(kwargs["palette"])
    samples = RNG.integers(0, top, shape)
    path = save("png_%s.png" % name, png_bytes(samples, color_type, depth, **kwargs))
    image = Image.open(path)
    if color_type == GREY and depth == 16:
        expected = np.repeat((samples >> 8).astype(np.uint8)[:, :, None], 3, axis=2)
        assert image.mode == "I"
    else:
        expected = np.asarray(image.convert("RGB"))
    np.save(os.path.join(OUT, "png_%s_rgb.npy" % name), expected)


def label_case(name, color_type, depth, palette=None):
    top = len(palette) if palette is not None else (1 << depth)
    samples = RNG.integers(0, top, (H, W))
    path = save("label_%s.png" % name, png_bytes(samples, color_type, depth, palette=palette))
    np.save(os.path.join(OUT, "label_%s.npy" % name), np.asarray(Image.open(path)))


def jpeg_case(name, mode, **kwargs):
    yy, xx = np.mgrid[0:24, 0:40]
    rgb = np.stack([xx * 6, yy * 10, (xx * yy) % 256], -1).astype(np.uint8)
    image = Image.fromarray(rgb, "RGB").convert(mode)
    path = os.path.join(OUT, "jpeg_%s.jpg" % name)
    image.save(path, quality=90, **kwargs)
    np.save(os.path.join(OUT, "jpeg_%s_rgb.npy" % name), np.asarray(Image.open(path).convert("RGB")))


def main():
    os.makedirs(OUT, exist_ok=True)
    palette = RNG.integers(0, 256, (6, 3))
    for depth in (1, 2, 4, 8, 16):
        rgb_case("grey%d" % depth, GREY, depth)
    rgb_case("grey8_trns", GREY, 8, trns=struct.pack(">H", 3))
    rgb_case("grey_alpha8", GREY_ALPHA, 8)
    rgb_case("grey_alpha16", GREY_ALPHA, 16)
    rgb_case("rgb8", RGB, 8)
    rgb_case("rgb16", RGB, 16)
    rgb_case("rgba8", RGBA, 8)
    rgb_case("rgba16", RGBA, 16)
    rgb_case("rgb8_adam7", RGB, 8, interlaced=True)
    for depth in (1, 2, 4, 8):
        rgb_case("palette%d" % depth, PALETTE, depth, palette=palette[: min(len(palette), 1 << depth)])
    rgb_case("palette8_trns", PALETTE, 8, palette=palette, trns=bytes([0, 128, 255]))
    label_case("palette8", PALETTE, 8, palette=palette)
    label_case("palette4", PALETTE, 4, palette=palette)
    label_case("grey8", GREY, 8)
    jpeg_case("rgb420", "RGB")
    jpeg_case("rgb444", "RGB", subsampling=0)
    jpeg_case("grey", "L")
    jpeg_case("progressive", "RGB", progressive=True)
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT) if f.startswith(("png_", "label_", "jpeg_")))
    print("wrote %d bytes of image-file goldens to %s" % (total, os.path.normpath(OUT)))


if __name__ == "__main__":
    main()
