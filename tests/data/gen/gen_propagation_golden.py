#!/usr/bin/python3
"""Golden for lib/tasks/propagation (tests/unit/tasks/test_propagation.cpp).

Run with the system Python (torch 1.13):
    /usr/bin/python3 tests/data/gen/gen_propagation_golden.py
Writes to tests/data/tasks/ (about 20 KB in all):
  propagation_features.npy  [5, 30, 16] float32: patch features of 5 frames
                            on a 5 x 6 grid (frame 0 is the annotated one)
  propagation_reference.npy [30, 3] float32: frame 0's one-hot labels
  propagation_labels.npy    [4, 30, 3] float32: propagated labels of frames 1..4
  propagation_masks.npy     [4, 40, 48] uint8: their masks at patch size 8

The expected values follow DINO's eval_video_segmentation.py in its own dense
form (written here from the paper/code's description, not copied): affinity
exp(cos / 0.1) of every current patch to every patch of the reference and of
the last n_last_frames frames, zeroed outside a (2r+1)^2 neighbourhood, every
value below a query's k-th largest zeroed, each query's column normalised,
labels = affinity-weighted sum; the queue holds the propagated (not
upsampled) labels; masks: bilinear x8 (align_corners=False), per-class
min-max rescaling (norm_mask), argmax. Settings: n_last_frames 2 (so the queue
overflows at frame 4), topk 5, radius 2, temperature 0.1.
"""
import os

import numpy as np
import torch
import torch.nn.functional as F

assert torch.__version__.startswith("1.13"), torch.__version__

H, W, D, C, FRAMES, PATCH = 5, 6, 16, 3, 5, 8
N_LAST, TOPK, RADIUS, TEMPERATURE = 2, 5, 2, 0.1
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tasks")


def neighbourhood(h, w, r):
    ys, xs = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    ys, xs = ys.reshape(-1), xs.reshape(-1)
    near = ((ys[:, None] - ys[None, :]).abs() <= r) & ((xs[:, None] - xs[None, :]).abs() <= r)
    return near.float()  # [query, key], symmetric


def propagate(target, context_feats, context_labels):
    """target [N, D]; context_feats list of [N, D]; context_labels list of [N, C] -> [N, C]."""
    q = F.normalize(target, dim=1)
    keys = F.normalize(torch.stack(context_feats), dim=2)             # [K, N, D]
    aff = torch.exp(torch.einsum("qd,knd->knq", q, keys) / TEMPERATURE)  # [K, key, query]
    aff = aff * neighbourhood(H, W, RADIUS)[None]                       # symmetric mask
    aff = aff.reshape(-1, q.shape[0])                                   # [K*N keys, queries]
    kth = torch.topk(aff, k=TOPK, dim=0).values.min(dim=0).values
    aff[aff < kth] = 0
    aff = aff / aff.sum(dim=0, keepdim=True)
    labels = torch.cat(context_labels)                                  # [K*N, C]
    return aff.T @ labels


def to_mask(labels):
    maps = labels.T.reshape(1, C, H, W)
    up = F.interpolate(maps, scale_factor=PATCH, mode="bilinear", align_corners=False)[0]
    for c in range(C):
        m = up[c]
        if m.max() > 0:
            m = m - m.min()
            up[c] = m / m.max()
    return up.argmax(0).to(torch.uint8)


def main():
    g = torch.Generator().manual_seed(5)
    # Frame 0: random patch features; later frames drift and shift one column.
    base = torch.randn(H, W, D, generator=g)
    frames = []
    for t in range(FRAMES):
        shifted = torch.roll(base, shifts=t // 2, dims=1)
        frames.append((shifted + 0.3 * torch.randn(H, W, D, generator=g)).reshape(-1, D))
    ids = torch.zeros(H, W, dtype=torch.long)
    ids[1:3, 1:3] = 1
    ids[3:5, 3:6] = 2
    reference = F.one_hot(ids.reshape(-1), C).float()

    queue, labels_out, masks_out = [], [], []
    for t in range(1, FRAMES):
        feats = [frames[0]] + [f for f, _ in queue]
        segs = [reference] + [s for _, s in queue]
        labels = propagate(frames[t], feats, segs)
        if len(queue) == N_LAST:
            queue.pop(0)
        queue.append((frames[t], labels))
        labels_out.append(labels)
        masks_out.append(to_mask(labels))

    os.makedirs(OUT, exist_ok=True)
    np.save(os.path.join(OUT, "propagation_features.npy"), torch.stack(frames).numpy().astype(np.float32))
    np.save(os.path.join(OUT, "propagation_reference.npy"), reference.numpy().astype(np.float32))
    np.save(os.path.join(OUT, "propagation_labels.npy"), torch.stack(labels_out).numpy().astype(np.float32))
    np.save(os.path.join(OUT, "propagation_masks.npy"), torch.stack(masks_out).numpy())


if __name__ == "__main__":
    main()
