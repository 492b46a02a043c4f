#!/usr/bin/env python3
"""Writes the seed corpora in tests/fuzz/corpus/<target>/ (committed; re-run
after changing this file). Standard library only: seeds are copies of the
small test data in tests/data/, files built here by hand (safetensors, npy,
zip, video index variants), and strings.

Usage: tests/fuzz/make_seeds.py [FIXTURES_DIR]   (default ../shared/fixtures)
Inputs that crashed a target live next to the seeds as crash-<sha1>; this
script never removes them.
"""
import glob
import io
import json
import os
import shutil
import struct
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
DATA = os.path.join(ROOT, "tests", "data")
FIXTURES = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "..", "shared", "fixtures")
CORPUS = os.path.join(HERE, "corpus")
MAX_SEED = 8192  # bytes: corpora stay small enough to commit


def target_dir(target):
    path = os.path.join(CORPUS, target)
    os.makedirs(path, exist_ok=True)
    for old in glob.glob(os.path.join(path, "seed-*")):
        os.remove(old)
    return path


def put(target, name, data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    assert len(data) <= MAX_SEED, (target, name, len(data))
    with open(os.path.join(CORPUS, target, "seed-" + name), "wb") as f:
        f.write(data)


def copy(target, pattern):
    for path in sorted(glob.glob(pattern)):
        if os.path.getsize(path) <= MAX_SEED:
            with open(path, "rb") as f:
                put(target, os.path.basename(path), f.read())


def npy(descr, shape, payload, fortran=False, version=1):
    header = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (
        descr, "True" if fortran else "False", "(%s)" % "".join("%d," % s for s in shape) if shape else "()")
    prefix = 10 if version == 1 else 12
    header += " " * ((64 - (prefix + len(header) + 1) % 64) % 64) + "\n"
    size = struct.pack("<H", len(header)) if version == 1 else struct.pack("<I", len(header))
    return b"\x93NUMPY" + bytes([version, 0]) + size + header.encode("latin1") + payload


def safetensors(header, payload):
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + payload


def unit_rows(rows, dim):
    value = 1.0 / dim ** 0.5
    return struct.pack("<%df" % (rows * dim), *([value] * (rows * dim)))


def video_index_seed(rows, dim, videos=1, embeddings=None):
    manifest = {
        "format": "dinoclip-video-index", "version": 1,
        "model": {"name": "CLIP tiny", "weights": "clip.pth", "embed_dim": dim, "fingerprint": [0.5] * 4},
        "embeddings": "embeddings-1.npy", "rows": rows,
        "videos": [{"path": "v%d.mp4" % i, "sampling": "every 1s"} for i in range(videos)],
        "frames": [[i % videos, i * 1000000000, i * 1000000000, i * 25] for i in range(rows)],
    }
    body = embeddings if embeddings is not None else npy("<f4", (rows, dim), unit_rows(rows, dim))
    return json.dumps(manifest, indent=1).encode() + b"\n" + body


def main():
    # Checkpoints: every torch.save / safetensors test file, plus hand-made safetensors.
    target_dir("checkpoint")
    copy("checkpoint", os.path.join(DATA, "io", "*"))
    f32 = struct.pack("<4f", 1, 2, 3, 4)
    st_basic = safetensors({"__metadata__": {"format": "pt", "num_heads": "3"},
                            "w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}}, f32)
    put("checkpoint", "basic.safetensors", st_basic)

    target_dir("safetensors")
    copy("safetensors", os.path.join(DATA, "io", "*.safetensors"))
    put("safetensors", "basic.safetensors", st_basic)
    put("safetensors", "dtypes.safetensors", safetensors({
        "a": {"dtype": "F16", "shape": [2], "data_offsets": [0, 4]},
        "b": {"dtype": "BF16", "shape": [1, 2], "data_offsets": [4, 8]},
        "c": {"dtype": "I64", "shape": [1], "data_offsets": [8, 16]},
        "d": {"dtype": "BOOL", "shape": [], "data_offsets": [16, 17]},
        "e": {"dtype": "U8", "shape": [0, 3], "data_offsets": [17, 17]}}, bytes(range(17))))
    put("safetensors", "empty.safetensors", safetensors({}, b""))

    # Pickles: the data.pkl of every torch.save zip, and whole legacy files.
    target_dir("pickle")
    target_dir("zip")
    for path in sorted(glob.glob(os.path.join(DATA, "io", "*"))):
        with open(path, "rb") as f:
            data = f.read()
        name = os.path.basename(path)
        if data.startswith(b"PK"):
            put("zip", name, data)
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                for entry in z.namelist():
                    if entry.endswith(".pkl"):
                        put("pickle", name + "." + entry.replace("/", "_"), z.read(entry))
        elif data.startswith(b"\x80"):
            put("pickle", name, data)
    # A TorchScript-shaped archive (code/ and constants.pkl records) and a deflated zip.
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        z.writestr("model/data.pkl", b"\x80\x02}q\x00.")
        z.writestr("model/constants.pkl", b"\x80\x02).")
        z.writestr("model/code/__torch__/model.py", b"class Model(Module):\n  pass\n")
        z.writestr("model/version", b"3\n")
    put("zip", "torchscript_shape.pt", buf.getvalue())
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("archive/data.pkl", b"\x80\x02}q\x00." * 20)
        z.writestr("archive/data/0", f32 * 8)
    put("zip", "deflated.zip", buf.getvalue())

    # npy: the test data's arrays and every dtype / order / version by hand.
    target_dir("npy")
    copy("npy", os.path.join(DATA, "vision", "hash_image_5x4_seed7.npy"))
    copy("npy", os.path.join(DATA, "vision", "label_*.npy"))
    copy("npy", os.path.join(DATA, "tasks", "propagation_reference.npy"))
    for descr, size in [("<f4", 4), ("<f8", 8), ("<f2", 2), ("|u1", 1), ("|i1", 1), ("<i2", 2), ("<i4", 4),
                        ("<i8", 8), ("|b1", 1)]:
        put("npy", "dtype_%s.npy" % descr[1:], npy(descr, (2, 3), bytes(range(6 * size))))
    put("npy", "fortran.npy", npy("<f4", (2, 3), bytes(24), fortran=True))
    put("npy", "v2.npy", npy("<i4", (3,), bytes(12), version=2))
    put("npy", "scalar.npy", npy("<f8", (), bytes(8)))
    put("npy", "empty.npy", npy("<f4", (0, 4), b""))

    # Pictures and masks: every PNG colour type / depth and JPEG kind of the tests.
    target_dir("image")
    copy("image", os.path.join(DATA, "vision", "*.png"))
    copy("image", os.path.join(DATA, "vision", "*.jpg"))
    copy("image", os.path.join(FIXTURES, "clip_tiny", "img2_48x80.png"))

    # CLIP text: the golden tokenizer strings.
    target_dir("tokenizer")
    golden = os.path.join(FIXTURES, "tokenizer", "clip_tokenize_golden.jsonl")
    with open(golden, encoding="utf-8") as f:
        for i, line in enumerate(f):
            put("tokenizer", "golden%02d" % i, json.loads(line)["text"])
    for i, text in enumerate(["<|startoftext|>a photo<|endoftext|>", "&amp;&lt;&#x1F600;&nbsp;", "word " * 80,
                              "\u00c3\u00a9t\u00c3\u00a9", "\t\n\u3000 \u200b"]):
        put("tokenizer", "extra%02d" % i, text)

    # User strings: first byte picks the parser (0 frame pattern, 1 input size, 2 labels, 3 templates).
    target_dir("user_strings")
    strings = {
        0: ["gt/%05d.png", "%d.jpg", "frames/%%d/%3d.png", "%s", "a%d%d", "%ld", "%", "no_conversion.png"],
        1: ["480x480", "224x224", "short:448", "native", "0x0", "7x7", "abc", "16384x16384", "short:0"],
        2: ["a person;a cat", " a ; b ", ";;;", "", "a;;b"],
        3: ["a photo of {}.|a drawing of {}.", "{}", "no placeholder", "|"],
    }
    for kind, values in strings.items():
        for i, value in enumerate(values):
            put("user_strings", "%d_%02d" % (kind, i), bytes([kind]) + value.encode())

    # Video index: manifest + embeddings (see fuzz_video_index.cpp).
    target_dir("video_index")
    put("video_index", "three_rows", video_index_seed(3, 8, videos=2))
    put("video_index", "empty", video_index_seed(0, 8))
    put("video_index", "one_row", video_index_seed(1, 4))
    put("video_index", "f64_rows", video_index_seed(2, 4, embeddings=npy("<f8", (2, 4), bytes(64))))


if __name__ == "__main__":
    main()
