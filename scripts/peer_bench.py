#!/usr/bin/env python3
"""Peer benchmark: dinoclip vs ONNX Runtime vs the reference PyTorch forward.

Builds DINO ViT-S/8 and CLIP ViT-B/32 in PyTorch with reference-equivalent
module code (written here after facebookresearch/dino's vision_transformer.py
and openai/CLIP's model.py: same parameter names, same maths), with random
weights saved as .pth for dinoclip, exports each to ONNX, checks the ONNX and
dinoclip outputs against the PyTorch forward, then times, in this one run:
ONNX Runtime (2 threads), the PyTorch forward (best of 1 and 2 threads) and
`dinoclip bench` (fp32 and bf16). Prints a table with ratios.

Run through scripts/peer-bench.sh (it makes the virtualenv). Timing only: the
weights are random, so nothing here says anything about accuracy.
"""
import argparse
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn

# ---- reference-equivalent models -------------------------------------------


class DinoAttention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.num_heads = heads
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=True)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, C // self.num_heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = ((q @ k.transpose(-2, -1)) * self.scale).softmax(dim=-1)
        x = (attn @ v).transpose(1, 2).reshape(B, N, C)
        return self.proj(x), attn


class DinoMlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class DinoBlock(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = DinoAttention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = DinoMlp(dim, dim * 4)

    def forward(self, x):
        y, attn = self.attn(self.norm1(x))
        x = x + y
        return x + self.mlp(self.norm2(x)), attn


class DinoPatchEmbed(nn.Module):
    def __init__(self, patch, dim):
        super().__init__()
        self.proj = nn.Conv2d(3, dim, kernel_size=patch, stride=patch)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


class DinoViT(nn.Module):
    """DINO's VisionTransformer (ViT-S/8 by default); forward returns the
    final-normed tokens and the last block's CLS -> patch attention."""

    def __init__(self, patch=8, dim=384, depth=12, heads=6, img_size=224):
        super().__init__()
        self.patch = patch
        self.patch_embed = DinoPatchEmbed(patch, dim)
        n = (img_size // patch) ** 2
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, n + 1, dim))
        self.blocks = nn.ModuleList([DinoBlock(dim, heads) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.fixed_pos = None  # set for ONNX export at one size

    def interpolate_pos_encoding(self, x, w, h):
        npatch = x.shape[1] - 1
        N = self.pos_embed.shape[1] - 1
        if npatch == N and w == h:
            return self.pos_embed
        class_pos = self.pos_embed[:, 0]
        patch_pos = self.pos_embed[:, 1:]
        dim = x.shape[-1]
        w0, h0 = w // self.patch + 0.1, h // self.patch + 0.1
        patch_pos = nn.functional.interpolate(
            patch_pos.reshape(1, int(math.sqrt(N)), int(math.sqrt(N)), dim).permute(0, 3, 1, 2),
            scale_factor=(w0 / math.sqrt(N), h0 / math.sqrt(N)), mode="bicubic")
        patch_pos = patch_pos.permute(0, 2, 3, 1).view(1, -1, dim)
        return torch.cat((class_pos.unsqueeze(0), patch_pos), dim=1)

    def forward(self, x):
        B, _, w, h = x.shape
        x = self.patch_embed(x)
        x = torch.cat((self.cls_token.expand(B, -1, -1), x), dim=1)
        x = x + (self.fixed_pos if self.fixed_pos is not None else self.interpolate_pos_encoding(x, w, h))
        for blk in self.blocks:
            x, attn = blk(x)
        return self.norm(x), attn[:, :, 0, 1:]


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class ResidualAttentionBlock(nn.Module):
    def __init__(self, d, heads, mask=None):
        super().__init__()
        self.attn = nn.MultiheadAttention(d, heads)
        self.ln_1 = nn.LayerNorm(d)
        self.mlp = nn.Sequential()
        self.mlp.add_module("c_fc", nn.Linear(d, d * 4))
        self.mlp.add_module("gelu", QuickGELU())
        self.mlp.add_module("c_proj", nn.Linear(d * 4, d))
        self.ln_2 = nn.LayerNorm(d)
        self.attn_mask = mask

    def forward(self, x):
        y = self.ln_1(x)
        x = x + self.attn(y, y, y, need_weights=False, attn_mask=self.attn_mask)[0]
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    def __init__(self, width, layers, heads, mask=None):
        super().__init__()
        self.resblocks = nn.Sequential(*[ResidualAttentionBlock(width, heads, mask) for _ in range(layers)])

    def forward(self, x):
        return self.resblocks(x)


class VisionTransformer(nn.Module):
    def __init__(self, res=224, patch=32, width=768, layers=12, heads=12, out=512):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, kernel_size=patch, stride=patch, bias=False)
        scale = width ** -0.5
        self.class_embedding = nn.Parameter(scale * torch.randn(width))
        self.positional_embedding = nn.Parameter(scale * torch.randn((res // patch) ** 2 + 1, width))
        self.ln_pre = nn.LayerNorm(width)
        self.transformer = Transformer(width, layers, heads)
        self.ln_post = nn.LayerNorm(width)
        self.proj = nn.Parameter(scale * torch.randn(width, out))

    def forward(self, x):
        x = self.conv1(x)
        x = x.reshape(x.shape[0], x.shape[1], -1).permute(0, 2, 1)
        cls = self.class_embedding + torch.zeros(x.shape[0], 1, x.shape[-1], dtype=x.dtype)
        x = torch.cat([cls, x], dim=1) + self.positional_embedding
        x = self.ln_pre(x).permute(1, 0, 2)
        x = self.transformer(x).permute(1, 0, 2)
        return self.ln_post(x[:, 0, :]) @ self.proj


class Clip(nn.Module):
    """openai/CLIP's CLIP class for ViT-B/32 (state_dict names as released)."""

    def __init__(self, ctx=77, vocab=49408, width=512, layers=12, heads=8, embed=512):
        super().__init__()
        self.context_length = ctx
        self.visual = VisionTransformer(out=embed)
        mask = torch.empty(ctx, ctx).fill_(float("-inf")).triu_(1)
        self.transformer = Transformer(width, layers, heads, mask)
        self.token_embedding = nn.Embedding(vocab, width)
        self.positional_embedding = nn.Parameter(torch.randn(ctx, width) * 0.01)
        self.ln_final = nn.LayerNorm(width)
        self.text_projection = nn.Parameter(torch.randn(width, embed) * width ** -0.5)
        self.logit_scale = nn.Parameter(torch.ones([]) * np.log(1 / 0.07))

    def encode_text(self, text):
        x = self.token_embedding(text) + self.positional_embedding
        x = self.transformer(x.permute(1, 0, 2)).permute(1, 0, 2)
        x = self.ln_final(x)
        return x[torch.arange(x.shape[0]), text.argmax(dim=-1)] @ self.text_projection


class ClipText(nn.Module):
    def __init__(self, clip):
        super().__init__()
        self.clip = clip

    def forward(self, text):
        return self.clip.encode_text(text)


def randomise(model, seed):
    """Weights of a trained model's scale: LayerNorm near identity, the rest small."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("logit_scale"):
                continue
            if "ln" in name or "norm" in name:
                p.copy_((1.0 if name.endswith("weight") else 0.0) + 0.02 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(torch.randn(p.shape, generator=g) * (0.5 / math.sqrt(p.shape[-1] if p.dim() > 1 else 64)))
    return model.eval()


# ---- timing ------------------------------------------------------------------


def median_ms(fn, iters, warmup=1):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(iters):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return float(np.median(times))


def torch_ms(model, inputs, iters):
    best = None
    for threads in (1, 2):
        torch.set_num_threads(threads)
        with torch.inference_mode():
            ms = median_ms(lambda: model(*inputs), iters)
        best = ms if best is None else min(best, ms)
    torch.set_num_threads(2)
    return best


def export_onnx(model, inputs, path, names, outputs):
    with torch.no_grad():
        torch.onnx.export(model, tuple(inputs), path, input_names=names, output_names=outputs, opset_version=14,
                          do_constant_folding=True)


def ort_session(path):
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def dinoclip_ms(dinoclip, what, weights, extra, iters):
    cmd = [dinoclip, "bench", what, "--weights", weights, "--iters", str(iters)] + extra
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return out


def parse_medians(text):
    """{'dino forward': ms per batch, 'encode_image batch 8': ms per batch, ...}"""
    found = {}
    for line in text.splitlines():
        m = re.match(r"(.+?): median ([0-9.]+) ms(/frame)?", line)
        if m:
            found[m.group(1)] = float(m.group(2))
        m = re.match(r"\s+\(median ([0-9.]+) ms per batch of (\d+)\)", line)
        if m and found:
            last = list(found)[-1]
            found[last] = float(m.group(1))
    return found


# ---- main ----------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dinoclip", required=True)
    ap.add_argument("--vocab", required=True)
    ap.add_argument("--work", default=None)
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="DINO 224 only")
    args = ap.parse_args()
    work = args.work or tempfile.mkdtemp(prefix="dinoclip-peer-")
    os.makedirs(work, exist_ok=True)
    torch.set_num_threads(2)
    torch.manual_seed(0)
    rows = []  # (case, precision, ort, torch, dinoclip)
    checks = []

    # DINO ViT-S/8
    dino = randomise(DinoViT(), 1)
    dino_path = os.path.join(work, "dino_vits8.pth")
    torch.save(dino.state_dict(), dino_path)
    for size in (224,) if args.quick else (224, 480):
        iters = args.iters if size == 224 else max(2, args.iters // 2)
        x = torch.randn(1, 3, size, size)
        with torch.no_grad():
            dino.fixed_pos = None
            ref_tokens, ref_attn = dino(x)
            pos = dino.interpolate_pos_encoding(torch.zeros(1, (size // 8) ** 2 + 1, 384), size, size)
            dino.fixed_pos = pos.detach().clone()  # a plain tensor (a constant in the export), not a parameter
        onnx_path = os.path.join(work, f"dino_{size}.onnx")
        export_onnx(dino, [x], onnx_path, ["images"], ["tokens", "cls_attention"])
        dino.fixed_pos = None
        sess = ort_session(onnx_path)
        feed = {"images": x.numpy()}
        ort_tokens, ort_attn = sess.run(None, feed)
        checks.append((f"DINO {size} ONNX vs PyTorch", float(np.abs(ort_tokens - ref_tokens.numpy()).max()),
                       float(np.abs(ort_attn - ref_attn.numpy()).max())))
        ort = median_ms(lambda: sess.run(None, feed), iters)
        ref = torch_ms(dino, [x], iters)
        for precision in ("fp32", "bf16"):
            out = dinoclip_ms(args.dinoclip, "dino", dino_path,
                              ["--size", f"{size}x{size}", "--precision", precision], iters)
            rows.append((f"DINO ViT-S/8 {size}x{size}", precision, ort, ref, parse_medians(out)["dino forward"]))

    if not args.quick:
        clip = randomise(Clip(), 2)
        clip_path = os.path.join(work, "clip_vitb32.pth")
        torch.save(clip.state_dict(), clip_path)
        for batch in (1, 8):
            x = torch.randn(batch, 3, 224, 224)
            with torch.no_grad():
                ref_out = clip.visual(x)
            onnx_path = os.path.join(work, f"clip_image_{batch}.onnx")
            export_onnx(clip.visual, [x], onnx_path, ["images"], ["features"])
            sess = ort_session(onnx_path)
            feed = {"images": x.numpy()}
            checks.append((f"CLIP image batch {batch} ONNX vs PyTorch",
                           float(np.abs(sess.run(None, feed)[0] - ref_out.numpy()).max()), None))
            ort = median_ms(lambda: sess.run(None, feed), args.iters)
            ref = torch_ms(clip.visual, [x], args.iters)
            for precision in ("fp32", "bf16"):
                out = dinoclip_ms(args.dinoclip, "clip", clip_path,
                                  ["--vocab", args.vocab, "--precision", precision, "--batch", str(batch)], args.iters)
                rows.append((f"CLIP ViT-B/32 image batch {batch}", precision, ort, ref,
                             parse_medians(out)[f"encode_image batch {batch}"]))
        # Text: 5 labels; the ids are random, each label 4 tokens long (SOT, 2 words, EOT) as
        # dinoclip bench's labels ("a person", "an animal", ...) roughly are.
        text = torch.zeros(5, 77, dtype=torch.long)
        text[:, 0] = 49406
        text[:, 1:3] = torch.randint(1, 49000, (5, 2))
        text[:, 3] = 49407
        text_model = ClipText(clip).eval()
        with torch.no_grad():
            ref_out = text_model(text)
        onnx_path = os.path.join(work, "clip_text.onnx")
        export_onnx(text_model, [text], onnx_path, ["tokens"], ["features"])
        sess = ort_session(onnx_path)
        feed = {"tokens": text.numpy()}
        checks.append(("CLIP text ONNX vs PyTorch", float(np.abs(sess.run(None, feed)[0] - ref_out.numpy()).max()), None))
        ort = median_ms(lambda: sess.run(None, feed), args.iters)
        ref = torch_ms(text_model, [text], args.iters)
        for precision in ("fp32", "bf16"):
            out = dinoclip_ms(args.dinoclip, "clip", clip_path,
                              ["--vocab", args.vocab, "--precision", precision, "--batch", "1"], args.iters)
            rows.append(("CLIP ViT-B/32 text, 5 labels", precision, ort, ref, parse_medians(out)["encode_text 5 labels"]))

    print("\noutput checks (max abs difference):")
    for name, a, b in checks:
        print(f"  {name}: {a:.2e}" + (f", CLS attention {b:.2e}" if b is not None else ""))
    print("\nmedian ms per forward (batch), same run; ratio = ONNX Runtime / dinoclip (>1: dinoclip faster)")
    print(f"| case | dinoclip precision | ONNX Runtime fp32 (2 threads) | PyTorch {torch.__version__} fp32 | dinoclip "
          "| ORT / dinoclip | PyTorch / dinoclip |")
    print("|---|---|---|---|---|---|---|")
    for case, precision, ort, ref, ours in rows:
        print(f"| {case} | {precision} | {ort:.1f} | {ref:.1f} | {ours:.1f} | {ort / ours:.2f}x | {ref / ours:.2f}x |")
    with open(os.path.join(work, "results.json"), "w") as f:
        json.dump({"rows": rows, "checks": checks}, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
