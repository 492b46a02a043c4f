#!/usr/bin/env python3
"""Peer benchmark: dinoclip vs OpenVINO vs ONNX Runtime vs the reference PyTorch forward.

Builds DINO ViT-S/8 and CLIP ViT-B/32 in PyTorch with reference-equivalent
module code (written here after facebookresearch/dino's vision_transformer.py
and openai/CLIP's model.py: same parameter names, same maths), with random
weights saved as .pth for dinoclip; DINOv2 ViT-S/14-reg and DINOv3 ViT-S/16
(scripts/peer_dino_models.py, first checked against the official code's
outputs in ../shared/fixtures/dinov2_tiny and dinov3_tiny) load the random
checkpoint that `dinoclip make-model` writes. Each model is exported to ONNX
at one input size; the ONNX Runtime, OpenVINO (fp32 and bf16) and dinoclip
outputs are checked against the PyTorch forward, then timed in this one run:
OpenVINO (2 threads, latency hint, INFERENCE_PRECISION_HINT f32 / bf16), ONNX
Runtime fp32 (2 threads), the PyTorch forward fp32 (best of 1 and 2 threads)
and `dinoclip bench` (fp32 and bf16). Prints a table with ratios and the
1-minute load average at each row (the machine may be shared).

Run through scripts/peer-bench.sh (it makes the virtualenv). Timing only: the
weights are random, so nothing here says anything about accuracy.
"""
import argparse
import json
import math
import os
import re
import resource
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn

import peer_dino_models
from peer_dino_models import Mlp, PatchEmbed  # DINO v1's too: same parameter names (fc1, fc2; proj), same maths

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


class DinoBlock(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = DinoAttention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, dim * 4)

    def forward(self, x):
        y, attn = self.attn(self.norm1(x))
        x = x + y
        return x + self.mlp(self.norm2(x)), attn


class DinoViT(nn.Module):
    """DINO's VisionTransformer (ViT-S/8 by default); forward returns the
    final-normed tokens and the last block's CLS -> patch attention."""

    def __init__(self, patch=8, dim=384, depth=12, heads=6, img_size=224):
        super().__init__()
        self.patch = patch
        self.patch_embed = PatchEmbed(patch, dim)
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

THREADS = 2  # every peer's threads (--threads); PyTorch: the best of 1 and THREADS
STAT = "median"  # or "min" (--stat): on a loaded machine the fastest run says more than the median;
# or "cpu": the median CPU time (user + system, all threads) per call: what the work costs, nearly free of other
# processes' load (run it with --threads 1: with more, OpenMP's spinning waits count too)


def median_ms(fn, iters, warmup=1):
    """The STAT (median or min wall time, or median CPU time) of iters calls after warmup calls, in ms."""
    clock = time.process_time if STAT == "cpu" else time.perf_counter
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(iters):
        start = clock()
        fn()
        times.append((clock() - start) * 1000)
    return float(np.min(times) if STAT == "min" else np.median(times))


def torch_ms(model, inputs, iters):
    best = None
    for threads in sorted({1, THREADS}):
        torch.set_num_threads(threads)
        with torch.inference_mode():
            ms = median_ms(lambda: model(*inputs), iters)
        best = ms if best is None else min(best, ms)
    torch.set_num_threads(THREADS)
    return best


def export_onnx(model, inputs, path, names, outputs):
    with torch.no_grad():
        torch.onnx.export(model, tuple(inputs), path, input_names=names, output_names=outputs, opset_version=14,
                          do_constant_folding=True)


def ort_session(path):
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.intra_op_num_threads = THREADS
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def openvino_runner(path, precision):
    """A callable feed -> [outputs] on OpenVINO's CPU plugin. The precision is
    always set: on CPUs with AVX512_BF16/AMX OpenVINO's default is bf16."""
    import openvino as ov
    core = ov.Core()
    compiled = core.compile_model(core.read_model(path), "CPU", {
        "INFERENCE_PRECISION_HINT": {"fp32": "f32", "bf16": "bf16"}[precision],
        "INFERENCE_NUM_THREADS": THREADS,
        "PERFORMANCE_HINT": "LATENCY",
    })
    request = compiled.create_infer_request()

    def run(feed):
        request.infer(feed)
        return [request.get_output_tensor(i).data.copy() for i in range(len(compiled.outputs))]
    return run


