#!/bin/sh
# Runs examples/apps/dino_numpy_reader.py (PyGObject + the GstDinoclip-1.0
# typelib, no C code) on a 3-frame synthetic DAVIS sequence with the tiny DINO
# fixture: dinofeatures ! dinoseg ! dinometapublish ! appsink. Checks the
# numpy arrays it saved against the JSON lines of the same frames: CLS
# attention bit-exact, token grid shapes, and per-class area and box of the
# class map.
# Arguments: PYTHON SCRIPT FIXTURES_DIR DINOCLIP_CLI
set -eu
python=$1 script=$2 fixtures=$3 cli=$4
model=$fixtures/dino_tiny/dino_tiny.safetensors
skip() {
  echo "$1"
  [ "${CI:-}" = true ] && exit 1
  exit 77  # meson: skipped
}
[ -f "$model" ] || skip "missing fixture $model"
"$python" -c 'import numpy, gi; gi.require_version("GstDinoclip", "1.0"); from gi.repository import GstDinoclip' \
  2>/dev/null || skip "needs python3-numpy, python3-gi and the GstDinoclip-1.0 typelib (GI_TYPELIB_PATH=$GI_TYPELIB_PATH)"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$cli" make-sequence --out "$tmp/davis" --frames 3 --size 96x64 --objects 2 --seed 1 >/dev/null
frames=$tmp/davis/JPEGImages/480p/synthetic
"$python" "$script" --model "$model" --annotation "$tmp/davis/Annotations/480p/synthetic/00000.png" \
  --source "multifilesrc location=$frames/%05d.jpg index=0 stop-index=2 caps=image/jpeg,framerate=25/1 ! jpegdec" \
  --save "$tmp/npz" --json "$tmp/frames.jsonl"

"$python" - "$tmp/npz" "$tmp/frames.jsonl" <<'PY'
import base64, json, sys
import numpy as np
folder, json_path = sys.argv[1], sys.argv[2]
lines = [json.loads(l) for l in open(json_path)]
assert len(lines) == 3, f"expected 3 JSON lines, got {len(lines)}"
for i, line in enumerate(lines):
    saved = np.load(f"{folder}/frame_{i:05d}.npz")
    f = line["features"]
    patches = f["grid_height"] * f["grid_width"]
    assert saved["tokens"].shape == (1 + patches, f["dim"]), (i, saved["tokens"].shape)
    attention = np.frombuffer(base64.b64decode(f["cls_attention"]["base64"]), "<f4").reshape(f["n_heads"], patches)
    assert np.array_equal(saved["cls_attention"], attention), f"frame {i}: CLS attention differs from the JSON"
    class_map = saved["class_map"]
    assert class_map.shape == (64, 96), class_map.shape
    classes = line["segmentation"]["classes"]
    present = sorted(int(c) for c in np.unique(class_map) if c != 0)
    assert [c["class_id"] for c in classes] == present, (i, classes, present)
    for c in classes:
        ys, xs = np.nonzero(class_map == c["class_id"])
        assert c["area"] == len(xs), (i, c, len(xs))
        box = {"x": int(xs.min()), "y": int(ys.min()), "width": int(xs.max() - xs.min() + 1),
               "height": int(ys.max() - ys.min() + 1)}
        assert c["bbox"] == box, (i, c["bbox"], box)
print("numpy arrays match the JSON lines on 3 frames")
PY
