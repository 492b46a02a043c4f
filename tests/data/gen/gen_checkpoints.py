#!/usr/bin/python3
"""Small checkpoint files for lib/io/checkpoint (tests/unit/io/test_checkpoint.cpp).

Run with the system Python (torch 1.13):
    /usr/bin/python3 tests/data/gen/gen_checkpoints.py [--keep-legacy]
Writes to tests/data/io/ (each file a few KB):
  views.pth           torch.save zip: tensors that are views (offset/stride) of
                      one shared storage, an alias, a 0-d and an empty tensor,
                      and one tensor per integer/bool/float64 dtype
  views_legacy.pth    the same dict, _use_new_zipfile_serialization=False
  views_deflate.pth   views.pth with every zip entry re-compressed (deflate)
  half.pth            float16 and bfloat16 tensors (zip)
  training.pth        a DINO-style training checkpoint: nested teacher/student
                      OrderedDicts, an nn.Parameter, optimizer state with int
                      keys, epoch, argparse.Namespace args (zip)
  training_legacy.pth the same, legacy format
  dtypes.safetensors  one tensor per safetensors dtype the reader supports
Damaged or wrong files the loader must reject with a clear error:
  tensor_only.pth     torch.save(tensor): not a dict
  missing_storage.pth views.pth without the record of one storage
  short_storage.pth   views.pth with one storage 8 bytes short (valid CRC)
  qint_storage.pth    views.pth whose storages claim torch.QInt8Storage
  plain.zip           a zip archive that is not a torch.save file
All values follow formulas that the C++ test recomputes (no golden arrays):
  base = arange(60, float32).reshape(6, 10) / 4   (exact in float32)
Reruns give identical bytes except in the *_legacy.pth files, whose storage
keys are CPython object addresses (str(storage._cdata)); leave those alone
unless their content changes.
"""
import argparse
import collections
import io
import json
import os
import struct
import zipfile

import torch

assert torch.__version__.startswith("1.13"), torch.__version__

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "io")


def base_grid():
    return torch.arange(60, dtype=torch.float32).reshape(6, 10) / 4


def views_dict():
    base = base_grid()
    d = collections.OrderedDict()
    d["base"] = base
    d["row2"] = base[2]                   # offset 20, stride (1,)
    d["col3"] = base[:, 3]                # offset 3, stride (10,)
    d["block"] = base[1:4, 2:7]           # offset 12, stride (10, 1)
    d["transposed"] = base.t()            # stride (1, 10)
    d["alias"] = base                     # same object twice (pickle memo)
    d["scalar"] = torch.tensor(3.5)       # 0-d
    d["empty"] = torch.zeros(0, 4)        # no elements
    d["int64"] = torch.arange(-3, 3, dtype=torch.int64) * 1000000000000
    d["int32"] = torch.arange(-3, 3, dtype=torch.int32) * 100000
    d["uint8"] = torch.tensor([0, 1, 127, 128, 255], dtype=torch.uint8)
    d["bool"] = torch.tensor([True, False, True])
    d["float64"] = torch.arange(4, dtype=torch.float64) / 3
    return d


def half_dict():
    values = torch.arange(12, dtype=torch.float32).reshape(3, 4) / 8 - 0.5  # exact in fp16/bf16
    d = collections.OrderedDict()
    d["w16"] = values.half()
    d["b16"] = values.bfloat16()
    d["w16_t"] = values.half().t()  # a strided fp16 view
    return d


def training_dict():
    base = base_grid()
    teacher = collections.OrderedDict()
    teacher["module.backbone.cls_token"] = base[:1].reshape(1, 1, 10).clone()
    teacher["module.backbone.blocks.0.norm1.weight"] = base[1].clone()
    teacher["module.head.last_layer.weight_g"] = base[2, :1].clone()
    student = collections.OrderedDict()
    student["module.backbone.cls_token"] = -base[:1].reshape(1, 1, 10)
    student["module.backbone.blocks.0.norm1.weight"] = torch.nn.Parameter(-base[1].clone())
    optimizer = {
        "state": {0: {"step": 3, "exp_avg": base[3].clone()}},
        "param_groups": [{"lr": 0.1, "params": [0], "betas": (0.9, 0.999)}],
    }
    return {
        "teacher": teacher,
        "student": student,
        "optimizer": optimizer,
        "epoch": 3,
        "args": argparse.Namespace(lr=0.1, arch="vit_small", data_path=b"/bytes", dims=[1, 2]),
        "dino_loss": {"center": torch.zeros(1, 4)},
        "fp16_scaler": None,
    }


def save_zip(obj, name):
    torch.save(obj, os.path.join(OUT, name))


