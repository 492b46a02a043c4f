#!/usr/bin/python3
"""Goldens for lib/vision/color_convert: GStreamer videoconvert YUV -> RGB.

Needs gst-launch-1.0 (GStreamer 1.22 with rawvideoparse and videoconvert) and numpy:
    /usr/bin/python3 tests/data/gen/gen_color_goldens.py
Writes tests/data/vision/yuv_*.npy:
  yuv_i420_{y,u,v}.npy       a 33x17 I420 frame of noise (odd size on purpose)
  yuv_i420_rgb_<m>.npy       videoconvert's RGB for it, <m> = bt601_limited, ...
  yuv_nv12_{y,uv}.npy        a 32x16 NV12 frame: luma noise, chroma constant in 8x8 blocks
  yuv_nv12_rgb_<m>.npy       videoconvert's RGB for it (no NV12 fast path: chroma is
                             interpolated, so only the block interiors are comparable)
"""
import os
import subprocess
import tempfile

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "vision")

# colorimetry "range:matrix:transfer:primaries": range 1 = 0-255, 2 = 16-235; matrix 3 = BT.709, 4 = BT.601.
MATRICES = {
    "bt601_limited": "2:4:0:0",
    "bt601_full": "1:4:0:0",
    "bt709_limited": "2:3:0:0",
    "bt709_full": "1:3:0:0",
}


def round4(n):
    return (n + 3) // 4 * 4


def videoconvert(fmt, width, height, planes, strides, colorimetry):
    """planes: list of 2-D uint8 arrays already padded to `strides`; returns [h, w, 3] RGB."""
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = os.path.join(tmp, "in.yuv"), os.path.join(tmp, "out.rgb")
        data = b"".join(p.tobytes() for p in planes)
        offsets, at = [], 0
        for p in planes:
            offsets.append(at)
            at += p.nbytes
        with open(src, "wb") as f:
            f.write(data)
        cmd = [
            "gst-launch-1.0", "-q", "filesrc", "location=" + src, "!", "rawvideoparse", "format=" + fmt,
            "width=%d" % width, "height=%d" % height, "framerate=1/1", "colorimetry=" + colorimetry,
            "plane-strides=<%s>" % ",".join(map(str, strides)), "plane-offsets=<%s>" % ",".join(map(str, offsets)),
            "frame-size=%d" % len(data), "!", "videoconvert", "!", "video/x-raw,format=RGB", "!", "filesink",
            "location=" + dst,
        ]
        subprocess.run(cmd, check=True)
        raw = np.fromfile(dst, np.uint8)
    row = round4(width * 3)  # GStreamer's default RGB stride
    return raw.reshape(height, row)[:, : width * 3].reshape(height, width, 3)


def padded(plane, stride):
    out = np.zeros((plane.shape[0], stride), np.uint8)
    out[:, : plane.shape[1]] = plane
    return out


def i420_case(rng):
    w, h = 33, 17
    cw, ch = (w + 1) // 2, (h + 1) // 2
    y = rng.integers(0, 256, (h, w), dtype=np.uint8)
    u = rng.integers(0, 256, (ch, cw), dtype=np.uint8)
    v = rng.integers(0, 256, (ch, cw), dtype=np.uint8)
    np.save(os.path.join(OUT, "yuv_i420_y.npy"), y)
    np.save(os.path.join(OUT, "yuv_i420_u.npy"), u)
    np.save(os.path.join(OUT, "yuv_i420_v.npy"), v)
    ys, cs = round4(w), round4(cw)
    planes = [padded(y, ys), padded(u, cs), padded(v, cs)]
    for name, colorimetry in MATRICES.items():
        rgb = videoconvert("i420", w, h, planes, [ys, cs, cs], colorimetry)
        np.save(os.path.join(OUT, "yuv_i420_rgb_%s.npy" % name), rgb)


def nv12_case(rng):
    w, h = 32, 16
    y = rng.integers(0, 256, (h, w), dtype=np.uint8)
    blocks_u = rng.integers(0, 256, (h // 8, w // 8), dtype=np.uint8)
    blocks_v = rng.integers(0, 256, (h // 8, w // 8), dtype=np.uint8)
    u = np.kron(blocks_u, np.ones((4, 4), np.uint8))
    v = np.kron(blocks_v, np.ones((4, 4), np.uint8))
    uv = np.stack([u, v], -1).reshape(h // 2, w)
    np.save(os.path.join(OUT, "yuv_nv12_y.npy"), y)
    np.save(os.path.join(OUT, "yuv_nv12_uv.npy"), uv)
    for name, colorimetry in MATRICES.items():
        rgb = videoconvert("nv12", w, h, [y, uv], [w, w], colorimetry)
        np.save(os.path.join(OUT, "yuv_nv12_rgb_%s.npy" % name), rgb)


def main():
    rng = np.random.default_rng(2024)
    os.makedirs(OUT, exist_ok=True)
    i420_case(rng)
    nv12_case(rng)
    version = subprocess.run(["gst-launch-1.0", "--version"], capture_output=True, text=True).stdout.split("\n")[1]
    print("wrote YUV goldens with", version)


if __name__ == "__main__":
    main()