def dinoclip_ms(dinoclip, what, weights, extra, iters, key):
    """`dinoclip bench`'s time for the line named key. STAT cpu: the children's CPU time of a run with iters
    more forwards than another, divided by iters (loading and warm-up cancel out)."""
    def bench(n):
        cmd = [dinoclip, "bench", what, "--weights", weights, "--iters", str(n), "--threads", str(THREADS)] + extra
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        return out, (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) * 1000
    if STAT != "cpu":
        return parse_medians(bench(iters)[0])[key]
    return (bench(1 + iters)[1] - bench(1)[1]) / iters


def parse_medians(text):
    """{'dino forward': ms per batch, 'encode_image batch 8': ms per batch, ...}: the STAT of dinoclip bench's
    lines ("NAME: median M ms[/frame] (...), min A ms, max B ms" and, for batches, "(median M ms per batch of N)")."""
    found = {}
    for line in text.splitlines():
        m = re.match(r"(.+?): median ([0-9.]+) ms.*?min ([0-9.]+) ms", line)
        if m:
            found[m.group(1)] = float(m.group(2) if STAT == "median" else m.group(3))
        m = re.match(r"\s+\(median ([0-9.]+) ms per batch of (\d+)\)", line)
        if m and found:  # the line above was per frame
            last = list(found)[-1]
            found[last] = float(m.group(1)) if STAT == "median" else found[last] * int(m.group(2))
    return found


def load1():
    return os.getloadavg()[0]


def progress(row):
    return ", ".join(f"{k} {row[k]:.1f} ms" for k in ("dinoclip", "openvino", "ort", "torch")) + f" (load {row['load']:.2f})"


def max_diff(a, b):
    return float(np.abs(np.asarray(a, dtype=np.float32) - np.asarray(b, dtype=np.float32)).max())


# ---- dinoclip's own DINO output, for the agreement check -----------------------

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def write_png(path, rgb):
    """An 8-bit RGB PNG (no PIL in Debian's python3 here)."""
    import zlib
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def dinoclip_vs_reference(dinoclip, weights, model, size, work, tag):
    """dinoclip dino-features on a random picture at its own size (no resize)
    vs the reference forward on the same normalised pixels: max abs
    difference of the tokens and of the CLS attention."""
    rgb = np.random.default_rng(7).integers(0, 256, (size, size, 3), dtype=np.uint8)
    picture = os.path.join(work, f"{tag}_{size}.png")
    write_png(picture, rgb)
    out = os.path.join(work, f"{tag}_{size}_features")
    subprocess.run([dinoclip, "dino-features", "--weights", weights, "--image", picture, "--size", f"{size}x{size}",
                    "--out", out], check=True, capture_output=True, text=True)
    x = torch.from_numpy(((rgb.astype(np.float32) / 255 - IMAGENET_MEAN) / IMAGENET_STD).transpose(2, 0, 1).copy())
    with torch.no_grad():
        tokens, attn = model(x[None])
    ours_tokens = np.load(os.path.join(out, "tokens.npy")).reshape(tokens.shape)
    ours_attn = np.load(os.path.join(out, "cls_attention.npy")).reshape(attn.shape)
    return max_diff(ours_tokens, tokens), max_diff(ours_attn, attn)


# ---- one DINO family ------------------------------------------------------------

# fp32 peers must agree with the PyTorch forward this closely (tokens are
# LayerNorm outputs of order 1; attention probabilities); bf16 is reported.
FP32_TOKENS_TOL, FP32_ATTN_TOL = 2e-3, 1e-4


