"""Reference PyTorch forwards of DINOv2 (with registers) and DINOv3 for the peer benchmark.

Written for scripts/peer_bench.py from the facts the fixtures' READMEs list
(../shared/fixtures/dinov2_tiny, dinov3_tiny), with the official checkpoints'
parameter names so that the same state_dict loads here and in dinoclip.
check_against_fixture() compares a model with the official code's outputs
stored in a fixture folder; that is what validates these modules.

Each model's forward(images) returns what dinoclip's DinoModel returns:
final-normed tokens [B, 1 + h*w, D] (CLS then the patches, no register or
storage tokens) and the last block's CLS -> patch attention [B, heads, h*w].
forward_all(images) returns everything (prenorm tokens, full attention).
"""
import json
import math
import os
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def load_safetensors(path):
    """A .safetensors file as {name: float32 tensor} (F32, F16 and BF16 entries)."""
    with open(path, "rb") as f:
        (header_len,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(header_len))
        data = f.read()
    out = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        raw = data[begin:end]
        if entry["dtype"] == "F32":
            array = np.frombuffer(raw, dtype="<f4").astype(np.float32)
        elif entry["dtype"] == "F16":
            array = np.frombuffer(raw, dtype="<f2").astype(np.float32)
        elif entry["dtype"] == "BF16":
            array = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            raise ValueError(f"{path}: {name} has dtype {entry['dtype']}, not a float this reader knows")
        out[name] = torch.from_numpy(array.reshape(entry["shape"]).copy())
    return out


def load_checkpoint(path):
    if path.endswith(".safetensors"):
        return load_safetensors(path)
    return torch.load(path, map_location="cpu")


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))  # erf GELU


class LayerScale(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * self.gamma


class MaskedBiasLinear(nn.Linear):
    """qkv with DINOv3's stored bias_mask (1 for q and v, 0 for k) applied to the bias."""

    def __init__(self, dim, out):
        super().__init__(dim, out)
        self.register_buffer("bias_mask", torch.ones(out))

    def forward(self, x):
        return F.linear(x, self.weight, self.bias * self.bias_mask)


def rotate_half(x):
    a, b = x.chunk(2, dim=-1)
    return torch.cat((-b, a), dim=-1)


class Attention(nn.Module):
    def __init__(self, dim, heads, masked_k_bias):
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.qkv = MaskedBiasLinear(dim, 3 * dim) if masked_k_bias else nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x, rope=None):
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]  # [B, heads, N, head_dim]
        if rope is not None:  # RoPE on the last h*w tokens (the patches) only
            sin, cos = rope
            prefix = N - sin.shape[0]
            q = torch.cat((q[:, :, :prefix], q[:, :, prefix:] * cos + rotate_half(q[:, :, prefix:]) * sin), dim=2)
            k = torch.cat((k[:, :, :prefix], k[:, :, prefix:] * cos + rotate_half(k[:, :, prefix:]) * sin), dim=2)
        attn = ((q * self.scale) @ k.transpose(-2, -1)).softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(B, N, C)), attn


class Block(nn.Module):
    def __init__(self, dim, heads, eps, masked_k_bias):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.attn = Attention(dim, heads, masked_k_bias)
        self.ls1 = LayerScale(dim)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = Mlp(dim, 4 * dim)
        self.ls2 = LayerScale(dim)

    def forward(self, x, rope=None):
        y, attn = self.attn(self.norm1(x), rope)
        x = x + self.ls1(y)
        return x + self.ls2(self.mlp(self.norm2(x))), attn


class PatchEmbed(nn.Module):
    def __init__(self, patch, dim):
        super().__init__()
        self.proj = nn.Conv2d(3, dim, kernel_size=patch, stride=patch)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


class _DinoBase(nn.Module):
    extra_tokens = 4

    def _run(self, x, rope=None):
        attn = None
        for blk in self.blocks:
            x, attn = blk(x, rope)
        return x, attn

    def forward_all(self, images):
        prenorm, attn, grid = self._tokens(images)
        return {"prenorm": prenorm, "normed": self.norm(prenorm), "attn": attn, "grid": grid}

    def forward(self, images):
        prenorm, attn, _ = self._tokens(images)
        normed = self.norm(prenorm)
        r = 1 + self.extra_tokens
        tokens = torch.cat((normed[:, :1], normed[:, r:]), dim=1)
        return tokens, attn[:, :, 0, r:]


