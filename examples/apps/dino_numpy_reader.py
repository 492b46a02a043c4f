#!/usr/bin/env python3
"""Reads every dinoclip result into numpy from an appsink, without C code.

DINO patch tokens and CLS attention (dinofeatures), the class map (dinoseg)
and the labels (clipzeroshot) come through GObject introspection of the meta
library (GstDinoclip-1.0). Installed, that just works; from a build tree:

    GI_TYPELIB_PATH=build/gst/meta LD_LIBRARY_PATH=build/gst/meta \\
    GST_PLUGIN_PATH=build/gst python3 examples/apps/dino_numpy_reader.py \\
        --model dino_deitsmall8_pretrain.pth --annotation 00000.png \\
        --source "filesrc location=clip.mp4 ! decodebin"

Prints one line per frame; --save DIR writes DIR/frame_NNNNN.npz (tokens,
cls_attention, class_map); --json FILE also publishes the JSON lines of
dinometapublish (include-attention) to FILE.
"""
import argparse
import os
import sys

import numpy as np
import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstDinoclip", "1.0")
from gi.repository import Gst, GstDinoclip  # noqa: E402


def features_arrays(buffer):
    """(tokens [1 + h*w, dim], cls_attention [heads, h*w] or None), or None without features."""
    meta = GstDinoclip.buffer_get_dinoclip_features_meta(buffer)
    if meta is None:
        return None
    features = meta.features
    shape = features.get_shape()
    patches = shape.grid_height * shape.grid_width
    # GBytes over the meta's own floats: frombuffer reads them without a copy in C.
    tokens = np.frombuffer(features.get_tokens_bytes().get_data(), np.float32)
    tokens = tokens.reshape(1 + patches, shape.dim)
    attention = None
    attention_bytes = features.get_cls_attention_bytes()
    if attention_bytes is not None:
        attention = np.frombuffer(attention_bytes.get_data(), np.float32).reshape(shape.n_heads, patches)
    return tokens, attention, (shape.grid_height, shape.grid_width)


def class_map_array(buffer):
    """The class map [height, width] (uint8 class ids), or None."""
    meta = GstDinoclip.buffer_get_dinoclip_segmentation_meta(buffer)
    if meta is None:
        return None
    seg = meta.segmentation
    data = seg.get_class_map_bytes().get_data()
    return np.frombuffer(data, np.uint8).reshape(seg.get_height(), seg.get_width())


def best_label(buffer):
    meta = GstDinoclip.buffer_get_dinoclip_classification_meta(buffer)
    if meta is None:
        return None
    ok, index, label, score = meta.classification.get_ranked(0)
    return (label, score) if ok else None


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="DINO checkpoint for dinofeatures")
    parser.add_argument("--annotation", help="first frame's mask (palette PNG): adds dinoseg")
    parser.add_argument("--source", default="videotestsrc num-buffers=10", help="gst-launch source description")
    parser.add_argument("--input-size", default="native", help="dinofeatures input-size")
    parser.add_argument("--save", help="folder for one .npz per frame")
    parser.add_argument("--json", help="also write dinometapublish JSON lines (with attention) to this file")
    args = parser.parse_args()

    Gst.init(None)
    description = (f"{args.source} ! videoconvert ! video/x-raw,format=RGB ! "
                   f'dinofeatures model="{args.model}" input-size={args.input_size} ! ')
    if args.annotation:
        description += f'dinoseg annotation="{args.annotation}" ! '
    if args.json:
        description += f'dinometapublish file-path="{args.json}" include-attention=true ! '
    description += "appsink name=sink sync=false"
    pipeline = Gst.parse_launch(description)
    sink = pipeline.get_by_name("sink")
    if args.save:
        os.makedirs(args.save, exist_ok=True)

    pipeline.set_state(Gst.State.PLAYING)
    frame = 0
    while True:
        sample = sink.emit("pull-sample")
        if sample is None:
            break
        buffer = sample.get_buffer()
        line = [f"frame {frame}"]
        arrays = {}
        features = features_arrays(buffer)
        if features is not None:
            tokens, attention, grid = features
            arrays["tokens"] = tokens
            line.append(f"grid {grid[0]}x{grid[1]} tokens {tokens.shape} cls-norm {np.linalg.norm(tokens[0]):.4f}")
            if attention is not None:
                arrays["cls_attention"] = attention
                line.append(f"attention {attention.shape} row-sums {attention.sum(axis=1).min():.4f}..{attention.sum(axis=1).max():.4f}")
        class_map = class_map_array(buffer)
        if class_map is not None:
            arrays["class_map"] = class_map
            areas = np.bincount(class_map.ravel())
            line.append(f"mask {class_map.shape} areas " + ",".join(f"{c}:{a}" for c, a in enumerate(areas) if a))
        label = best_label(buffer)
        if label is not None:
            line.append(f"label {label[0]!r} {label[1]:.4f}")
        print("  ".join(line), flush=True)
        if args.save:
            np.savez(os.path.join(args.save, f"frame_{frame:05d}.npz"), **arrays)
        frame += 1

    bus = pipeline.get_bus()
    error = bus.pop_filtered(Gst.MessageType.ERROR)
    pipeline.set_state(Gst.State.NULL)
    if error is not None:
        err, debug = error.parse_error()
        print(f"error: {err.message} ({debug})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