def save_legacy(obj, name):
    torch.save(obj, os.path.join(OUT, name), _use_new_zipfile_serialization=False)


def write_entry(zout, name, data, compression):
    """A zip entry with a fixed timestamp, so reruns write identical bytes."""
    info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
    info.compress_type = compression
    zout.writestr(info, data)


def recompress(src, dst):
    """Same entries, deflated (torch.save only writes stored entries)."""
    with zipfile.ZipFile(os.path.join(OUT, src)) as zin, \
            zipfile.ZipFile(os.path.join(OUT, dst), "w") as zout:
        for info in zin.infolist():
            write_entry(zout, info.filename, zin.read(info.filename), zipfile.ZIP_DEFLATED)


SAFETENSORS_DTYPES = [
    ("F32", torch.float32), ("F16", torch.float16), ("BF16", torch.bfloat16), ("F64", torch.float64),
    ("I64", torch.int64), ("I32", torch.int32), ("U8", torch.uint8), ("BOOL", torch.bool),
]


def save_safetensors_by_hand(tensors, name):
    """Written by hand (no safetensors package here); data deliberately NOT
    8-byte aligned (header not padded), so the reader must not assume alignment."""
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for key, t in tensors.items():
        code = dict((dt, c) for c, dt in SAFETENSORS_DTYPES)[t.dtype]
        raw = t.contiguous().view(torch.uint8).numpy().tobytes() if t.dtype == torch.bfloat16 \
            else t.contiguous().numpy().tobytes()
        header[key] = {"dtype": code, "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode()
    if (8 + len(text)) % 8 == 0:
        text += b" "  # keep the data section misaligned on purpose
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def safetensors_dict():
    values = torch.arange(6, dtype=torch.float32).reshape(2, 3) / 8 - 0.25
    return collections.OrderedDict([
        ("f32", values), ("f16", values.half()), ("bf16", values.bfloat16()), ("f64", values.double()),
        ("i64", torch.arange(-3, 3, dtype=torch.int64) * 1000000000000),
        ("i32", torch.arange(-3, 3, dtype=torch.int32) * 100000),
        ("u8", torch.tensor([0, 1, 127, 128, 255], dtype=torch.uint8)),
        ("bool", torch.tensor([True, False, True])),
        ("scalar", torch.tensor(2.5)),
        ("empty", torch.zeros(0, 3)),
    ])


def rewrite_zip(src, dst, edit):
    """Copies a zip entry by entry; edit(name, data) returns new data or None to drop it."""
    with zipfile.ZipFile(os.path.join(OUT, src)) as zin, \
            zipfile.ZipFile(os.path.join(OUT, dst), "w") as zout:
        for info in zin.infolist():
            data = edit(info.filename, zin.read(info.filename))
            if data is not None:
                write_entry(zout, info.filename, data, zipfile.ZIP_STORED)


def damaged_files():
    rewrite_zip("views.pth", "missing_storage.pth", lambda n, d: None if n == "views/data/0" else d)
    rewrite_zip("views.pth", "short_storage.pth", lambda n, d: d[:-8] if n == "views/data/0" else d)
    rewrite_zip("views.pth", "qint_storage.pth",
                lambda n, d: d.replace(b"torch\nFloatStorage\n", b"torch\nQInt8Storage\n") if n.endswith("data.pkl") else d)
    with zipfile.ZipFile(os.path.join(OUT, "plain.zip"), "w") as z:
        write_entry(z, "readme.txt", "not a checkpoint\n", zipfile.ZIP_STORED)


def check_roundtrip(name, expected):
    got = torch.load(os.path.join(OUT, name))
    for key, value in expected.items():
        assert torch.equal(got[key], value), (name, key)


def main(legacy=True):
    os.makedirs(OUT, exist_ok=True)
    save_zip(views_dict(), "views.pth")
    if legacy:
        save_legacy(views_dict(), "views_legacy.pth")
        save_legacy(training_dict(), "training_legacy.pth")
    recompress("views.pth", "views_deflate.pth")
    save_zip(half_dict(), "half.pth")
    save_zip(training_dict(), "training.pth")
    save_zip(torch.arange(3, dtype=torch.float32), "tensor_only.pth")
    save_safetensors_by_hand(safetensors_dict(), "dtypes.safetensors")
    damaged_files()
    check_roundtrip("views.pth", views_dict())
    check_roundtrip("views_legacy.pth", views_dict())
    check_roundtrip("half.pth", half_dict())
    for name in sorted(os.listdir(OUT)):
        size = os.path.getsize(os.path.join(OUT, name))
        assert size < 50_000, (name, size)
        print(f"{name}: {size} bytes")


if __name__ == "__main__":
    import sys
    main(legacy="--keep-legacy" not in sys.argv)