class Report:
    def __init__(self):
        self.rows = []    # dicts: case, precision, dinoclip, openvino, ort, torch, load
        self.checks = []  # (what, tokens diff, attention diff or None, tolerance or None)

    def check(self, what, a, b=None, tol=None):
        self.checks.append((what, a, b, tol))


def dino_family_rows(args, report, label, tag, model, weights, sizes, batch, work):
    """Times one DINO model at each size: ORT, OpenVINO fp32/bf16, PyTorch, dinoclip fp32/bf16."""
    for size in sizes:
        iters = args.iters if size <= 224 and batch == 1 else max(2, args.iters // 2)
        x = torch.randn(batch, 3, size, size)
        with torch.no_grad():
            ref_tokens, ref_attn = model(x)
        if batch == 1:
            d_tokens, d_attn = dinoclip_vs_reference(args.dinoclip, weights, model, size, work, tag)
            report.check(f"{label} {size} dinoclip fp32 vs PyTorch", d_tokens, d_attn, FP32_TOKENS_TOL)
        freeze_position(model, size)
        onnx_path = os.path.join(work, f"{tag}_{size}_b{batch}.onnx")
        export_onnx(model, [x], onnx_path, ["images"], ["tokens", "cls_attention"])
        freeze_position(model, None)
        feed = {"images": x.numpy()}
        sess = ort_session(onnx_path)
        ort_tokens, ort_attn = sess.run(None, feed)
        report.check(f"{label} {size} b{batch} ONNX Runtime vs PyTorch", max_diff(ort_tokens, ref_tokens),
                     max_diff(ort_attn, ref_attn), FP32_TOKENS_TOL)
        ort = median_ms(lambda: sess.run(None, feed), iters)
        del sess
        ov = {}
        for precision in ("fp32", "bf16"):
            run = openvino_runner(onnx_path, precision)
            ov_tokens, ov_attn = run(feed)
            report.check(f"{label} {size} b{batch} OpenVINO {precision} vs PyTorch", max_diff(ov_tokens, ref_tokens),
                         max_diff(ov_attn, ref_attn), FP32_TOKENS_TOL if precision == "fp32" else None)
            ov[precision] = median_ms(lambda: run(feed), iters)
            del run
        ref = torch_ms(model, [x], iters)
        for precision in ("fp32", "bf16"):
            ours = dinoclip_ms(args.dinoclip, "dino", weights,
                               ["--size", f"{size}x{size}", "--precision", precision, "--batch", str(batch)], iters,
                               "dino forward")
            case = f"{label} {size}x{size}" + (f" batch {batch}" if batch > 1 else "")
            report.rows.append({"case": case, "precision": precision, "dinoclip": ours,
                                "openvino": ov[precision], "ort": ort, "torch": ref, "load": load1()})
            print(f"  {case} {precision}: {progress(report.rows[-1])}", file=sys.stderr, flush=True)


def freeze_position(model, size):
    """Position terms as constants of the ONNX graph at one input size (the
    interpolations and RoPE tables need no tracing then); None undoes it."""
    if isinstance(model, DinoViT):
        model.fixed_pos = None
        if size is not None:
            with torch.no_grad():
                tokens = torch.zeros(1, (size // model.patch) ** 2 + 1, model.pos_embed.shape[-1])
                pos = model.interpolate_pos_encoding(tokens, size, size)
            model.fixed_pos = pos.detach().clone()
    elif isinstance(model, peer_dino_models.DinoV2):
        model.fixed_pos = None
        if size is not None:
            with torch.no_grad():
                model.fixed_pos = model.position_embedding(size // model.patch, size // model.patch).detach().clone()


def make_model_weights(dinoclip, arch, path):
    subprocess.run([dinoclip, "make-model", "--arch", arch, "--out", path, "--seed", "3"], check=True,
                   capture_output=True, text=True)
    return path


# ---- main ----------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dinoclip", required=True)
    ap.add_argument("--vocab", required=True)
    ap.add_argument("--work", default=None)
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--families", default="dino,dinov2,dinov3,clip",
                    help="comma-separated subset of dino (ViT-S/8), dinov2 (ViT-S/14-reg), dinov3 (ViT-S/16), clip")
    ap.add_argument("--quick", action="store_true", help="DINO families at 224 only, no CLIP")
    ap.add_argument("--batch8", action="store_true", help="also DINO families at 224, batch 8")
    ap.add_argument("--fixtures", default=None, help="fixtures folder (default ../shared/fixtures)")
    ap.add_argument("--threads", type=int, default=2, help="threads of every peer (default 2)")
    ap.add_argument("--stat", choices=("median", "min", "cpu"), default="median",
                    help="per-peer statistic: median or min wall time, or cpu (median CPU time per call, with "
                    "--threads 1: compares the work itself on a loaded machine)")
    args = ap.parse_args()
    global THREADS, STAT
    THREADS, STAT = args.threads, args.stat
    families = set(args.families.split(","))
    unknown = families - {"dino", "dinov2", "dinov3", "clip"}
    if unknown:
        ap.error(f"--families: unknown {sorted(unknown)}; use dino, dinov2, dinov3, clip")
    work = args.work or tempfile.mkdtemp(prefix="dinoclip-peer-")
    os.makedirs(work, exist_ok=True)
    torch.set_num_threads(THREADS)
    torch.manual_seed(0)
    report = Report()
    fixtures = args.fixtures or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared",
                                             "fixtures")

    # The DINOv2/v3 references are validated against the official code's outputs first.
    for family in ("dinov2", "dinov3"):
        if family not in families:
            continue
        folder = os.path.join(fixtures, f"{family}_tiny")
        if not os.path.isdir(folder):
            sys.exit(f"peer-bench: {folder} not found: the {family} reference is checked against it "
                     "(pass --fixtures DIR)")
        worst = peer_dino_models.check_against_fixture(family, folder, heads=4)
        report.check(f"{family} reference vs official code ({family}_tiny fixture)", worst["tokens"],
                     worst["attention"], 1e-5)

    sizes = {8: (224, 480), 14: (224, 476), 16: (224, 480)}
    plan = []  # (label, tag, model, weights)
    if "dino" in families:
        dino = randomise(DinoViT(), 1)
        dino_path = os.path.join(work, "dino_vits8.pth")
        torch.save(dino.state_dict(), dino_path)
        plan.append(("DINO ViT-S/8", "dino", dino, dino_path))
    for family, arch, label in (("dinov2", "dinov2-vits14-reg", "DINOv2 ViT-S/14-reg"),
                                ("dinov3", "dinov3-vits16", "DINOv3 ViT-S/16")):
        if family in families:
            path = make_model_weights(args.dinoclip, arch, os.path.join(work, f"{arch}.safetensors"))
            model = peer_dino_models.build_from_state_dict(family, peer_dino_models.load_checkpoint(path))
            plan.append((label, family, model, path))
    for label, tag, model, path in plan:
        chosen = sizes[model.patch][:1] if args.quick else sizes[model.patch]
        dino_family_rows(args, report, label, tag, model, path, chosen, 1, work)
        if args.batch8:
            dino_family_rows(args, report, label, tag, model, path, chosen[:1], 8, work)

    if "clip" in families and not args.quick:
        clip_rows(args, report, work)

    return print_report(report, work)


def clip_rows(args, report, work):
    clip = randomise(Clip(), 2)
    clip_path = os.path.join(work, "clip_vitb32.pth")
    torch.save(clip.state_dict(), clip_path)

    def peers(label, model, inputs, onnx_path, names, extra, key):
        with torch.no_grad():
            ref_out = model(*inputs)
        export_onnx(model, inputs, onnx_path, names, ["features"])
        feed = {name: t.numpy() for name, t in zip(names, inputs)}
        sess = ort_session(onnx_path)
        report.check(f"{label} ONNX Runtime vs PyTorch", max_diff(sess.run(None, feed)[0], ref_out), None,
                     FP32_TOKENS_TOL)
        ort = median_ms(lambda: sess.run(None, feed), args.iters)
        ov = {}
        for precision in ("fp32", "bf16"):
            run = openvino_runner(onnx_path, precision)
            report.check(f"{label} OpenVINO {precision} vs PyTorch", max_diff(run(feed)[0], ref_out), None,
                         FP32_TOKENS_TOL if precision == "fp32" else None)
            ov[precision] = median_ms(lambda: run(feed), args.iters)
        ref = torch_ms(model, inputs, args.iters)
        for precision in ("fp32", "bf16"):
            ours = dinoclip_ms(args.dinoclip, "clip", clip_path, ["--vocab", args.vocab, "--precision", precision] +
                               extra, args.iters, key)
            report.rows.append({"case": label, "precision": precision, "dinoclip": ours,
                                "openvino": ov[precision], "ort": ort, "torch": ref, "load": load1()})
            print(f"  {label} {precision}: {progress(report.rows[-1])}", file=sys.stderr, flush=True)

    for batch in (1, 8):
        x = torch.randn(batch, 3, 224, 224)
        peers(f"CLIP ViT-B/32 image batch {batch}", clip.visual, [x], os.path.join(work, f"clip_image_{batch}.onnx"),
              ["images"], ["--batch", str(batch)], f"encode_image batch {batch}")
    # Text: 5 labels; the ids are random, each label 4 tokens long (SOT, 2 words, EOT) as
    # dinoclip bench's labels ("a person", "an animal", ...) roughly are.
    text = torch.zeros(5, 77, dtype=torch.long)
    text[:, 0] = 49406
    text[:, 1:3] = torch.randint(1, 49000, (5, 2))
    text[:, 3] = 49407
    peers("CLIP ViT-B/32 text, 5 labels", ClipText(clip).eval(), [text], os.path.join(work, "clip_text.onnx"),
          ["tokens"], ["--batch", "1"], "encode_text 5 labels")


def print_report(report, work):
    print("\noutput checks (max abs difference; tolerance where one is asserted):")
    failed = []
    for what, a, b, tol in report.checks:
        verdict = ""
        if tol is not None:
            ok = a <= tol and (b is None or b <= max(FP32_ATTN_TOL, tol / 10))
            verdict = f"  [{'ok' if ok else 'OFF'}: tokens <= {tol:g}]"
            if not ok:
                failed.append(what)
        print(f"  {what}: tokens {a:.2e}" + (f", CLS attention {b:.2e}" if b is not None else "") + verdict)
    what = {"median": "median wall", "min": "fastest wall", "cpu": "median CPU"}[STAT]
    print(f"\n{what} ms per forward (batch), same run, {THREADS} thread(s) each; ratio = peer / dinoclip (>1: dinoclip "
          "faster). OpenVINO runs at the row's precision; ONNX Runtime and PyTorch fp32 in both rows")
    print(f"| case | precision | dinoclip | OpenVINO {openvino_version()} | ONNX Runtime fp32 | PyTorch {torch.__version__} "
          "fp32 | OpenVINO / dinoclip | ORT / dinoclip | PyTorch / dinoclip | load (1 min) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in report.rows:
        ours = r["dinoclip"]
        print(f"| {r['case']} | {r['precision']} | {ours:.1f} | {r['openvino']:.1f} | {r['ort']:.1f} | "
              f"{r['torch']:.1f} | {r['openvino'] / ours:.2f}x | {r['ort'] / ours:.2f}x | {r['torch'] / ours:.2f}x | "
              f"{r['load']:.2f} |")
    with open(os.path.join(work, "results.json"), "w") as f:
        json.dump({"rows": report.rows, "checks": report.checks}, f, indent=1)
    if failed:
        print(f"\npeer-bench: outputs disagree beyond tolerance: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def openvino_version():
    import openvino
    return openvino.__version__.split("-")[0]


if __name__ == "__main__":
    sys.exit(main())