class DinoV2(_DinoBase):
    """DINOv2 ViT with register tokens (ViT-S/14-reg by default). The learned
    position embedding of an M x M grid is resized to the input's grid with
    antialiased bicubic by output size (the registers recipe), in float32;
    registers are inserted after it (they carry no position)."""

    def __init__(self, dim=384, depth=12, heads=6, patch=14, grid=37, registers=4):
        super().__init__()
        self.patch = patch
        self.extra_tokens = registers
        self.patch_embed = PatchEmbed(patch, dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + grid * grid, dim))
        self.register_tokens = nn.Parameter(torch.zeros(1, registers, dim))
        self.mask_token = nn.Parameter(torch.zeros(1, dim))
        self.blocks = nn.ModuleList([Block(dim, heads, 1e-6, False) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.fixed_pos = None  # set for an ONNX export at one size (the antialiased resize does not export)

    def position_embedding(self, h, w):
        m = int(round(math.sqrt(self.pos_embed.shape[1] - 1)))
        if h == m and w == m:
            return self.pos_embed
        dim = self.pos_embed.shape[-1]
        grid = self.pos_embed[:, 1:].float().reshape(1, m, m, dim).permute(0, 3, 1, 2)
        grid = F.interpolate(grid, size=(h, w), mode="bicubic", antialias=True, align_corners=False)
        grid = grid.permute(0, 2, 3, 1).reshape(1, h * w, dim)
        return torch.cat((self.pos_embed[:, :1], grid), dim=1)

    def _tokens(self, images):
        B, _, H, W = images.shape
        h, w = H // self.patch, W // self.patch
        x = torch.cat((self.cls_token.expand(B, -1, -1), self.patch_embed(images)), dim=1)
        x = x + (self.fixed_pos if self.fixed_pos is not None else self.position_embedding(h, w))
        x = torch.cat((x[:, :1], self.register_tokens.expand(B, -1, -1), x[:, 1:]), dim=1)
        x, attn = self._run(x)
        return x, attn, (h, w)


class DinoV3(_DinoBase):
    """DINOv3 ViT (ViT-S/16 by default): RoPE on the patch tokens' q and k,
    4 storage tokens, LayerScale, the masked k bias, LayerNorm eps 1e-5."""

    def __init__(self, dim=384, depth=12, heads=6, patch=16, storage=4):
        super().__init__()
        self.patch = patch
        self.extra_tokens = storage
        self.patch_embed = PatchEmbed(patch, dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.storage_tokens = nn.Parameter(torch.zeros(1, storage, dim))
        self.mask_token = nn.Parameter(torch.zeros(1, dim))
        self.rope_embed = nn.Module()
        self.rope_embed.register_buffer("periods", torch.ones(dim // heads // 4))
        self.blocks = nn.ModuleList([Block(dim, heads, 1e-5, True) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=1e-5)

    def rope(self, h, w):
        """(sin, cos) [h*w, head_dim] in float32, for patch centres normalised per axis to [-1, 1]."""
        ys = (torch.arange(h, dtype=torch.float32) + 0.5) / h
        xs = (torch.arange(w, dtype=torch.float32) + 0.5) / w
        coords = torch.stack(torch.meshgrid(ys, xs, indexing="ij"), dim=-1).reshape(h * w, 2) * 2.0 - 1.0
        periods = self.rope_embed.periods.float()
        angles = (2 * math.pi * coords[:, :, None] / periods[None, None, :]).reshape(h * w, -1)
        angles = torch.cat((angles, angles), dim=-1)
        return torch.sin(angles), torch.cos(angles)

    def _tokens(self, images):
        B, _, H, W = images.shape
        h, w = H // self.patch, W // self.patch
        cls = self.cls_token.expand(B, -1, -1) + 0 * self.mask_token
        x = torch.cat((cls, self.storage_tokens.expand(B, -1, -1), self.patch_embed(images)), dim=1)
        x, attn = self._run(x, self.rope(h, w))
        return x, attn, (h, w)


def build_from_state_dict(family, state):
    """A DinoV2 / DinoV3 sized from the checkpoint's shapes, with its weights loaded (strict)."""
    dim = state["cls_token"].shape[-1]
    depth = len({k.split(".")[1] for k in state if k.startswith("blocks.")})
    patch = state["patch_embed.proj.weight"].shape[-1]
    heads = {384: 6, 768: 12, 1024: 16}.get(dim, dim // 64)
    if family == "dinov2":
        grid = int(round(math.sqrt(state["pos_embed"].shape[1] - 1)))
        model = DinoV2(dim, depth, heads, patch, grid, state["register_tokens"].shape[1])
    else:
        heads = dim // (4 * state["rope_embed.periods"].shape[0])
        model = DinoV3(dim, depth, heads, patch, state["storage_tokens"].shape[1])
    model.load_state_dict(state, strict=True)
    return model.eval()


def check_against_fixture(family, folder, heads):
    """Max abs differences of every stored output of the fixture (official code) vs this module."""
    state = torch.load(os.path.join(folder, f"{family}_tiny.pth"), map_location="cpu")
    dim = state["cls_token"].shape[-1]
    depth = len({k.split(".")[1] for k in state if k.startswith("blocks.")})
    patch = state["patch_embed.proj.weight"].shape[-1]
    if family == "dinov2":
        grid = int(round(math.sqrt(state["pos_embed"].shape[1] - 1)))
        model = DinoV2(dim, depth, heads, patch, grid, state["register_tokens"].shape[1])
    else:
        model = DinoV3(dim, depth, heads, patch, state["storage_tokens"].shape[1])
    model.load_state_dict(state, strict=True)
    model.eval()
    with open(os.path.join(folder, "config.json")) as f:
        cases = json.load(f)["cases"]
    worst = {"tokens": 0.0, "attention": 0.0}
    for case in cases:
        load = lambda what: torch.from_numpy(np.load(os.path.join(folder, f"{case}_{what}.npy")))
        with torch.no_grad():
            images = load("input").float()
            out = model.forward_all(images if images.dim() == 4 else images[None])
        normed, prenorm, attn = out["normed"][0], out["prenorm"][0], out["attn"][0]
        r = 1 + model.extra_tokens
        extra = "registers" if family == "dinov2" else "storage"
        pairs = [(normed[0], load("cls")), (normed[1:r], load(extra)), (normed[r:], load("patch_tokens")),
                 (prenorm, load("prenorm"))]
        worst["tokens"] = max([worst["tokens"]] + [float((a - b).abs().max()) for a, b in pairs])
        worst["attention"] = max(worst["attention"], float((attn - load("attn_full")).abs().max()),
                                 float((attn[:, 0, r:] - load("attn_cls")).abs().max()))
        if family == "dinov3":
            sin, cos = model.rope(*out["grid"])
            worst["rope"] = max(worst.get("rope", 0.0), float((sin - load("rope_sin")).abs().max()),
                                float((cos - load("rope_cos")).abs().max()))
    return worst
